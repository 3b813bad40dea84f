"""The demo scenarios (demo_apps/), each run for real and checked against its documented outcome:
Django and Flask served by their own servers and asked one request, the Lambda function run
under awslambdaric against the loopback Runtime API."""

from __future__ import annotations

import dataclasses

import pytest
from demo_apps import run as demo
from demo_apps.scenarios import SCENARIOS

pytestmark = pytest.mark.slow

RUNS = [
    pytest.param(name, app, strict, id=f"{name}-{app}-{'strict' if strict else 'warn'}")
    for name, s in SCENARIOS.items()
    for app in s.apps
    for strict in (False, True)
]


@pytest.mark.parametrize(("name", "app", "strict"), RUNS)
def test_scenario_gives_its_documented_outcome(name, app, strict):
    scenario = SCENARIOS[name]
    o = demo.run(scenario, app, strict)
    assert demo.problems(o) == [], demo.render(o, raw=True)
    [summary] = o.summaries()
    entries = {
        "django": ("django",),
        "flask": ("flask",),
        # `import appsec_guard` (for the decorator) already runs the guard at import time, so
        # the decorated function's logs say entry=import; the redirect handler's say lambda.
        "lambda": ("import", "lambda"),
        "lambda-redirect": ("lambda",),
    }
    assert summary["entry"] in entries[app]
    assert sorted(summary["failed"]) == sorted(scenario.failed)
    if strict and scenario.failed:
        assert not o.booted
        assert o.exit_code not in (None, 0)
        assert "appsec-guard refused to boot (APPSEC_GUARD_MODE=strict)" in o.refusal
    elif app.startswith("lambda"):
        assert len(o.answers) == demo.INVOCATIONS  # every invocation answered, one guard run
    else:
        assert o.http_status == 200
        assert o.answers[0]["app"] == app
        assert o.answers[0]["deployment"] == summary["deployment"]


def test_the_check_catches_an_outcome_that_is_not_the_documented_one():
    # The same run judged against a wrong expectation: the checker must say so.
    real = SCENARIOS["k8s-rc-off"]
    wrong = dataclasses.replace(real, errors=(), failed=(), remote_config="enabled")
    o = demo.run(wrong, "flask", strict=True)
    found = demo.problems(o)
    assert any("remote_config 'disabled', expected 'enabled'" in p for p in found)
    assert any("error findings ['AG500'], expected []" in p for p in found)
    assert any(p.startswith("did not boot (exit 1)") for p in found)


def test_unknown_scenario_and_wrong_app_are_one_line_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        demo.main(["nowhere"])
    assert exc.value.code == 2
    assert "invalid choice: 'nowhere'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        demo.main(["k8s-rc-off", "--app", "lambda"])
    assert str(exc.value.code) == (
        "demo_apps.run: scenario 'k8s-rc-off' runs on flask, django, not 'lambda'"
    )
