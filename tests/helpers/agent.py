"""Loopback servers for the Remote Configuration probe: Datadog's real test agent, and
servers that refuse, hang or answer garbage. Every server is stopped by its context manager."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, suppress
from typing import Callable, ContextManager, Iterator, List, Optional

from .env import without_machine_settings

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], limit: float = 30.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"ddapm-test-agent exited with {proc.returncode}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"ddapm-test-agent did not listen on {port} within {limit} s")


@contextmanager
def run_test_agent(endpoints: Optional[List[str]] = None) -> Iterator[int]:
    """Start ``ddapm-test-agent`` on a free loopback port; yield the port.

    ``endpoints`` replaces the endpoint list of its ``/info`` answer through
    ``DD_AGENT_EXTRA_INFO`` (ddapm_test_agent/agent.py merges that JSON into the answer).
    """
    port = free_port()
    # Without the machine's DD_* settings: with DD_TRACE_AGENT_URL set, the test agent forwards
    # to that address, and answers 400 when nothing listens there.
    env = without_machine_settings(os.environ)
    if endpoints is not None:
        env["DD_AGENT_EXTRA_INFO"] = json.dumps({"endpoints": endpoints})
    with tempfile.TemporaryDirectory() as snapshots:
        cmd = [
            sys.executable, "-c", "import sys; from ddapm_test_agent.agent import main; sys.exit(main())",
            "--host", LOOPBACK, "--port", str(port),
            "--otlp-http-port", str(free_port()), "--otlp-grpc-port", str(free_port()),
            "--snapshot-dir", snapshots,
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_listening(port, proc)
            yield port
        finally:
            stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 10.0) -> int:
    """Terminate ``proc`` (kill it if it does not exit within ``grace``); its exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)
    return int(proc.returncode)


@contextmanager
def loopback_server(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server on 127.0.0.1 that calls ``handle(conn)`` for each connection, in one
    thread; yields its port. OSErrors in ``handle`` are ignored; it is stopped on exit."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, 0))
    listener.listen(8)
    listener.settimeout(0.1)
    stop = threading.Event()
    conns: List[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conns.append(conn)
            with suppress(OSError):
                handle(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        for c in conns:
            c.close()
        listener.close()


def hanging_server() -> ContextManager[int]:
    """Accepts connections and never answers."""
    return loopback_server(lambda conn: None)


def answering_server(raw: bytes) -> ContextManager[int]:
    """Reads the request, then sends ``raw`` and closes."""

    def handle(conn: socket.socket) -> None:
        conn.settimeout(2)
        with suppress(OSError):
            conn.recv(65536)
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_RDWR)

    return loopback_server(handle)


def refused_port() -> int:
    """A loopback port with nothing listening (bound then closed)."""
    return free_port()
