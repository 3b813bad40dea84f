"""APPSEC_GUARD_PROBE: the Agent probe in the background (boot does not wait for it), off,
and a bad value. Fresh interpreters against loopback servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appsec_guard import _process

from ..helpers.agent import answering_server, hanging_server
from .conftest import child_env, guard_events, run_py

SETUP = "import structlog_json; "
WAIT = (
    "import appsec_guard; from appsec_guard import _process; "
    "print('waited', _process.wait_for_background_probe({}))"
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
    assert _process.probe_mode({"APPSEC_GUARD_PROBE": value}) == (expected, None)


def test_bad_probe_mode_is_ag700_and_sync() -> None:
    mode, problem = _process.probe_mode({"APPSEC_GUARD_PROBE": "later"})
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
