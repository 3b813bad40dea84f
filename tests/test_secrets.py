"""Planted secrets: every entry point and every output format, with the credential variables set
to marker values, and no marker anywhere in stdout, stderr, logs or exception text.

The markers also sit where a careless guard would echo them: a DD_* switch holding an API key
(AG601 quotes the bad value), a bad APPSEC_GUARD_REQUIRE entry that is an AWS secret (AG700
quotes it), and the userinfo of DD_TRACE_AGENT_URL (the probe's evidence names the Agent).
"""

from __future__ import annotations

import json
from typing import Callable, Dict, List

import pytest

from .helpers.agent import refused_port
from .integrations.conftest import LAYER_99, PROJECTS, child_env, run_py
from .integrations.test_lambda import run_function

pytestmark = pytest.mark.slow

SECRETS = {
    "DD_API_KEY": "plantedDdApiKey01",
    "DD_APP_KEY": "plantedDdAppKey02",
    "DD_APPLICATION_KEY": "plantedDdApplicationKey03",
    "AWS_ACCESS_KEY_ID": "AKIAPLANTED000000004",
    "AWS_SECRET_ACCESS_KEY": "plantedAwsSecret05/abc+def",
    "AWS_SESSION_TOKEN": "plantedAwsSessionToken06==",
}
MARKER = "planted"  # every planted value holds it (case-insensitive)


def planted_env(**extra: str) -> Dict[str, str]:
    return {
        **SECRETS,
        "DD_TRACE_AGENT_URL": f"http://plantedUser07:plantedPass08@127.0.0.1:{refused_port()}",
        "DD_APPSEC_ENABLED": "true",
        "DD_IAST_ENABLED": SECRETS["DD_APP_KEY"],  # a key pasted into a switch: AG601
        "APPSEC_GUARD_REQUIRE": f"threat_detection,{SECRETS['AWS_SECRET_ACCESS_KEY']}",  # AG700
        **extra,
    }


STRICT = {"APPSEC_GUARD_MODE": "strict", "APPSEC_GUARD_MATRIX": str(LAYER_99)}
STRICT_REQUIRE = f"api_security,{SECRETS['AWS_SECRET_ACCESS_KEY']}"


def _assert_clean(text: str) -> None:
    lowered = text.lower()
    assert MARKER not in lowered, [line for line in text.splitlines() if MARKER in line.lower()][:5]


def _py(code: str, **env: str) -> str:
    res = run_py(["-c", code], child_env(planted_env(**env)))
    return res.stdout + res.stderr


# --- one function per entry point; each returns everything it printed or raised -------------


def import_structlog() -> str:
    out = _py("import structlog_json, appsec_guard")
    assert "appsec_guard.summary" in out
    assert "AG601" in out and "AG700" in out  # the markers were quoted, then masked
    return out


def import_stdlib_logging() -> str:
    out = _py(
        "import logging; logging.basicConfig(level=logging.DEBUG, format='%(message)s %(appsec_guard)s')\n"
        "import appsec_guard"
    )
    assert "appsec_guard.summary" in out
    return out


def import_strict() -> str:
    out = _py("import structlog_json, appsec_guard", **STRICT, APPSEC_GUARD_REQUIRE=STRICT_REQUIRE)
    assert "GuardError: appsec-guard refused to boot" in out
    return out


def import_strict_fail_closed() -> str:
    out = _py(
        "import structlog_json, appsec_guard",
        APPSEC_GUARD_MODE="strict",
        APPSEC_GUARD_FAIL_CLOSED="true",
    )
    assert "GuardError: appsec-guard refused to boot" in out
    assert "[AG700]" in out  # the bad REQUIRE entry is in the refusal, masked
    return out


def check_in_code() -> str:
    code = (
        "import structlog_json, appsec_guard, json\n"
        "r = appsec_guard.check(refresh=True)\n"
        "print(json.dumps(r.to_dict()))\n"
        "try:\n"
        "    from appsec_guard import session; session.run('check', force=True)\n"
        "except appsec_guard.GuardError as e: print('ERR', e)\n"
    )
    return _py(code)


def django(mode: str) -> Callable[[], str]:
    def run() -> str:
        project = PROJECTS / "djangoproj"
        guard = {"mode": mode}
        env = planted_env(TEST_APPSEC_GUARD=json.dumps(guard))
        if mode == "strict":
            env.update(APPSEC_GUARD_MATRIX=str(LAYER_99), APPSEC_GUARD_REQUIRE=STRICT_REQUIRE)
        res = run_py(["manage.py", "check"], child_env(env, project), cwd=project)
        out = res.stdout + res.stderr
        if mode == "strict":
            assert "ImproperlyConfigured" in out
        else:
            assert "(AG601)" in out and "(AG700)" in out  # as system checks, masked
        return out

    return run


def flask_command(fmt: str) -> Callable[[], str]:
    def run() -> str:
        app = PROJECTS / "flaskapp"
        res = run_py(
            ["-m", "flask", "--app", "flaskapp:create_app", "appsec-guard", "check",
             "--format", fmt, "-v"],
            child_env(planted_env(), app),
            cwd=app,
        )  # fmt: skip
        assert "threat_detection" in res.stdout, res.stderr
        return res.stdout + res.stderr

    return run


def flask_strict() -> str:
    code = (
        "import structlog_json\n"
        "from flask import Flask\n"
        "from appsec_guard.contrib.flask import AppSecGuard\n"
        "try:\n"
        "    AppSecGuard(Flask('x'), mode='strict')\n"
        "except Exception as e: print(type(e).__name__, e)\n"
    )
    out = _py(code, APPSEC_GUARD_MATRIX=str(LAYER_99), APPSEC_GUARD_REQUIRE=STRICT_REQUIRE)
    assert "GuardError appsec-guard refused to boot" in out
    return out


def lambda_fn(handler: str, strict: bool) -> Callable[[], str]:
    def run() -> str:
        env = planted_env()
        env.pop("DD_TRACE_AGENT_URL")  # the runner sets the Lambda markers; no probe on Lambda
        if handler.startswith("appsec_guard"):
            env["APPSEC_GUARD_LAMBDA_HANDLER"] = "plain.handler"
        if strict:
            env.update(APPSEC_GUARD_MODE="strict", APPSEC_GUARD_REQUIRE=STRICT_REQUIRE)
            env["APPSEC_GUARD_REQUIRE"] = f"user_event_tracking,{SECRETS['AWS_SECRET_ACCESS_KEY']}"
        api, _, out, err = run_function(handler, [{"n": 0}], env)
        wire = json.dumps([api.responses, api.errors, api.init_errors], default=str)
        if strict:
            assert api.init_errors and "refused to boot" in wire
        else:
            assert api.responses and "appsec_guard.summary" in out
        return out + err + wire

    return run


def cli(*args: str) -> Callable[[], str]:
    def run() -> str:
        res = run_py(["-m", "appsec_guard", *args], child_env(planted_env()))
        assert res.returncode in (0, 1, 2), res.stderr
        assert res.stdout or res.stderr
        return res.stdout + res.stderr

    return run


ENTRY_POINTS: List[Callable[[], str]] = [
    import_structlog,
    import_stdlib_logging,
    import_strict,
    import_strict_fail_closed,
    check_in_code,
    django("warn"),
    django("strict"),
    flask_command("text"),
    flask_command("json"),
    flask_strict,
    lambda_fn("decorated.handler", strict=False),
    lambda_fn("appsec_guard.aws_lambda.handler", strict=False),
    lambda_fn("decorated.handler", strict=True),
    cli("check"),
    cli("check", "-v"),
    cli("check", "--format", "json"),
    cli("check", "--require", "api_security", "--assume", "ddtrace=1.0.0"),
    cli("plan", "--require", "api_security,threat_protection"),
    cli("plan", "--require", "api_security", "--format", "json"),
    cli("check", "--require", SECRETS["DD_API_KEY"]),  # a usage error quoting a secret
    cli("check", "--assume", f"ddtrace={SECRETS['AWS_ACCESS_KEY_ID']}"),
]
NAMES = [
    "import-structlog", "import-stdlib-logging", "import-strict", "import-strict-fail-closed",
    "check-in-code", "django-warn", "django-strict", "flask-command-text", "flask-command-json",
    "flask-strict", "lambda-decorator", "lambda-redirect", "lambda-strict", "cli-check-text",
    "cli-check-verbose", "cli-check-json", "cli-check-failing", "cli-plan-text", "cli-plan-json",
    "cli-usage-error-require", "cli-usage-error-assume",
]  # fmt: skip


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=NAMES)
def test_no_planted_secret_leaves(entry: Callable[[], str]) -> None:
    _assert_clean(entry())
