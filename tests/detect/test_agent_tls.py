"""The probe imports ssl only for an https Agent URL, and a TLS failure is an answer, not a crash."""

from __future__ import annotations

import os
import subprocess
import sys

from appsec_guard.detect.agent import AgentAddress, probe
from appsec_guard.model import RemoteConfig

from ..helpers.agent import LOOPBACK, answering_server


def test_https_to_a_plain_text_server_is_unknown_with_the_tls_error() -> None:
    with answering_server(b"HTTP/1.0 200 OK\r\n\r\n{}") as port:
        result = probe(AgentAddress("https", LOOPBACK, port, "test"))
    assert result.status is RemoteConfig.UNKNOWN
    assert result.detail.startswith("SSLError")


def test_importing_the_probe_does_not_import_ssl() -> None:
    code = "import sys, appsec_guard.detect.agent; print('ssl' in sys.modules)"
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": os.pathsep.join(sys.path), "APPSEC_GUARD_MODE": "off"},
    )
    assert res.stdout.strip() == "False"


def test_the_raw_socket_is_closed_when_tls_setup_fails(monkeypatch) -> None:
    import socket
    import ssl

    from appsec_guard.detect import agent

    opened = []
    real_connect = socket.create_connection

    def recording_connect(*args, **kwargs):
        sock = real_connect(*args, **kwargs)
        opened.append(sock)
        return sock

    def no_context(*args, **kwargs):
        raise ssl.SSLError("no TLS context on this machine")

    monkeypatch.setattr(agent.socket, "create_connection", recording_connect)
    monkeypatch.setattr(ssl, "create_default_context", no_context)
    with answering_server(b"HTTP/1.0 200 OK\r\n\r\n{}") as port:
        result = probe(AgentAddress("https", LOOPBACK, port, "test"))
    assert result.status is RemoteConfig.UNKNOWN
    assert len(opened) == 1
    assert opened[0].fileno() == -1  # closed, not left to the garbage collector
