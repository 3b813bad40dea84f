"""The Remote Configuration probe against Datadog's real test agent and misbehaving servers."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from appsec_guard.detect.agent import (
    AddressError,
    AgentAddress,
    ProbeOptions,
    agent_address,
    detect_remote_config,
    interpret,
    probe,
)
from appsec_guard.model import RemoteConfig
from helpers.agent import answering_server, hanging_server, refused_port

pytestmark = pytest.mark.slow


def _rc(port: int, timeout: float = 5.0) -> RemoteConfig:
    env = {"DD_TRACE_AGENT_URL": f"http://127.0.0.1:{port}"}
    fact = detect_remote_config(
        env,
        Path("/nonexistent-root"),
        deployment="docker",
        enabled_in_settings=True,
        options=ProbeOptions(timeout=timeout),
    )
    status, evidence, findings = fact.value, list(fact.evidence), list(fact.findings)
    assert not findings
    assert evidence[0].source.startswith(f"probe:GET http://127.0.0.1:{port}/info")
    return status


def test_real_test_agent_lists_remote_config(agent_port: int) -> None:
    assert _rc(agent_port) is RemoteConfig.ENABLED


def test_real_test_agent_without_remote_config_endpoint(agent_without_rc_port: int) -> None:
    assert _rc(agent_without_rc_port) is RemoteConfig.UNAVAILABLE


def test_real_test_agent_through_the_whole_detection(agent_port: int, tmp_path: Path) -> None:
    from appsec_guard.detect import detect

    env = {"DD_AGENT_HOST": "127.0.0.1", "DD_TRACE_AGENT_PORT": str(agent_port)}
    detection = detect(env, root=tmp_path, probe=ProbeOptions(timeout=5.0))
    assert detection.stack.remote_config is RemoteConfig.ENABLED


def test_agent_down_is_unknown() -> None:
    result = probe(
        AgentAddress("http", "127.0.0.1", refused_port(), "test"), ProbeOptions(timeout=1.0)
    )
    assert result.status is RemoteConfig.UNKNOWN
    assert "refused" in result.detail


def test_hanging_agent_returns_by_its_deadline() -> None:
    with hanging_server() as port:
        result = probe(AgentAddress("http", "127.0.0.1", port, "test"), ProbeOptions(timeout=0.2))
    assert result.status is RemoteConfig.UNKNOWN
    assert "deadline" in result.detail or "within" in result.detail


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\x00\xffnot http at all", "not HTTP"),
        (b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{not json", "not JSON"),
        (b"HTTP/1.0 200 OK\r\n\r\n[1, 2]", "not a JSON object"),
        (b'HTTP/1.0 200 OK\r\n\r\n{"endpoints": "/v0.7/config"}', "no endpoint list"),
        (b"HTTP/1.0 302 Found\r\nLocation: http://127.0.0.1:1/info\r\n\r\n", "redirects"),
        (b"HTTP/1.0 500 Internal Server Error\r\n\r\n", "HTTP 500"),
    ],
)
def test_garbage_answers_are_unknown(raw: bytes, why: str) -> None:
    with answering_server(raw) as port:
        result = probe(AgentAddress("http", "127.0.0.1", port, "test"), ProbeOptions(timeout=2.0))
    assert result.status is RemoteConfig.UNKNOWN
    assert why in result.detail


def test_oversized_answer_is_cut_off() -> None:
    body = b'{"endpoints": ["/v0.7/config"], "pad": "' + b"x" * 200_000 + b'"}'
    with answering_server(b"HTTP/1.0 200 OK\r\n\r\n" + body) as port:
        result = probe(
            AgentAddress("http", "127.0.0.1", port, "test"),
            ProbeOptions(timeout=2.0, max_bytes=1024),
        )
    assert result.status is RemoteConfig.UNKNOWN
    assert "size cap" in result.detail


def test_old_agent_without_info_is_unavailable() -> None:
    assert interpret(b"HTTP/1.1 404 Not Found\r\n\r\n").status is RemoteConfig.UNAVAILABLE


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix sockets")
def test_default_unix_socket_under_root(tmp_path: Path) -> None:
    sock_dir = tmp_path / "var/run/datadog"
    sock_dir.mkdir(parents=True)
    path = sock_dir / "apm.socket"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        server.listen(1)
        address = agent_address({}, tmp_path)
        assert address == AgentAddress("unix", str(path), 0, "file:/var/run/datadog/apm.socket")
    finally:
        server.close()


# --- finding the agent the way ddtrace does ---------------------------------------------------


def test_default_address_without_socket(tmp_path: Path) -> None:
    assert agent_address({}, tmp_path).display == "http://localhost:8126"


def test_url_wins_and_hides_credentials(tmp_path: Path) -> None:
    env = {
        "DD_TRACE_AGENT_URL": "https://user:s3cret@agent.example:9443/x?token=t0k",
        "DD_AGENT_HOST": "other",
    }
    address = agent_address(env, tmp_path)
    assert (address.scheme, address.host, address.port) == ("https", "agent.example", 9443)
    assert "s3cret" not in address.display
    assert "user" not in address.display
    assert "t0k" not in address.display


def test_credentials_never_reach_evidence(tmp_path: Path) -> None:
    env = {"DD_TRACE_AGENT_URL": f"http://user:s3cret@127.0.0.1:{refused_port()}"}
    fact = detect_remote_config(
        env,
        tmp_path,
        deployment="docker",
        enabled_in_settings=True,
        options=ProbeOptions(timeout=1.0),
    )
    evidence = list(fact.evidence)
    assert all("s3cret" not in e.source + e.detail for e in evidence)


def test_unix_url(tmp_path: Path) -> None:
    address = agent_address({"DD_TRACE_AGENT_URL": "unix:///tmp/apm.sock"}, tmp_path)
    assert (address.scheme, address.host) == ("unix", "/tmp/apm.sock")


def test_host_and_port(tmp_path: Path) -> None:
    env = {"DD_AGENT_HOST": "dd-agent", "DD_TRACE_AGENT_PORT": "9126"}
    address = agent_address(env, tmp_path)
    assert address.display == "http://dd-agent:9126"
    assert address.source == "env:DD_AGENT_HOST + env:DD_TRACE_AGENT_PORT"
    assert agent_address({"DD_TRACE_AGENT_PORT": "9"}, tmp_path).display == "http://localhost:9"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DD_TRACE_AGENT_URL": "ftp://h:1"}, "is not http, https or unix"),
        ({"DD_TRACE_AGENT_URL": "http://h:notaport"}, "not a valid URL"),
        ({"DD_TRACE_AGENT_URL": "http://:8126"}, "has no host"),
        ({"DD_TRACE_AGENT_PORT": "eighty"}, "DD_TRACE_AGENT_PORT is not a port number"),
        ({"DD_TRACE_AGENT_PORT": "70000"}, "DD_TRACE_AGENT_PORT is not a port number"),
    ],
)
def test_malformed_agent_settings(tmp_path: Path, env: dict, message: str) -> None:
    with pytest.raises(AddressError, match=message):
        agent_address(env, tmp_path)
    fact = detect_remote_config(env, tmp_path, deployment="docker", enabled_in_settings=True)
    status, findings = fact.value, list(fact.findings)
    assert status is RemoteConfig.UNKNOWN
    assert [f.id for f in findings] == ["AG601"]


def test_bad_url_with_credentials_does_not_leak(tmp_path: Path) -> None:
    env = {"DD_TRACE_AGENT_URL": "http://user:s3cret@h:notaport"}
    fact = detect_remote_config(env, tmp_path, deployment="docker", enabled_in_settings=True)
    evidence, findings = list(fact.evidence), list(fact.findings)
    text = " ".join(e.detail for e in evidence) + " ".join(f.message for f in findings)
    assert "s3cret" not in text


# --- statuses decided without the network -----------------------------------------------------


def test_disabled_by_setting(tmp_path: Path) -> None:
    fact = detect_remote_config({}, tmp_path, deployment="docker", enabled_in_settings=False)
    status, evidence, _ = fact.value, list(fact.evidence), list(fact.findings)
    assert status is RemoteConfig.DISABLED
    assert evidence[0].source == "env:DD_REMOTE_CONFIGURATION_ENABLED"


def test_unavailable_on_lambda(tmp_path: Path) -> None:
    fact = detect_remote_config({}, tmp_path, deployment="lambda", enabled_in_settings=True)
    status = fact.value
    assert status is RemoteConfig.UNAVAILABLE


def test_probe_turned_off(tmp_path: Path) -> None:
    with hanging_server() as port:
        env = {"DD_TRACE_AGENT_URL": f"http://127.0.0.1:{port}"}
        fact = detect_remote_config(
            env,
            tmp_path,
            deployment="docker",
            enabled_in_settings=True,
            options=ProbeOptions(enabled=False),
        )
        status, evidence, _ = fact.value, list(fact.evidence), list(fact.findings)
    assert status is RemoteConfig.UNKNOWN
    assert evidence[0].detail == "turned off"


def test_an_ip_address_is_probed_without_a_thread_a_host_name_in_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No timeout bounds a DNS lookup, so only a host name needs the probe thread; an IP
    address is asked in the caller's thread (a thread costs more than a refused connection)."""
    from appsec_guard.detect import agent

    class NoThreads:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def start(self) -> None:
            raise RuntimeError("can't start new thread")

    monkeypatch.setattr(agent.threading, "Thread", NoThreads)
    port = refused_port()
    for host in ("127.0.0.1", "[::1]", "::1"):
        result = probe(AgentAddress("http", host, port, "test"), ProbeOptions(timeout=2.0))
        assert result.status is RemoteConfig.UNKNOWN
        assert result.detail == "connection refused: no Agent listening" or (
            host != "127.0.0.1" and "[Errno" in result.detail  # a host without IPv6
        ), result.detail
    named = probe(AgentAddress("http", "localhost", port, "test"), ProbeOptions(timeout=2.0))
    assert named.status is RemoteConfig.UNKNOWN
    assert "can't start new thread" in named.detail


@pytest.mark.parametrize("endpoint", ["/v0.7/config", "v0.7/config"])
def test_remote_config_endpoint_with_or_without_its_slash(endpoint: str) -> None:
    # ddtrace 4.16.0: ddtrace/internal/remoteconfig/worker.py accepts both spellings
    raw = b"HTTP/1.0 200 OK\r\n\r\n" + json.dumps({"endpoints": [endpoint]}).encode()
    assert interpret(raw).status is RemoteConfig.ENABLED
    assert interpret(b'HTTP/1.0 200 OK\r\n\r\n{"endpoints": ["v0.7/configs"]}').status is (
        RemoteConfig.UNAVAILABLE
    )
