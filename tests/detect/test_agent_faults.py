"""The Remote Configuration probe against misbehaving loopback servers, beyond test_agent.py:
a redirect to another server (never followed), a 50 MB body (cut off at the cap, memory kept
small), JSON of the wrong shape, a server that trickles its answer past the deadline."""

from __future__ import annotations

import socket
import threading
import tracemalloc
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List

import pytest

from appsec_guard.detect.agent import AgentAddress, ProbeOptions, detect_remote_config, probe
from appsec_guard.model import RemoteConfig
from helpers.agent import answering_server, loopback_server

pytestmark = pytest.mark.slow


@contextmanager
def counting_server(answer: bytes) -> Iterator[List[int]]:
    """A loopback server that counts the connections it accepts; yields [port, hits]."""
    state = [0, 0]

    def handle(conn: socket.socket) -> None:
        state[1] += 1
        with conn:
            conn.settimeout(2)
            conn.recv(65536)
            conn.sendall(answer)

    with loopback_server(handle) as port:
        state[0] = port
        yield state


@contextmanager
def streaming_server(head: bytes, total: int, chunk: bytes) -> Iterator[List[int]]:
    """Answers ``head`` then ``total`` bytes of body in ``chunk`` pieces, stopping when the
    client goes away; yields [port, bytes the kernel accepted from us]."""
    state = [0, 0]

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            conn.recv(65536)
            conn.sendall(head)
            while state[1] < total:
                conn.sendall(chunk)
                state[1] += len(chunk)

    with loopback_server(handle) as port:
        state[0] = port
        yield state


def test_redirect_to_another_server_is_not_followed(tmp_path: Path) -> None:
    info = b'HTTP/1.0 200 OK\r\n\r\n{"endpoints": ["/v0.7/config"]}'
    with counting_server(info) as elsewhere:
        moved = (
            f"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{elsewhere[0]}/info\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        with counting_server(moved) as agent:
            env = {"DD_TRACE_AGENT_URL": f"http://127.0.0.1:{agent[0]}"}
            fact = detect_remote_config(
                env,
                tmp_path,
                deployment="docker",
                enabled_in_settings=True,
                options=ProbeOptions(timeout=5.0),
            )
            status, evidence, _ = fact.value, list(fact.evidence), list(fact.findings)
        assert agent[1] == 1  # the configured agent was asked, once
        assert elsewhere[1] == 0  # the redirect target never was
    assert status is RemoteConfig.UNKNOWN
    assert "redirects are not followed" in evidence[0].detail


def test_fifty_megabyte_body_is_cut_off_at_the_cap() -> None:
    head = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n"
    chunk = b'{"endpoints": ["/v0.7/config"], "pad": "' + b"x" * (1 << 20)
    cap = 64 * 1024
    tracemalloc.start()
    try:
        with streaming_server(head, 50 << 20, chunk) as server:
            if hasattr(tracemalloc, "reset_peak"):  # Python 3.9+
                tracemalloc.reset_peak()
            result = probe(
                AgentAddress("http", "127.0.0.1", server[0], "test"),
                ProbeOptions(timeout=30.0, max_bytes=cap),
            )
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status is RemoteConfig.UNKNOWN
    # stopped by the cap, not by the deadline: it read a little and hung up
    assert "size cap" in result.detail, result.detail
    # what it buffered: the cap plus one receive (the chunks, then one join), far below 50 MB
    assert peak < 8 * (cap + 16384) + (1 << 20), peak


@pytest.mark.parametrize(
    ("body", "status", "why"),
    [
        (b'{"endpoints": ["/v0.7/config", 7, null]}', RemoteConfig.UNKNOWN, "not strings"),
        (b'{"endpoints": [["/v0.7/config"]]}', RemoteConfig.UNKNOWN, "not strings"),
        (b'{"endpoints": {"/v0.7/config": true}}', RemoteConfig.UNKNOWN, "no endpoint list"),
        (b'{"endpoints": null}', RemoteConfig.UNKNOWN, "no endpoint list"),
        (b'{"version": "7.50.0"}', RemoteConfig.UNKNOWN, "no endpoint list"),
        (b'"/v0.7/config"', RemoteConfig.UNKNOWN, "not a JSON object"),
        (b"null", RemoteConfig.UNKNOWN, "not a JSON object"),
        (b"\xff\xfe{}", RemoteConfig.UNKNOWN, "not JSON"),
        (b"", RemoteConfig.UNKNOWN, "not JSON"),
        (b'{"endpoints": [], "version": ["x"]}', RemoteConfig.UNAVAILABLE, "does not list"),
    ],
)
def test_json_of_the_wrong_shape(body: bytes, status: RemoteConfig, why: str) -> None:
    with answering_server(b"HTTP/1.0 200 OK\r\n\r\n" + body) as port:
        result = probe(AgentAddress("http", "127.0.0.1", port, "test"), ProbeOptions(timeout=5.0))
    assert result.status is status
    assert why in result.detail


def test_server_trickling_its_answer_past_the_deadline() -> None:
    """Each byte arrives before a per-read timeout would fire; the deadline is over the whole."""
    stop = threading.Event()

    def trickle(conn: socket.socket) -> None:
        conn.recv(65536)
        for byte in b"HTTP/1.0 200 OK\r\nX-Slow: " + b"y" * 10_000:
            if stop.wait(0.02):
                return
            conn.sendall(bytes([byte]))

    with loopback_server(trickle) as port:
        try:
            result = probe(
                AgentAddress("http", "127.0.0.1", port, "test"), ProbeOptions(timeout=0.3)
            )
        finally:
            stop.set()
    assert result.status is RemoteConfig.UNKNOWN
    assert "deadline" in result.detail or "within" in result.detail


@pytest.mark.parametrize("host", ["http://user:planted-pw@agent:8126", "agent/path", "a b"])
def test_agent_host_that_is_not_a_host_is_ag601_without_the_value(
    tmp_path: Path, host: str
) -> None:
    fact = detect_remote_config(
        {"DD_AGENT_HOST": host}, tmp_path, deployment="docker", enabled_in_settings=True
    )
    status, evidence, findings = fact.value, list(fact.evidence), list(fact.findings)
    assert status is RemoteConfig.UNKNOWN
    [finding] = findings
    assert finding.id == "AG601"
    assert finding.message.startswith("DD_AGENT_HOST is not a host name or address")
    text = finding.message + " ".join(e.source + e.detail for e in evidence)
    assert "planted-pw" not in text
    assert host not in text
