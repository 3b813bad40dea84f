"""The Django app, booted for real: manage.py check, and runserver answering HTTP."""

from __future__ import annotations

import json

import pytest

from tests.helpers.agent import free_port

from .conftest import LAYER_99, PROJECTS, child_env, get_json, guard_events, run_py

pytestmark = pytest.mark.slow
PROJECT = PROJECTS / "djangoproj"
FAILING = {"require": "api_security", "matrix": str(LAYER_99)}


def manage(*args: str, guard: object = None, silenced: str = "", **env: str):
    extra = {"TEST_APPSEC_GUARD": json.dumps(guard or {}), "TEST_SILENCED": silenced, **env}
    return run_py(["manage.py", *args], child_env(extra, PROJECT), cwd=PROJECT)


def test_warn_lists_findings_as_system_checks_and_logs_them():
    res = manage("check", guard=FAILING)
    # warn mode: listed as a Django Warning (runserver and migrate still start)
    assert res.returncode == 0, res.stderr
    assert "(AG101) [error] API Security needs ddtrace 99.0" in res.stderr
    assert run_fail_level_warning().returncode == 1
    findings = guard_events(res.stdout, "appsec_guard.finding")
    ag101 = [e for e in findings if e["finding_id"] == "AG101"]
    assert ag101
    assert ag101[0]["capability"] == "api_security"
    assert ag101[0]["status"] == "unsupported"
    assert ag101[0]["severity"] == "error"
    assert ag101[0]["framework"].startswith("django==")
    assert ag101[0]["entry"] == "django"
    [summary] = guard_events(res.stdout, "appsec_guard.summary")
    assert summary["failed"] == ["api_security"]
    assert summary["ok"] is False


def run_fail_level_warning():
    return manage("check", "--fail-level", "WARNING", guard=FAILING)


def test_silenced_system_checks_are_honoured():
    res = manage("check", guard=FAILING, silenced="AG101")
    assert "(AG101)" not in res.stderr
    assert res.returncode == 0, res.stderr
    # ... also by the guard itself: not logged, and strict mode lets the app boot
    assert not [
        e for e in guard_events(res.stdout, "appsec_guard.finding") if e["finding_id"] == "AG101"
    ]
    strict = manage("check", guard={**FAILING, "mode": "strict"}, silenced="AG101")
    assert strict.returncode == 0, strict.stderr


def test_check_deploy_lists_them_too():
    res = manage("check", "--deploy", guard=FAILING)
    assert "(AG101)" in res.stderr


def test_strict_refuses_to_boot_with_the_guards_message():
    res = manage("check", guard={**FAILING, "mode": "strict"})
    assert res.returncode != 0
    assert "ImproperlyConfigured" in res.stderr
    assert "appsec-guard refused to boot" in res.stderr
    assert "[AG101]" in res.stderr
    assert "api_security" in res.stderr


def test_env_strict_is_overridden_by_settings_warn():
    # precedence: settings.APPSEC_GUARD wins over APPSEC_GUARD_MODE
    res = manage("check", guard={**FAILING, "mode": "warn"}, APPSEC_GUARD_MODE="strict")
    assert "ImproperlyConfigured" not in res.stderr
    assert "(AG101)" in res.stderr


def test_off_does_nothing():
    res = manage("check", guard={**FAILING, "mode": "off"})
    assert res.returncode == 0, res.stderr
    assert guard_events(res.stdout) == []
    assert "AG1" not in res.stderr


def test_bad_setting_is_a_finding_not_a_crash():
    res = manage("check", guard={"mode": "loud", "requier": "sca"})
    assert "Traceback" not in res.stderr
    ag700 = [
        e for e in guard_events(res.stdout, "appsec_guard.finding") if e["finding_id"] == "AG700"
    ]
    messages = " | ".join(e["message"] for e in ag700)
    assert "settings.APPSEC_GUARD['mode']: 'loud' is not a mode; using warn" in messages
    assert "'requier' is not a setting" in messages


def test_runserver_serves_and_requests_run_no_guard_code(server_factory):
    port = free_port()
    env = child_env({"TEST_APPSEC_GUARD": json.dumps(FAILING)}, PROJECT)
    server = server_factory(
        ["manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], env, PROJECT, port
    )
    answers = [get_json(server.url("/")) for _ in range(20)]
    server.stop()
    assert all(a["hello"] == "django" for a in answers)
    # The guard ran once at boot (ready()); twenty requests ran it zero more times.
    assert {a["guard_runs"] for a in answers} == {1}
    assert len(guard_events(server.stdout, "appsec_guard.summary")) == 1


def test_silenced_system_checks_add_to_the_environments_silence():
    res = manage("check", guard=FAILING, silenced="AG101", APPSEC_GUARD_SILENCE="AG400")
    assert res.returncode == 0, res.stderr
    [summary] = guard_events(res.stdout, "appsec_guard.summary")
    assert summary["silenced"] == ["AG101", "AG400"]
    # settings that set silence still win over the environment; SILENCED_SYSTEM_CHECKS adds
    res = manage(
        "check",
        guard={**FAILING, "silence": ["AG402"]},
        silenced="AG101",
        APPSEC_GUARD_SILENCE="AG400",
    )
    [summary] = guard_events(res.stdout, "appsec_guard.summary")
    assert summary["silenced"] == ["AG101", "AG402"]


def test_settings_that_are_not_a_dict_are_one_clear_finding():
    res = manage("check", guard="strict")
    assert res.returncode == 0, res.stderr
    messages = [
        e["message"]
        for e in guard_events(res.stdout, "appsec_guard.finding")
        if e["finding_id"] == "AG700"
    ]
    assert messages == ["settings.APPSEC_GUARD: 'strict' is not a dict; ignored"]


# Issue 13, case 2: `import appsec_guard` in manage.py, its Django hook, then the Django app:
# each finding is logged once for the process.
MANAGE_WITH_IMPORT = (
    "import os, sys\n"
    "import structlog_json\n"
    "import appsec_guard\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'djangoproj.settings')\n"
    "from django.core.management import execute_from_command_line\n"
    "execute_from_command_line(['manage.py', 'check'])\n"
)


def test_each_finding_is_logged_once_with_the_import_and_the_app():
    env = child_env(
        {"DD_APPSEC_ENABLED": "true", "DD_REMOTE_CONFIGURATION_ENABLED": "false"}, PROJECT
    )
    res = run_py(["-c", MANAGE_WITH_IMPORT], env, cwd=PROJECT)
    assert res.returncode == 0, res.stderr
    findings = guard_events(res.stdout, "appsec_guard.finding")
    ids = [e["finding_id"] for e in findings]
    assert ids.count("AG500") == 1, ids
    assert len(ids) == len(set(ids)), ids
    assert "(AG500)" in res.stderr  # the system check still lists it


# Issue 13, case 4: Django's checks word the remediation for Django (no --assume there).
def test_remote_configuration_unknown_is_worded_for_django():
    from tests.helpers.agent import refused_port

    res = manage(
        "check",
        DD_APPSEC_ENABLED="true",
        DD_TRACE_AGENT_URL=f"http://127.0.0.1:{refused_port()}",
    )
    assert res.returncode == 0, res.stderr
    assert "(AG502)" in res.stderr
    assert "make the Agent reachable at boot" in res.stderr
    assert "--assume" not in res.stderr
    (ag502,) = [e for e in guard_events(res.stdout) if e.get("finding_id") == "AG502"]
    assert "--assume" not in ag502["remediation"]
