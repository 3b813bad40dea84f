"""The emitter through the session: what is logged, once, redacted (public names only:
``session.run``, ``session.check``, ``session.reset_for_tests`` and the stdlib log records)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from appsec_guard import session
from tests.helpers.agent import refused_port
from tests.helpers.env import is_machine_setting

SECRET = "0123456789abcdefABCDEF0123456789"  # planted, shaped like a Datadog key


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[Any]:
    for name in list(os.environ):
        if is_machine_setting(name):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DD_TRACE_AGENT_URL", f"http://127.0.0.1:{refused_port()}")
    monkeypatch.setenv("DD_APPSEC_ENABLED", "true")
    monkeypatch.setenv("DD_REMOTE_CONFIGURATION_ENABLED", "false")
    caplog.set_level(logging.INFO, logger="appsec_guard")
    session.reset_for_tests()

    def logged() -> List[Dict[str, Any]]:
        return [r.appsec_guard for r in caplog.records if r.name == "appsec_guard"]

    try:
        yield logged
    finally:
        session.reset_for_tests()


def _ids(batch: List[Dict[str, Any]]) -> List[str]:
    return [e["finding_id"] for e in batch if e["event"] == "appsec_guard.finding"]


def test_a_second_entry_point_logs_only_what_is_new(events: Any) -> None:
    session.run("import")
    first = events()
    assert "AG500" in _ids(first)
    assert first[-1]["event"] == "appsec_guard.summary" and first[-1]["entry"] == "import"
    session.run("lambda")  # the same verdicts: nothing new, no second summary
    assert events() == first


def test_the_summary_and_findings_say_what_will_be_active(events: Any) -> None:
    session.run("import")
    summary = events()[-1]
    # DD_APPSEC_ENABLED=true: threat detection is on at boot
    assert summary["active"]["threat_detection"] == "on"
    assert set(summary["active"]) == set(summary["capabilities"])
    (ag500,) = [e for e in events() if e.get("finding_id") == "AG500"]
    assert ag500["active"] == summary["active"]["threat_protection"]


def test_what_a_later_entry_point_changes_is_logged(events: Any) -> None:
    session.run("import")
    before = len(events())
    layer = Path(__file__).parent / "projects" / "api_security_needs_99.json"
    session.run("django", settings={"require": ["api_security"], "matrix": [str(layer)]})
    after = events()[before:]
    assert _ids(after) == ["AG101"]  # new with the app's policy; AG500 was logged already
    assert after[0]["required"] is True and after[0]["entry"] == "django"
    assert after[-1]["event"] == "appsec_guard.summary"
    assert after[-1]["failed"] == ["api_security"]


def test_events_never_hold_a_secret(events: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DD_API_KEY", SECRET)
    monkeypatch.setenv("APPSEC_GUARD_REQUIRE", f"sca,{SECRET}")
    session.run("import")
    text = repr(events())
    assert SECRET not in text
    assert "AG700" in text
