"""Helpers for the integration tests: fresh interpreters, free loopback ports, JSON log lines."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

import pytest

from appsec_guard import session
from tests.helpers.agent import refused_port, stop_process
from tests.helpers.env import is_machine_setting, without_machine_settings

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PROJECTS = ROOT / "tests" / "projects"
LAYER_99 = PROJECTS / "api_security_needs_99.json"
PYTHON = sys.executable


def child_env(extra: Optional[Mapping[str, str]] = None, *paths: Path) -> Dict[str, str]:
    """The environment of a child interpreter: the guard's src and the project importable,
    and none of the parent's APPSEC_GUARD_* / DD_* settings."""
    env = {
        k: v for k, v in without_machine_settings(os.environ).items() if not k.startswith("TEST_")
    }
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(PROJECTS), *map(str, paths)])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_py(
    args: Sequence[str], env: Mapping[str, str], cwd: Optional[Path] = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, *args],
        env=dict(env),
        cwd=str(cwd or ROOT),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def json_lines(text: str) -> List[Dict[str, Any]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def guard_events(text: str, event: Optional[str] = None) -> List[Dict[str, Any]]:
    return [
        e
        for e in json_lines(text)
        if str(e.get("event", "")).startswith("appsec_guard.")
        and (event is None or e["event"] == event)
    ]


def get_json(url: str, timeout: float = 10) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # loopback only
        return json.loads(resp.read())


class Server:
    """A server in a subprocess, stopped and reaped on exit. Its output goes to files, not
    pipes, so a chatty server never blocks on a full pipe."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], cwd: Path, port: int) -> None:
        self.port = port
        self._out = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self._err = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            [PYTHON, *args], env=dict(env), cwd=str(cwd), stdout=self._out, stderr=self._err
        )
        self.stdout = ""
        self.stderr = ""

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise AssertionError(f"server exited: {self.proc.returncode}\n{self.stderr}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("server did not start")

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        stop_process(self.proc)
        if not self._out.closed:
            self.stdout, self.stderr = _read(self._out), _read(self._err)
            self._out.close()
            self._err.close()


def _read(f: Any) -> str:
    f.seek(0)
    return str(f.read().decode("utf-8", "replace"))


@pytest.fixture
def server_factory() -> Iterator[Any]:
    servers: List[Server] = []

    def start(args: Sequence[str], env: Mapping[str, str], cwd: Path, port: int) -> Server:
        server = Server(args, env, cwd, port)
        servers.append(server)
        server.wait_ready()
        return server

    try:
        yield start
    finally:
        for s in servers:
            s.stop()


@pytest.fixture
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process tests: start from a process where the guard has not run, without the
    machine's own settings, and with an Agent address where nothing listens (the probe runs
    and goes nowhere)."""
    for name in list(os.environ):
        if is_machine_setting(name):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DD_TRACE_AGENT_URL", f"http://127.0.0.1:{refused_port()}")
    session.reset_for_tests()
    try:
        yield
    finally:
        session.reset_for_tests()
