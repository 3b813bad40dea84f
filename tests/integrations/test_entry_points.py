"""Issue 13: one environment, one set of verdicts, whichever entry point runs the guard.

The same APPSEC_GUARD_* policy and DD_* settings (an AWS Lambda environment, so that the
Lambda forms run it too) through the command, `import appsec_guard`, the Django app, the
Flask extension, and both Lambda forms under the real awslambdaric: each entry point's
verdicts (status, what will be active, requested, required per capability) and its findings'
ids are the same.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

import pytest

from .conftest import LAYER_99, PROJECTS, child_env, guard_events, run_py
from .test_lambda import FUNCTION, run_function

pytestmark = pytest.mark.slow

ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "guarded",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
    "DD_APPSEC_ENABLED": "true",
    "DD_APPSEC_SCA_ENABLED": "true",
    "APPSEC_GUARD_REQUIRE": "api_security",
    "APPSEC_GUARD_MATRIX": str(LAYER_99),
    "APPSEC_GUARD_SILENCE": "AG102",
}
# The web framework is a fact of the entry point (Django's app runs Django), not of the
# environment: the capabilities whose verdict depends on it are left out of the comparison.
FRAMEWORK_BOUND = {"user_event_tracking"}
Verdicts = Dict[str, Tuple[str, str, bool, bool]]


def _from_summary(stdout: str) -> Tuple[Verdicts, List[Dict[str, Any]]]:
    summaries = guard_events(stdout, "appsec_guard.summary")
    assert summaries, stdout
    last = summaries[-1]
    verdicts = {
        cap: (status, last["active"][cap], cap in last["requested"], cap in last["required"])
        for cap, status in last["capabilities"].items()
    }
    return verdicts, guard_events(stdout, "appsec_guard.finding")


def command() -> Tuple[Verdicts, List[Dict[str, Any]]]:
    res = run_py(["-m", "appsec_guard", "check", "--format", "json", "--no-probe"], child_env(ENV))
    assert res.returncode == 1, res.stderr  # api_security is required and unsupported
    doc = json.loads(res.stdout)
    verdicts = {
        cap: (v["status"], v["active"], v["requested"], v["required"])
        for cap, v in doc["capabilities"].items()
    }
    return verdicts, doc["findings"]


def import_() -> Tuple[Verdicts, List[Dict[str, Any]]]:
    res = run_py(["-c", "import structlog_json; import appsec_guard"], child_env(ENV))
    assert res.returncode == 0, res.stderr
    return _from_summary(res.stdout)


def django() -> Tuple[Verdicts, List[Dict[str, Any]]]:
    project = PROJECTS / "djangoproj"
    res = run_py(["manage.py", "check"], child_env(ENV, project), cwd=project)
    assert res.returncode == 0, res.stderr
    assert "--assume" not in res.stderr  # the system checks' hints are Django's words
    return _from_summary(res.stdout)


def flask() -> Tuple[Verdicts, List[Dict[str, Any]]]:
    res = run_py(
        ["-c", "import flaskapp; flaskapp.create_app()"],
        child_env(ENV, PROJECTS / "flaskapp"),
    )
    assert res.returncode == 0, res.stderr
    return _from_summary(res.stdout)


def _lambda(handler: str, extra: Dict[str, str]) -> Tuple[Verdicts, List[Dict[str, Any]]]:
    api, _, out, err = run_function(handler, [{"n": 1}], {**ENV, **extra})
    assert not api.init_errors, err
    return _from_summary(out)


def lambda_decorator() -> Tuple[Verdicts, List[Dict[str, Any]]]:
    return _lambda("decorated.handler", {})


def lambda_redirect() -> Tuple[Verdicts, List[Dict[str, Any]]]:
    return _lambda(
        "appsec_guard.aws_lambda.handler", {"APPSEC_GUARD_LAMBDA_HANDLER": "plain.handler"}
    )


ENTRY_POINTS = [import_, django, flask, lambda_decorator, lambda_redirect]
assert FUNCTION.is_dir()


@pytest.fixture(scope="module")
def reference() -> Tuple[Verdicts, List[Dict[str, Any]]]:
    return command()


@pytest.mark.parametrize("entry_point", ENTRY_POINTS, ids=lambda f: f.__name__.strip("_"))
def test_same_verdicts_as_the_command(entry_point: Any, reference: Any) -> None:
    expected, expected_findings = reference
    verdicts, findings = entry_point()
    keep = set(expected) - FRAMEWORK_BOUND
    assert {c: verdicts[c] for c in keep} == {c: expected[c] for c in keep}
    status, _active, requested, required = verdicts["api_security"]
    assert (status, requested, required) == ("unsupported", False, True)
    assert verdicts["threat_detection"][:2] == ("supported", "on")  # DD_APPSEC_ENABLED=true
    ids = {f.get("finding_id", f.get("id")) for f in findings if f.get("capability") in keep}
    assert ids == {f["id"] for f in expected_findings if f["capability"] in keep}
    assert "AG102" not in {f.get("finding_id") for f in findings}  # silenced everywhere
    for f in findings:  # worded for the entry point: only the command has --assume
        assert "--assume" not in (f.get("remediation") or ""), f
