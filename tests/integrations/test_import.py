"""`import appsec_guard`: once per process, not for submodule imports, threads, fork, hooks,
policy, secrets, and a broken emitter. Fresh interpreters for anything about import time."""

from __future__ import annotations

import json
import threading

import pytest

from appsec_guard import _process, policy

from .conftest import LAYER_99, child_env, guard_events, json_lines, run_py

SETUP = "import structlog_json; "
SECRET = "d3adb33fd3adb33fd3adb33fd3adb33f"  # planted marker, not a real key


def py(code: str, **env: str):
    return run_py(["-c", code], child_env(env))


def test_import_runs_the_guard_once():
    res = py(SETUP + "import appsec_guard; import appsec_guard; r = appsec_guard.check(); "
             "from appsec_guard import _process; print(_process.STATE.runs)")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert len(guard_events(res.stdout, "appsec_guard.summary")) == 1
    assert res.stdout.strip().splitlines()[-1] == "1"


@pytest.mark.parametrize(
    "args",
    [
        ["-c", SETUP + "import appsec_guard.cli"],
        ["-c", SETUP + "import appsec_guard.aws_lambda"],
        ["-c", SETUP + "import appsec_guard.contrib.flask"],
        ["-m", "appsec_guard", "check", "--format", "json"],
    ],
)
def test_submodule_imports_do_not_run_it(args):
    res = run_py(args, child_env())
    assert res.returncode == 0, res.stderr
    assert guard_events(res.stdout) == []
    if args[0] == "-m":  # the command's stdout is its JSON document, unpolluted
        assert json.loads(res.stdout)["schema_version"] == 2


def test_import_stays_cheap():
    res = py("import sys, appsec_guard; print(sorted(m for m in sys.modules if m.split('.')[0] "
             "in ('wrapt', 'structlog', 'django', 'flask', 'ddtrace') or m.startswith('appsec_guard.c') "
             "or m == 'appsec_guard.aws_lambda'))", APPSEC_GUARD_MODE="off")  # fmt: skip
    assert res.stdout.strip() == "[]", res.stdout


def test_strict_import_raises_guard_error():
    res = py(SETUP + "import appsec_guard", APPSEC_GUARD_MODE="strict",
             APPSEC_GUARD_REQUIRE="api_security", APPSEC_GUARD_MATRIX=str(LAYER_99))  # fmt: skip
    assert res.returncode == 1
    assert "appsec_guard.errors.GuardError: appsec-guard refused to boot" in res.stderr
    assert "[AG101]" in res.stderr


def test_later_framework_import_rejudges_and_logs_only_changes():
    res = py(SETUP + "import appsec_guard; import flask")
    summaries = guard_events(res.stdout, "appsec_guard.summary")
    assert [s.get("trigger") for s in summaries] == [None, "flask imported"]
    assert summaries[1]["framework"].startswith("flask==")
    first = {
        (e["finding_id"], e["message"])
        for e in guard_events(res.stdout, "appsec_guard.finding")[:3]
    }
    assert first  # findings logged at import
    keys = [
        (e["finding_id"], e.get("capability"), e["message"])
        for e in guard_events(res.stdout, "appsec_guard.finding")
    ]
    assert len(keys) == len(set(keys))  # nothing logged twice


def test_forked_child_does_not_log_again_unless_asked():
    code = (
        SETUP
        + "import os, appsec_guard\npid = os.fork()\nif pid == 0: os._exit(0)\nos.waitpid(pid, 0)"
    )
    assert len(guard_events(py(code).stdout, "appsec_guard.summary")) == 1
    asked = guard_events(
        py(code, APPSEC_GUARD_LOG_IN_CHILDREN="true").stdout, "appsec_guard.summary"
    )
    assert [s["entry"] for s in asked] == ["import", "fork"]


def test_secrets_never_leave():
    env = {
        "DD_API_KEY": SECRET,
        "AWS_SECRET_ACCESS_KEY": "planted-aws-secret-value-0123456789",
        "DD_TRACE_AGENT_URL": "http://user:planted-pw-42@127.0.0.1:1",
        "APPSEC_GUARD_MODE": "strict",
        "APPSEC_GUARD_REQUIRE": f"api_security,{SECRET}",
        "APPSEC_GUARD_MATRIX": str(LAYER_99),
    }
    res = py(SETUP + "import appsec_guard", **env)
    text = res.stdout + res.stderr
    assert "refused to boot" in text
    assert "AG700" in text
    for marker in (SECRET, "planted-aws-secret", "planted-pw-42"):
        assert marker not in text


def test_a_raising_processor_never_breaks_warn_mode():
    code = ("import structlog\n"
            "def boom(l, m, e): raise RuntimeError('processor down')\n"
            "structlog.configure(processors=[boom])\n"
            "import appsec_guard\nprint('BOOTED', [f.id for f in appsec_guard.check().findings if f.id == 'AG901'])")  # fmt: skip
    res = py(code)
    assert res.returncode == 0, res.stderr
    assert "BOOTED ['AG901']" in res.stdout
    assert "could not log" in res.stderr
    assert "RuntimeError: processor down" in res.stderr


def test_broken_user_matrix_is_ag701_and_the_shipped_matrix_is_kept(tmp_path):
    bad = tmp_path / "layer.json"
    bad.write_text('{"schema_version": 1,\n  "capabilities": [}\n')
    res = py(SETUP + "import appsec_guard", APPSEC_GUARD_MATRIX=str(bad))
    [ag701] = [
        e for e in guard_events(res.stdout, "appsec_guard.finding") if e["finding_id"] == "AG701"
    ]
    assert "layer.json:2:" in ag701["message"]
    assert "using the shipped matrix" in ag701["message"]
    assert json_lines(res.stdout)[-1]["capabilities"]["threat_detection"] == "supported"


def test_check_from_many_threads_runs_once(fresh_state, monkeypatch):
    monkeypatch.setenv("APPSEC_GUARD_MODE", "warn")
    results = []
    barrier = threading.Barrier(16)

    def worker():
        barrier.wait()
        results.append(_process.check())

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 16
    assert all(r is results[0] for r in results)
    assert _process.STATE.runs == 1


def test_policy_precedence_and_bad_values():
    env = {
        "APPSEC_GUARD_MODE": "strict",
        "APPSEC_GUARD_SILENCE": "AG101,XX9",
        "APPSEC_GUARD_FAIL_CLOSED": "maybe",
    }
    pol = policy.resolve({"mode": "off"}, {"mode": "warn", "require": "sca"}, env)
    assert pol.mode == "off"
    assert pol.origin("mode") == "argument mode="
    assert pol.require == {"sca"}
    assert pol.origin("require") == "settings['require']"
    assert pol.silence == {"AG101"}
    assert pol.fail_closed is False
    messages = [p.message for p in pol.problems]
    assert "APPSEC_GUARD_SILENCE: 'XX9' is not a finding id; ignored" in messages
    assert "APPSEC_GUARD_FAIL_CLOSED: 'maybe' is not a boolean; using false" in messages
    assert policy.resolve(None, {"mode": "warn"}, {"APPSEC_GUARD_MODE": "strict"}).mode == "warn"
    assert policy.resolve(None, None, {"APPSEC_GUARD_MODE": "Strict"}).mode == "strict"
    assert policy.resolve(None, None, {}).mode == "warn"
    unknown = policy.resolve(
        None, None, {"APPSEC_GUARD_REQUIRE": "sca,telepathy"}
    ).with_capabilities(["sca"])
    assert unknown.require == {"sca"}
    assert (
        unknown.problems[0].message
        == "APPSEC_GUARD_REQUIRE: 'telepathy' is not a capability; ignored"
    )
