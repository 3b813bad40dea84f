"""APPSEC_GUARD_PROBE: the Agent probe in the background (boot does not wait for it), off,
and a bad value. Fresh interpreters against loopback servers."""

from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator, List

import pytest

from appsec_guard import session

from ..helpers.agent import answering_server, hanging_server, loopback_server
from .conftest import child_env, guard_events, run_py

SETUP = "import structlog_json; "
WAIT = (
    "import appsec_guard; from appsec_guard import session; "
    "print('waited', session.wait_for_background_probe({}))"
)
INFO = json.dumps({"version": "7.50.0", "endpoints": ["/info", "/v0.7/config"]}).encode()
ANSWER = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + INFO


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """ddtrace 3.10.0 "installed" first on the child's path (its metadata directory only), so
    that Threat Protection hinges on Remote Configuration whatever is really installed."""
    (tmp_path / "ddtrace-3.10.0.dist-info").mkdir()
    return tmp_path


def _run(port: int, mode: str, site: Path):
    env = child_env(
        {
            "APPSEC_GUARD_PROBE": mode,
            "DD_TRACE_AGENT_URL": f"http://127.0.0.1:{port}",
            "DD_APPSEC_ENABLED": "true",
        },
        site,
    )
    wait = 10 if mode == "background" else 0.5  # bounded; sync and off start no probe thread
    return run_py(["-c", SETUP + WAIT.format(wait)], env)


def test_background_probe_boots_unknown_then_logs_the_rejudgement(site: Path) -> None:
    with answering_server(ANSWER) as port:
        res = _run(port, "background", site)
    assert res.returncode == 0, res.stderr
    assert "waited True" in res.stdout
    first, second = guard_events(res.stdout, "appsec_guard.summary")
    assert first["remote_config"] == "unknown"
    assert first["capabilities"]["threat_protection"] == "unknown"
    assert "trigger" not in first
    assert second["trigger"] == "agent probe returned"
    assert second["remote_config"] == "enabled"
    assert second["capabilities"]["threat_protection"] == "supported"
    # the boot-time AG502 (Agent not asked) is not logged again by the follow-up
    ids = [e["finding_id"] for e in guard_events(res.stdout, "appsec_guard.finding")]
    assert ids.count("AG502") == 1


def test_sync_probe_judges_at_boot_with_one_summary(site: Path) -> None:
    with answering_server(ANSWER) as port:
        res = _run(port, "sync", site)
    (summary,) = guard_events(res.stdout, "appsec_guard.summary")
    assert summary["remote_config"] == "enabled"
    assert "waited False" in res.stdout  # no background probe ran


def test_background_probe_of_a_hanging_agent_stops_at_its_deadline(site: Path) -> None:
    with hanging_server() as port:
        res = _run(port, "background", site)
    assert "waited True" in res.stdout
    first, second = guard_events(res.stdout, "appsec_guard.summary")
    assert first["remote_config"] == second["remote_config"] == "unknown"
    assert second["trigger"] == "agent probe returned"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", "sync"), ("SYNC", "sync"), (" background ", "background"), ("off", "off")],
)
def test_probe_mode_values(value: str, expected: str) -> None:
    assert session.probe_mode({"APPSEC_GUARD_PROBE": value}) == (expected, None)


def test_bad_probe_mode_is_ag700_and_sync() -> None:
    mode, problem = session.probe_mode({"APPSEC_GUARD_PROBE": "later"})
    assert mode == "sync"
    assert problem is not None
    assert problem.id == "AG700"
    assert problem.message == (
        "APPSEC_GUARD_PROBE='later' is not one of sync, background, off; using sync"
    )


def test_probe_off_never_asks(site: Path) -> None:
    with answering_server(ANSWER) as port:
        res = _run(port, "off", site)
    (summary,) = guard_events(res.stdout, "appsec_guard.summary")
    assert summary["remote_config"] == "unknown"
    assert "waited False" in res.stdout


@contextmanager
def held_agent(release: threading.Event, conns: List[socket.socket]) -> Iterator[int]:
    """An Agent on loopback that answers each connection (in its own thread) only once
    ``release`` is set (bounded); stopped on exit."""

    def answer(conn: socket.socket) -> None:
        with suppress(OSError):
            conn.settimeout(10)
            conn.recv(65536)
            release.wait(10)
            conn.sendall(ANSWER)
            conn.shutdown(socket.SHUT_RDWR)

    def handle(conn: socket.socket) -> None:
        conns.append(conn)
        threading.Thread(target=answer, args=(conn,), daemon=True).start()

    with loopback_server(handle) as port:
        try:
            yield port
        finally:
            release.set()


def test_a_superseded_probe_answer_is_dropped_and_one_probe_is_in_flight(
    fresh_state: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appsec_guard.detect import ProbeOptions

    release = threading.Event()
    conns: List[socket.socket] = []
    # a deadline the held Agent cannot outlast: the order of the answers is the test's
    monkeypatch.setattr(session, "_background_options", lambda: ProbeOptions(timeout=20))
    with held_agent(release, conns) as port:
        monkeypatch.setenv("DD_TRACE_AGENT_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("APPSEC_GUARD_PROBE", "background")
        monkeypatch.setenv("DD_APPSEC_ENABLED", "true")
        session.run("import")  # the boot's probe: held by the Agent
        for _ in range(1000):  # bounded: until the probe has connected
            if conns:
                break
            threading.Event().wait(0.01)
        assert len(conns) == 1
        # the integration runs meanwhile, with its own policy, and wants a probe too
        session.run("flask", code={"silence": ["AG600"]}, settings_label="app.config")
        probes = [t for t in threading.enumerate() if t.name == "appsec-guard-agent-probe-bg"]
        assert len(probes) == 1
        release.set()
        assert session.wait_for_background_probe(20)
        for t in probes:
            t.join(20)
    policy, report = session.STATE.policy, session.STATE.report
    assert policy is not None and report is not None
    assert policy.silence == {"AG600"}  # the boot's answer did not bring its policy back
    assert session.STATE.integration == "flask"
    assert report.stack.remote_config.value == "enabled"
    assert len(conns) == 2  # the integration's run asked the Agent after the boot's probe


# Issue 13: the probe's answer re-judges the last detection (one fact replaced), not a new
# run with the answer passed back in as an assumption.
def test_the_answer_replaces_one_fact_with_its_own_evidence(site: Path) -> None:
    code = (
        SETUP
        + WAIT.format(10)
        + "; import json; r = appsec_guard.check(); print(json.dumps({'runs': session.STATE.runs,"
        " 'rejudged': session.STATE.rejudged, 'evidence': [e.to_dict() for e in r.stack.evidence"
        " if e.fact == 'remote_config']}))"
    )
    with answering_server(ANSWER) as port:
        env = child_env(
            {
                "APPSEC_GUARD_PROBE": "background",
                "DD_TRACE_AGENT_URL": f"http://127.0.0.1:{port}",
                "DD_APPSEC_ENABLED": "true",
            },
            site,
        )
        res = run_py(["-c", code], env)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    assert (doc["runs"], doc["rejudged"]) == (1, 1)
    (evidence,) = doc["evidence"]  # the probe's own, no "assumed" left over
    assert evidence["source"].startswith("probe:GET http://127.0.0.1:")
    assert "/v0.7/config" in evidence["detail"]
