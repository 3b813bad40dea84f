"""The session: strict mode's refusal, and what it says about where the policy came from.

Only public names: the session's ``refusal``, ``policy.resolve``, ``judge`` and ``testing``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appsec_guard import policy
from appsec_guard.judge import judge
from appsec_guard.matrix import Matrix
from appsec_guard.session import refusal
from appsec_guard.testing import make_stack


def _refusal(
    matrix: Matrix, required: str, environ: Dict[str, str], **resolve: Any
) -> Optional[str]:
    pol = policy.resolve(environ=environ, **resolve)
    report = judge(make_stack(), matrix, required=[required])
    error = refusal(report, pol)
    return None if error is None else str(error)


# Issue 13, case 9: fail-closed refuses a beta capability (the README promises it).
def test_fail_closed_refuses_a_required_beta_capability(matrix: Matrix) -> None:
    env = {"APPSEC_GUARD_MODE": "strict", "APPSEC_GUARD_FAIL_CLOSED": "true"}
    assert judge(make_stack(), matrix).verdict("code_security").status.value == "beta"
    text = _refusal(matrix, "code_security", env)
    assert text is not None
    assert "  - code_security (required): beta" in text
    assert _refusal(matrix, "code_security", {"APPSEC_GUARD_MODE": "strict"}) is None
    assert _refusal(matrix, "threat_protection", env) is None  # supported: never refused


# Issue 13, case 3: the refusal names where strict mode and the silence were set.
@pytest.mark.parametrize(
    ("resolve", "mode_shown", "silence_shown"),
    [
        (
            {"settings": {"mode": "strict"}, "settings_label": "settings.APPSEC_GUARD"},
            "settings.APPSEC_GUARD['mode']",
            "APPSEC_GUARD_SILENCE",
        ),
        (
            {"settings": {"mode": "strict", "silence": "AG303"}, "settings_label": "app.config"},
            "app.config['APPSEC_GUARD_MODE']",
            "app.config['APPSEC_GUARD_SILENCE']",
        ),
        ({"code": {"mode": "strict"}}, "mode=", "APPSEC_GUARD_SILENCE"),
    ],
)
def test_the_refusal_names_the_source_of_the_mode(
    matrix: Matrix, resolve: Dict[str, Any], mode_shown: str, silence_shown: str
) -> None:
    env = {"APPSEC_GUARD_MODE": "warn", "APPSEC_GUARD_FAIL_CLOSED": "true"}
    text = _refusal(matrix, "code_security", env, **resolve)
    assert text is not None
    first, *_, last = text.splitlines()
    assert f"refused to boot ({mode_shown}" in first
    assert "APPSEC_GUARD_MODE=" not in text  # exporting it would change nothing: not named
    assert f"add its id to {silence_shown}" in last
    assert f"set {mode_shown}" in last and "warn" in last


def test_the_environment_named_when_it_set_strict(matrix: Matrix) -> None:
    env = {"APPSEC_GUARD_MODE": "strict", "APPSEC_GUARD_FAIL_CLOSED": "true"}
    text = _refusal(matrix, "code_security", env)
    assert text is not None
    assert "refused to boot (APPSEC_GUARD_MODE=strict)" in text
    assert "set APPSEC_GUARD_MODE=warn to log instead of refusing" in text


# Issue 13, case 4: a remediation is worded for the entry point that shows it.
@pytest.mark.parametrize("entry", ["import", "django", "flask", "lambda", "check"])
def test_remediations_name_the_command_only_in_the_command(matrix: Matrix, entry: str) -> None:
    from appsec_guard.model import RemoteConfig
    from appsec_guard.render import worded_for

    report = judge(
        make_stack(remote_config=RemoteConfig.UNKNOWN), matrix, required=["threat_protection"]
    )
    (ag502,) = [f for f in report.findings if f.id == "AG502"]
    assert "--assume remote_config=enabled" in ag502.remediation  # the command's words
    assert worded_for("command", report) == report
    (worded,) = [f for f in worded_for(entry, report).findings if f.id == "AG502"]
    assert "--assume" not in worded.remediation
    assert worded.remediation.startswith("make the Agent reachable at boot")


@pytest.mark.parametrize(
    ("remediation", "worded"),
    [
        (
            "state it: --assume framework=flask==X.Y",
            "reinstall it so that its metadata has a version",
        ),
        ("state it --assume ddtrace=X.Y.Z", "reinstall it so that its metadata has a version"),
        ("upgrade ddtrace, or state it: --assume ddtrace=X.Y.Z", "upgrade ddtrace"),
    ],
)
def test_a_remediation_that_only_names_the_flag_is_replaced(remediation: str, worded: str) -> None:
    from appsec_guard.model import Finding, Severity
    from appsec_guard.render import remediation_for

    finding = Finding("AG302", Severity.WARNING, "threat_detection", "no version", remediation)
    assert remediation_for("command", finding) == remediation
    assert remediation_for("import", finding) == worded


_FRAGMENTS = [", or state it: --assume ", "--assume ", "state it", " with", ":", " ", ",", ";"]
_FRAGMENTS += ["or ", "x=1", "upgrade ddtrace", "\xa0", "\t", "é"]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=8).map("".join))
@settings(max_examples=400, deadline=None)
def test_the_clause_is_cut_as_the_expression_cuts_it(text: str) -> None:
    # remediation_for cuts the usual clause without the expression: it must cut the same
    import re

    from appsec_guard.model import Finding, Severity
    from appsec_guard.render import remediation_for

    text = f"upgrade ddtrace{text}, or state it: --assume ddtrace=X.Y.Z{text[:3]}"
    finding = Finding("AG502", Severity.WARNING, "threat_detection", "unknown", text)
    by_expression = re.sub(r",? (?:or )?(?:state it(?: with)?:? )?--assume [^\s,;]*", "", text)
    assert remediation_for("import", finding) == by_expression


# The session re-judges from the facts that changed: check(refresh=True) detects again the
# framework and Remote Configuration only, and keeps the rest of the last detection.
@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Any:
    import os

    from appsec_guard import session
    from tests.helpers.env import is_machine_setting

    for name in list(os.environ):
        if is_machine_setting(name):
            monkeypatch.delenv(name)
    monkeypatch.setenv("APPSEC_GUARD_PROBE", "off")
    session.reset_for_tests()
    yield session
    session.reset_for_tests()


def test_refresh_detects_again_only_what_changes_in_a_process(
    fresh: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from appsec_guard.model import Framework

    for name in ("flask", "django"):  # not imported: no framework runs
        monkeypatch.delitem(sys.modules, name, raising=False)
    first = fresh.run("import")
    assert first is not None and first.stack.framework is None
    deployment = first.stack.deployment
    # a deployment marker appearing later is not a fact of this process: not detected again
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "late")
    monkeypatch.setitem(sys.modules, "flask", object())  # the app imported Flask since
    again = fresh.check(refresh=True)
    assert again.stack.deployment == deployment
    assert again.stack.framework is not None and again.stack.framework.name == "flask"
    assert isinstance(again.stack.framework, Framework)
    assert fresh.STATE.runs == 2 and fresh.STATE.rejudged == 0
