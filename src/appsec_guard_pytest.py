"""appsec-guard's pytest plugin, registered through the ``pytest11`` entry point.

- ``--appsec-guard-require CAP[,CAP...]`` (or the ini option ``appsec_guard_require``):
  before any test runs, judge the test environment's stack (detected, as in production) and
  fail the session when a required capability is unsupported on it.
- ``appsec_guard_report``: the guard's report for the test process (``appsec_guard.check()``;
  in strict mode the report of the refusal, not the exception).
- ``appsec_guard_what_if``: judge a stack built with ``appsec_guard.testing.make_stack``:
  ``appsec_guard_what_if(deployment="lambda", require=["sca"])``.

This module lives outside the ``appsec_guard`` package on purpose: loading it imports nothing
of the guard, so a test run where nobody asks for it neither runs the guard nor changes what
``import appsec_guard`` does later (it still runs the guard once for the process). When asked,
it imports the package as the integrations do, without the import-time run.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Optional

import pytest

if TYPE_CHECKING:
    from appsec_guard.model import Report

_OPTION = "--appsec-guard-require"
_INI = "appsec_guard_require"
_REPORT = pytest.StashKey["Report"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("appsec-guard", "Datadog AppSec capabilities of the test stack")
    group.addoption(
        _OPTION,
        action="append",
        default=[],
        metavar="CAP[,CAP...]",
        help="fail the session when the test environment's stack cannot run these capabilities "
        "(threat_detection, threat_protection, sca, ...)",
    )
    parser.addini(_INI, "capabilities --appsec-guard-require adds by default", default="")


def _required(config: pytest.Config) -> List[str]:
    values = [*config.getoption(_OPTION), str(config.getini(_INI) or "")]
    caps: List[str] = []
    for value in values:
        for cap in value.replace(" ", ",").split(","):
            cap = cap.strip().lower()
            if cap and cap not in caps:
                caps.append(cap)
    return caps


def _import_quietly() -> None:
    """Import the package the way the integrations do, through ``appsec_guard.contrib``: that
    import does not run the guard (a plain ``import appsec_guard`` or any other submodule
    would, and in strict mode would refuse right there). The plugin judges on its own; the
    report fixture runs the guard for the process through ``appsec_guard.check()``."""
    import appsec_guard.contrib  # noqa: F401


def pytest_sessionstart(session: pytest.Session) -> None:
    caps = _required(session.config)
    if not caps:
        return  # not asked: the guard does not run
    _import_quietly()
    from appsec_guard.guard import assess
    from appsec_guard.matrix import load
    from appsec_guard.model import Status

    matrix = load()
    unknown = [c for c in caps if c not in matrix.capability_ids]
    if unknown:
        raise pytest.UsageError(
            f"{_OPTION}: {unknown[0]!r} is not a capability; choose from "
            + ", ".join(matrix.capability_ids)
        )
    report = assess(required=caps, matrix=matrix)
    session.config.stash[_REPORT] = report
    failed = [v for v in report.verdicts if v.required and v.status is Status.UNSUPPORTED]
    if failed:
        reasons = "; ".join(f"{v.capability}: {v.reasons[0] if v.reasons else 'unsupported'}"
                            for v in failed)  # fmt: skip
        pytest.exit(
            f"appsec-guard: the test stack cannot run the required capabilities ({reasons})",
            returncode=pytest.ExitCode.TESTS_FAILED,
        )


def pytest_report_header(config: pytest.Config) -> Optional[str]:
    report = config.stash.get(_REPORT, None)
    if report is None:
        return None
    shown = ", ".join(f"{v.capability} {v.status.value}" for v in report.verdicts if v.required)
    return f"appsec-guard: {shown} (ddtrace {report.stack.ddtrace or 'not installed'})"


@pytest.fixture(scope="session")
def appsec_guard_report() -> Report:
    """The guard's report for this test process, as ``appsec_guard.check()`` gives it."""
    try:
        import appsec_guard  # runs the guard once for the process, if nothing has yet

        return appsec_guard.check()
    except Exception as exc:
        # Strict mode refused, at the import or in check(): the report says why. Any import
        # of the package runs the guard, so GuardError is known only once it was raised.
        errors = sys.modules.get("appsec_guard.errors")
        if errors is None or not isinstance(exc, errors.GuardError) or exc.report is None:
            raise
        refused: Report = exc.report
        return refused


@pytest.fixture
def appsec_guard_what_if() -> Callable[..., Report]:
    """Judge a stack that is not this one: ``appsec_guard_what_if(ddtrace="1.18.3",
    deployment="lambda", request=["sca"], require=["threat_protection"])``; the other
    keywords are those of ``appsec_guard.testing.make_stack``."""
    _import_quietly()
    from appsec_guard.judge import judge
    from appsec_guard.matrix import load
    from appsec_guard.testing import make_stack

    matrix = load()

    def what_if(
        *, request: Iterable[str] = (), require: Iterable[str] = (), **facts: Any
    ) -> Report:
        return judge(make_stack(**facts), matrix, requested=request, required=require)

    return what_if
