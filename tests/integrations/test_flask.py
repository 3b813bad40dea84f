"""The Flask extension: the real app factory, test client, FlaskCliRunner, a real server."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appsec_guard import GuardError, session
from tests.helpers.agent import free_port

from .conftest import PROJECTS, child_env, get_json, guard_events

FAILING = {"APPSEC_GUARD_REQUIRE": "user_event_tracking"}  # no auth integration for Flask


@pytest.fixture
def create_app(monkeypatch, fresh_state):
    monkeypatch.syspath_prepend(str(PROJECTS / "flaskapp"))
    monkeypatch.syspath_prepend(str(PROJECTS))
    import flaskapp
    import structlog

    structlog.reset_defaults()  # the in-process tests read stdlib records (caplog)
    return flaskapp.create_app


def test_warn_logs_and_stores_the_report(create_app, caplog):
    caplog.set_level(logging.INFO, logger="appsec_guard")
    app = create_app(FAILING)
    report = app.extensions["appsec_guard"]
    assert report.stack.framework.name == "flask"
    assert report.verdict("user_event_tracking").status.value == "unsupported"
    events = [r.appsec_guard for r in caplog.records if hasattr(r, "appsec_guard")]
    ag304 = [e for e in events if e.get("finding_id") == "AG304"]
    assert ag304
    assert ag304[0]["severity"] == "error"
    assert ag304[0]["entry"] == "flask"
    assert events[-1]["event"] == "appsec_guard.summary"
    assert events[-1]["failed"] == ["user_event_tracking"]


def test_requests_run_no_guard_code(create_app):
    app = create_app(FAILING)
    runs = session.STATE.runs
    assert runs == 1
    client = app.test_client()
    for _ in range(50):
        assert client.get("/").json["hello"] == "flask"
    assert session.STATE.runs == runs
    hooks = [app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs]
    assert not any(
        "appsec_guard" in getattr(f, "__module__", "")
        for h in hooks
        for fs in h.values()
        for f in fs
    )


def test_strict_stops_app_creation(create_app):
    with pytest.raises(GuardError) as err:
        create_app({**FAILING, "APPSEC_GUARD_MODE": "strict"})
    text = str(err.value)
    assert "refused to boot" in text
    assert "[AG304]" in text
    assert "user_event_tracking" in text
    assert len(text.splitlines()) > 3


def test_code_argument_wins_over_config(create_app):
    from flask import Flask

    from appsec_guard.contrib.flask import AppSecGuard

    app = Flask("x")
    app.config.update({**FAILING, "APPSEC_GUARD_MODE": "strict"})
    guard = AppSecGuard(app, mode="warn")  # code > app.config > environment
    assert guard.report is not None
    assert not guard.report.ok


def test_off_does_nothing(create_app, caplog):
    caplog.set_level(logging.INFO, logger="appsec_guard")
    app = create_app({**FAILING, "APPSEC_GUARD_MODE": "off"})
    assert app.extensions["appsec_guard"] is None
    assert not [r for r in caplog.records if r.name == "appsec_guard"]


def test_cli_command(create_app, monkeypatch):
    app = create_app(FAILING)
    runner = app.test_cli_runner()
    monkeypatch.setenv("DD_TAGS", "service:shop,env:staging")
    result = runner.invoke(args=["appsec-guard", "check", "--format", "json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    assert doc["capabilities"]["user_event_tracking"]["status"] == "unsupported"
    assert (doc["service"], doc["env"], doc["version"]) == ("shop", "staging", None)
    ok = create_app({}).test_cli_runner().invoke(args=["appsec-guard", "check"])
    assert ok.exit_code == 0, ok.output
    assert "flask==" in ok.output


@pytest.mark.slow
def test_real_server(server_factory):
    port = free_port()
    env = child_env({"TEST_APPSEC_GUARD_REQUIRE": "user_event_tracking"}, PROJECTS / "flaskapp")
    server = server_factory(
        [
            "-m",
            "flask",
            "--app",
            "flaskapp:create_app",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env,
        PROJECTS / "flaskapp",
        port,
    )
    answers = [get_json(server.url("/")) for _ in range(20)]
    server.stop()
    # `flask run` builds the app once per load (each a guard run with its summary);
    # twenty requests add no run.
    summaries = guard_events(server.stdout, "appsec_guard.summary")
    assert {a["guard_runs"] for a in answers} == {len(summaries)}, server.stdout
    summary = summaries[-1]
    assert summary["framework"].startswith("flask==")
    assert summary["failed"] == ["user_event_tracking"]
    assert any(
        e["finding_id"] == "AG304" for e in guard_events(server.stdout, "appsec_guard.finding")
    )


def test_check_refresh_keeps_the_extensions_policy(create_app):
    from flask import Flask

    import appsec_guard
    from appsec_guard.contrib.flask import AppSecGuard

    app = Flask("x")
    app.config["APPSEC_GUARD_SILENCE"] = "AG600"
    AppSecGuard(app, require=["threat_protection"])
    before = session.STATE.policy
    assert before is not None
    assert before.require == {"threat_protection"} and before.silence == {"AG600"}
    report = appsec_guard.check(refresh=True)
    after = session.STATE.policy
    assert after is not None
    assert after.require == {"threat_protection"} and after.silence == {"AG600"}
    assert report.stack.framework is not None and report.stack.framework.name == "flask"
    assert report.verdict("threat_protection").required


def test_cli_command_in_off_mode_judges_with_the_apps_policy(create_app):
    from flask import Flask

    from appsec_guard.contrib.flask import AppSecGuard

    app = Flask("x")
    app.config.update({"APPSEC_GUARD_MODE": "off", "APPSEC_GUARD_SILENCE": "AG600"})
    AppSecGuard(app, require=["user_event_tracking"])
    assert app.extensions["appsec_guard"] is None
    result = app.test_cli_runner().invoke(args=["appsec-guard", "check", "--format", "json"])
    assert result.exit_code == 1, result.output  # the code policy's requirement fails
    policy = session.STATE.policy
    assert policy is not None
    assert policy.require == {"user_event_tracking"} and policy.silence == {"AG600"}


def test_environment_only_variables_in_config_are_not_bad_keys(create_app):
    from flask import Flask

    from appsec_guard.contrib.flask import AppSecGuard

    app = Flask("x")
    app.config.update({"APPSEC_GUARD_PROBE": "off", "APPSEC_GUARD_LAMBDA_HANDLER": "a.b"})
    guard = AppSecGuard(app)
    assert guard.report is not None
    assert not [f for f in guard.report.findings if f.id == "AG700"]


# Issue 13, case 5: strict mode refusing create_app: `flask appsec-guard check` prints the
# report and exits 1, with no traceback.
@pytest.mark.slow
def test_flask_check_command_under_strict_prints_the_report(tmp_path):
    flask = shutil.which("flask", path=str(Path(sys.executable).parent))
    assert flask is not None
    env = child_env(
        {
            "APPSEC_GUARD_MODE": "strict",
            "APPSEC_GUARD_REQUIRE": "api_security",
            "APPSEC_GUARD_MATRIX": str(PROJECTS / "api_security_needs_99.json"),
            "FLASK_APP": "flaskapp:create_app",
        },
        PROJECTS / "flaskapp",
    )
    for fmt in ("text", "json"):
        res = subprocess.run(
            [flask, "appsec-guard", "check", "--format", fmt],
            env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert res.returncode == 1, (res.stdout, res.stderr)
        assert "Traceback" not in res.stderr + res.stdout
        if fmt == "json":
            # after the app's own log lines (its structlog writes JSON lines to stdout)
            doc = json.loads(res.stdout[res.stdout.index("{\n") :])
            assert doc["capabilities"]["api_security"]["status"] == "unsupported"
        else:
            assert "FAIL: requested or required capabilities will not work: api_security" in (
                res.stdout
            )
