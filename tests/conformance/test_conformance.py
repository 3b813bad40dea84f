"""The CI slice of the conformance suite: the newest ddtrace, Flask and Django.

Runs only when asked (``nox -s conformance -- --newest-only``, which sets
APPSEC_GUARD_CONFORMANCE=1): it installs ddtrace and the test agent into virtualenvs under
$CONFORMANCE_CACHE (default .nox/conformance-envs), and skips, saying why, only when that
installation is impossible.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, NoReturn

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import confkit

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(not confkit.ENABLED, reason=confkit.SKIP_REASON),
]

NEWEST = next(r for r in confkit.RELEASES if r.ddtrace == confkit.NEWEST)


def _cannot(message: str) -> NoReturn:
    """Skip where installing from the package index is impossible; in CI, fail: a CI run that
    checked nothing must not pass."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[confkit.TestAgent]:
    try:
        venv = confkit.agent_venv()
    except confkit.SetupError as exc:
        _cannot(f"cannot install ddapm-test-agent: {exc}")
    with confkit.TestAgent(venv, tmp_path_factory.mktemp("conformance-logs")) as running:
        yield running


@pytest.fixture(scope="module")
def newest_venv() -> confkit.Venv:
    try:
        return confkit.release_venv(NEWEST)
    except confkit.SetupError as exc:
        _cannot(f"cannot install ddtrace {NEWEST.ddtrace}: {exc}")


def _rows(venv: confkit.Venv, framework: str, agent: confkit.TestAgent) -> List[Dict[str, Any]]:
    outcome = confkit.run_release_framework(NEWEST, venv, framework, agent)
    assert outcome.ddtrace_version == NEWEST.ddtrace
    return outcome.rows()


@pytest.mark.parametrize("framework", confkit.FRAMEWORKS)
def test_newest_release_behaves_as_the_guard_says(
    framework: str, newest_venv: confkit.Venv, agent: confkit.TestAgent
) -> None:
    rows = _rows(newest_venv, framework, agent)
    broken = [r for r in rows if r["agreement"].startswith("NO")]
    assert not broken, broken
    # The newest release is where every capability must both be promised and be seen.
    seen = {(r["capability"], r["mechanism"]): r for r in rows}
    for (cap, how), row in seen.items():
        if cap == "user_event_tracking" and framework == "flask":
            assert row["observed"] is None
            continue
        if how == confkit.RC_OFF_LOCAL:
            # Remote Configuration off: the guard says Threat Protection (from Datadog) does not
            # work, and a local rules file still blocks: the finding says both.
            assert (row["guard"], row["observed"]) == ("unsupported", True), row
            continue
        assert row["guard"] == "supported", row
        assert row["observed"] is True, row


@pytest.fixture(scope="module")
def agent_no_rc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[confkit.TestAgent]:
    try:
        venv = confkit.agent_venv()
    except confkit.SetupError as exc:
        _cannot(f"cannot install ddapm-test-agent: {exc}")
    logs = tmp_path_factory.mktemp("conformance-logs-no-rc")
    with confkit.TestAgent(venv, logs, remote_config=False) as running:
        yield running


def _no_broken_promise(rows: List[Dict[str, Any]]) -> None:
    assert rows
    broken = [r for r in rows if r["agreement"].startswith("NO")]
    assert not broken, broken


def test_newest_on_lambda_behaves_as_the_guard_says(agent: confkit.TestAgent) -> None:
    try:
        outcome = confkit.run_lambda(NEWEST.ddtrace, agent)
    except confkit.SetupError as exc:
        _cannot(f"cannot install ddtrace {NEWEST.ddtrace} with awslambdaric: {exc}")
    rows = outcome.rows()
    _no_broken_promise(rows)
    by = {r["capability"]: r for r in rows}
    # threat detection really acts inside the Lambda runtime client, and the guard says so
    assert by["threat_detection"]["observed"] is True
    assert by["threat_detection"]["guard"] == "supported"


def test_newest_sca_telemetry_on_and_off(
    newest_venv: confkit.Venv, agent: confkit.TestAgent
) -> None:
    rows = confkit.run_sca(NEWEST, newest_venv, agent).rows()
    _no_broken_promise(rows)
    on = next(r for r in rows if "telemetry on" in r["mechanism"])
    assert on["observed"] is True and on["guard"] == "supported", on


def test_newest_code_security(newest_venv: confkit.Venv, agent: confkit.TestAgent) -> None:
    _no_broken_promise(confkit.run_code_security(NEWEST, newest_venv, agent).rows())


def test_newest_activation_matrix(
    newest_venv: confkit.Venv, agent: confkit.TestAgent, agent_no_rc: confkit.TestAgent
) -> None:
    rows = confkit.run_activation(NEWEST.ddtrace, newest_venv, agent, agent_no_rc).rows()
    assert len(rows) == 6
    _no_broken_promise(rows)
    cell = {r["mechanism"]: r["observed"] for r in rows}
    assert cell[next(m for m in cell if m.startswith("DD_APPSEC_ENABLED=true; Agent with "))]
    assert not cell[next(m for m in cell if m.startswith("DD_APPSEC_ENABLED=false; Agent with "))]
