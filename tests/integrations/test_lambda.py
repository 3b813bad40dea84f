"""The Lambda wrappers under the real awslambdaric, against a Runtime API on loopback."""

from __future__ import annotations

import inspect
import subprocess
from typing import Any, Dict, List

import pytest

from appsec_guard import GuardError

from ..helpers.lambda_runtime_api import RuntimeAPI
from .conftest import PROJECTS, PYTHON, child_env, guard_events

pytestmark = pytest.mark.slow
FUNCTION = PROJECTS / "lambda_fn"
WARM = 25


def run_function(handler: str, events: List[Any], env: Dict[str, str]) -> Any:
    with RuntimeAPI(events) as api:
        extra = {
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "AWS_LAMBDA_FUNCTION_NAME": "guarded",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            **env,
        }
        proc = subprocess.Popen(
            [PYTHON, "-m", "awslambdaric", handler],
            env=child_env(extra, FUNCTION),
            cwd=str(FUNCTION),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            api.wait_for(len(events))
            if api.init_errors:  # the runtime exits after reporting it
                proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.terminate()
            try:
                out, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate(timeout=30)
        return api, proc.returncode, out, err


@pytest.mark.parametrize(
    ("handler", "env"),
    [
        ("decorated.handler", {}),
        ("appsec_guard.aws_lambda.handler", {"APPSEC_GUARD_LAMBDA_HANDLER": "plain.handler"}),
    ],
)
def test_cold_start_once_then_warm_invocations(handler, env):
    events = [{"n": i} for i in range(WARM)]
    api, _, out, err = run_function(
        handler, events, {"APPSEC_GUARD_REQUIRE": "user_event_tracking", **env}
    )
    assert not api.init_errors, err
    assert len(api.responses) == WARM, err
    answers = sorted(api.responses.values(), key=lambda a: a["echo"]["n"])
    assert [a["echo"] for a in answers] == events  # the handler's return value, unchanged
    assert {a["guard_runs"] for a in answers} == {1}  # one guard run for 25 invocations
    assert len(guard_events(out, "appsec_guard.summary")) == 1
    assert any(e["finding_id"] == "AG304" for e in guard_events(out, "appsec_guard.finding"))


@pytest.mark.parametrize(
    ("handler", "env"),
    [
        ("decorated.handler", {}),
        ("appsec_guard.aws_lambda.handler", {"APPSEC_GUARD_LAMBDA_HANDLER": "plain.handler"}),
    ],
)
def test_strict_fails_the_cold_start_as_an_init_error(handler, env):
    strict = {"APPSEC_GUARD_MODE": "strict", "APPSEC_GUARD_REQUIRE": "user_event_tracking", **env}
    api, code, out, err = run_function(handler, [{"n": 0}], strict)
    assert code == 1
    assert not api.responses
    [init_error] = api.init_errors
    assert init_error["type"] == "GuardError"
    assert "refused to boot" in init_error["body"]["errorMessage"]
    assert "[AG304]" in init_error["body"]["errorMessage"]
    assert "refused to boot" in out + err  # and in the function's logs


def test_redirect_without_target_is_an_init_error_with_a_clear_message():
    api, _code, _, _ = run_function("appsec_guard.aws_lambda.handler", [{"n": 0}], {})
    [init_error] = api.init_errors
    assert (
        "APPSEC_GUARD_LAMBDA_HANDLER='' is not 'module.function'"
        in init_error["body"]["errorMessage"]
    )


def test_off_runs_nothing():
    api, _, out, _ = run_function("decorated.handler", [{"n": 0}], {"APPSEC_GUARD_MODE": "off"})
    assert api.responses
    assert guard_events(out) == []


def test_decorator_keeps_signature_and_return(fresh_state, monkeypatch):
    import appsec_guard

    monkeypatch.setenv("APPSEC_GUARD_MODE", "warn")

    def handler(event: dict, context: object = None) -> dict:
        """doc"""
        return {"got": event}

    wrapped = appsec_guard.lambda_handler(handler)
    assert inspect.signature(wrapped) == inspect.signature(handler)
    assert wrapped.__name__ == "handler"
    assert wrapped.__doc__ == "doc"
    assert wrapped({"a": 1}) == {"got": {"a": 1}}


@pytest.mark.parametrize("target", ["plantedsecretmodule.handler", "json.plantedsecretmodule"])
def test_handler_errors_never_show_a_secret(monkeypatch, target):
    from appsec_guard import aws_lambda

    monkeypatch.setenv("MY_SERVICE_TOKEN", "plantedsecretmodule")
    monkeypatch.setenv("APPSEC_GUARD_LAMBDA_HANDLER", target)
    with pytest.raises(GuardError) as err:
        aws_lambda._load_handler()
    assert "planted" not in str(err.value)
    assert "***" in str(err.value)
