"""The fleet gauge, at the wire: a real UDP listener and a real Unix datagram socket."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

from appsec_guard import metrics
from appsec_guard.judge import judge
from appsec_guard.matrix import load
from appsec_guard.metrics import AddressError, dogstatsd_address, send_report
from appsec_guard.model import Report
from appsec_guard.testing import make_stack

from .conftest import child_env, run_py

Gauge = Tuple[str, float, Dict[str, str]]


def parse(datagram: bytes) -> Gauge:
    text = datagram.decode()
    head, kind, tags = text.split("|")
    name, value = head.split(":")
    assert kind == "g" and tags.startswith("#")
    return name, float(value), dict(t.split(":", 1) for t in tags[1:].split(","))


def receive(sock: socket.socket, count: int) -> List[Gauge]:
    sock.settimeout(10)  # a deadline for a broken test, not a timing assertion
    return [parse(sock.recv(65536)) for _ in range(count)]


@pytest.fixture
def udp() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


def lambda_report() -> Report:
    return judge(make_stack(deployment="lambda"), load(), requested={"threat_detection", "sca"},
                 required={"threat_protection"})  # fmt: skip


def test_one_gauge_per_capability_over_udp(udp: socket.socket) -> None:
    report = lambda_report()
    port = udp.getsockname()[1]
    env = {"APPSEC_GUARD_METRICS": "true", "DD_DOGSTATSD_URL": f"udp://127.0.0.1:{port}",
           "DD_SERVICE": "checkout", "DD_ENV": "prod"}  # fmt: skip
    assert send_report(report, env) is None  # an address: sent inline, no thread
    gauges = {g[2]["capability"]: g for g in receive(udp, len(report.verdicts))}
    assert set(gauges) == {v.capability for v in report.verdicts}
    name, value, tags = gauges["sca"]
    assert name == "appsec_guard.capability" and value == 0
    assert tags == {"capability": "sca", "status": "unsupported", "requested": "true",
                    "required": "false", "service": "checkout", "env": "prod"}  # fmt: skip
    assert gauges["threat_detection"][1] == 1
    assert gauges["threat_protection"][2]["required"] == "true"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DD_DOGSTATSD_URL": "udp://10.0.0.5:9125"}, ("udp", ("10.0.0.5", 9125))),
        ({"DD_DOGSTATSD_URL": "unix:///run/dsd.sock"}, ("unix", "/run/dsd.sock")),
        ({"DD_DOGSTATSD_URL": "/run/dsd.sock"}, ("unix", "/run/dsd.sock")),
        ({"DD_DOGSTATSD_URL": "agent:8200"}, ("udp", ("agent", 8200))),
        ({"DD_DOGSTATSD_URL": "udp://agent", "DD_AGENT_HOST": "x"}, ("udp", ("agent", 8125))),
        ({"DD_AGENT_HOST": "agent"}, ("udp", ("agent", 8125))),
        ({"DD_AGENT_HOST": "agent", "DD_DOGSTATSD_HOST": "dsd"}, ("udp", ("dsd", 8125))),
        ({"DD_DOGSTATSD_PORT": "9125"}, ("udp", ("localhost", 9125))),
        ({"DD_AGENT_PORT": "9126", "DD_AGENT_HOST": "a"}, ("udp", ("a", 9126))),
        ({"DD_TRACE_AGENT_URL": "http://agent:8126"}, ("udp", ("localhost", 8125))),
    ],
)
def test_address_as_ddtrace_resolves_it(env: Dict[str, str], expected: object) -> None:
    assert dogstatsd_address(env, socket_exists=False) == expected


def test_default_socket_when_it_exists_and_nothing_is_set() -> None:
    assert dogstatsd_address({}, socket_exists=True) == ("unix", "/var/run/datadog/dsd.socket")
    assert dogstatsd_address({"DD_AGENT_HOST": "a"}, socket_exists=True)[0] == "udp"


@pytest.mark.parametrize(
    ("env", "message"),
    [({"DD_DOGSTATSD_URL": "http://agent:8125"}, "is not udp://HOST:PORT or unix:///PATH"),
     ({"DD_DOGSTATSD_URL": "udp://agent:99999"}, "has a bad port"),
     ({"DD_DOGSTATSD_PORT": "statsd"}, "DD_DOGSTATSD_PORT='statsd' is not a port number")],
)  # fmt: skip
def test_a_bad_address_is_one_line_and_nothing_sent(
    env: Dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(AddressError, match=message):
        dogstatsd_address(env, socket_exists=False)
    assert send_report(lambda_report(), {"APPSEC_GUARD_METRICS": "true", **env}) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "appsec_guard: metrics not sent: " in err and message in err


def test_unix_datagram_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "dsd.socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        report = lambda_report()
        send_report(report, {"APPSEC_GUARD_METRICS": "1", "DD_DOGSTATSD_URL": f"unix://{path}"})
        gauges = receive(sock, len(report.verdicts))
    assert {g[2]["capability"] for g in gauges} == {v.capability for v in report.verdicts}
    assert "service" not in gauges[0][2]  # no DD_SERVICE: no empty tag


def test_a_host_name_is_resolved_off_the_callers_thread() -> None:
    family, _, _, _, addr = socket.getaddrinfo("localhost", 0, 0, socket.SOCK_DGRAM)[0]
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((addr[0], 0))
        port = sock.getsockname()[1]
        env = {"APPSEC_GUARD_METRICS": "true", "DD_AGENT_HOST": "localhost",
               "DD_DOGSTATSD_PORT": str(port)}  # fmt: skip
        thread = send_report(lambda_report(), env)
        assert thread is not None and thread.daemon
        metrics.wait()
        assert len(receive(sock, 7)) == 7


def test_nothing_listening_never_raises(tmp_path: Path) -> None:
    report = lambda_report()
    assert send_report(report, {"APPSEC_GUARD_METRICS": "true",
                                "DD_DOGSTATSD_URL": f"unix://{tmp_path}/absent.sock"}) is None  # fmt: skip
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed after this block: nothing listens
    assert send_report(report, {"APPSEC_GUARD_METRICS": "true",
                                "DD_DOGSTATSD_URL": f"udp://127.0.0.1:{port}"}) is None  # fmt: skip


def test_boot_sends_the_gauges(udp: socket.socket) -> None:
    port = udp.getsockname()[1]
    res = run_py(["-c", "import appsec_guard"], child_env({
        "APPSEC_GUARD_METRICS": "true", "DD_DOGSTATSD_URL": f"udp://127.0.0.1:{port}",
        "DD_SERVICE": "checkout", "DD_VERSION": "1.4.2", "DD_APPSEC_ENABLED": "true",
        "APPSEC_GUARD_PROBE": "off", "APPSEC_GUARD_REQUIRE": "sca",
    }))  # fmt: skip
    assert res.returncode == 0, res.stderr
    gauges = {g[2]["capability"]: g for g in receive(udp, 7)}
    _, value, tags = gauges["threat_detection"]
    assert value == 1
    assert (tags["requested"], tags["active"]) == ("true", "on")
    assert (tags["service"], tags["version"]) == ("checkout", "1.4.2")
    # required, and the stack can run it, but DD_APPSEC_SCA_ENABLED is not set: it is off
    _, value, tags = gauges["sca"]
    assert value == 0
    assert (tags["status"], tags["active"], tags["required"]) == ("supported", "off", "true")


def test_off_by_default_and_a_bad_value_is_ag700() -> None:
    code = ("import sys, appsec_guard; r = appsec_guard.check(); "
            "print('appsec_guard.metrics' in sys.modules); "
            "print([f.message for f in r.findings if f.id == 'AG700'])")  # fmt: skip
    res = run_py(["-c", code], child_env({"APPSEC_GUARD_PROBE": "off"}))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-2:] == ["False", "[]"]
    res = run_py(
        ["-c", code], child_env({"APPSEC_GUARD_PROBE": "off", "APPSEC_GUARD_METRICS": "maybe"})
    )
    assert "APPSEC_GUARD_METRICS='maybe' is not true or false; no metrics are sent" in res.stdout
