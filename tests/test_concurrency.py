"""Concurrency, in fresh interpreters: many threads importing and checking at once, fork while
another thread holds the guard's lock, framework imports racing the post-import hooks."""

from __future__ import annotations

import json

import pytest

from .integrations.conftest import child_env, guard_events, run_py

pytestmark = pytest.mark.slow


def test_many_threads_import_and_check_at_once() -> None:
    code = (
        "import structlog_json, json, sys, threading\n"
        "barrier = threading.Barrier(32); reports = []\n"
        "def work():\n"
        "    barrier.wait()\n"
        "    import appsec_guard\n"
        "    reports.append(appsec_guard.check())\n"
        "threads = [threading.Thread(target=work) for _ in range(32)]\n"
        "[t.start() for t in threads]; [t.join(60) for t in threads]\n"
        "from appsec_guard import session\n"
        "print(json.dumps({'n': len(reports), 'ids': len({id(r) for r in reports}),"
        " 'runs': session.STATE.runs}))\n"
    )
    res = run_py(["-c", code], child_env())
    assert res.returncode == 0, res.stderr
    result = json.loads(res.stdout.strip().splitlines()[-1])
    assert result == {"n": 32, "ids": 1, "runs": 1}
    assert len(guard_events(res.stdout, "appsec_guard.summary")) == 1


FORK_WHILE_LOCKED = (
    "import structlog_json, os, sys, threading, json\n"
    "import appsec_guard\n"
    "from appsec_guard import session\n"
    "held, release = threading.Event(), threading.Event()\n"
    "def hold():\n"
    "    with session.STATE.lock:\n"
    "        held.set(); release.wait(30)\n"
    "t = threading.Thread(target=hold); t.start(); held.wait(30)\n"
    "parent_report = appsec_guard.check()  # cached: no lock needed\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    import signal; signal.alarm(20)  # a deadlocked child dies instead of lingering\n"
    "    same = appsec_guard.check() is parent_report\n"
    "    runs = session.STATE.runs\n"
    "    appsec_guard.check(refresh=True)  # takes the lock: must not wait for the parent's thread\n"
    "    print(json.dumps({'child_same': same, 'child_runs_before': runs,"
    " 'child_runs_after': session.STATE.runs}), flush=True)\n"
    "    os._exit(0)\n"
    "os.waitpid(pid, 0); release.set(); t.join(30)\n"
)


def test_fork_while_another_thread_holds_the_lock() -> None:
    res = run_py(["-c", FORK_WHILE_LOCKED], child_env(), timeout=60)
    assert res.returncode == 0, res.stderr
    child = [json.loads(line) for line in res.stdout.splitlines() if "child_same" in line]
    assert child == [{"child_same": True, "child_runs_before": 1, "child_runs_after": 2}]
    summaries = guard_events(res.stdout, "appsec_guard.summary")
    # the boot, then the child's explicit refresh (only what changed); no log at the fork
    assert [s["entry"] for s in summaries] == ["import", "check"]


def test_frameworks_imported_from_many_threads_fire_each_hook_once() -> None:
    code = (
        "import structlog_json, threading, sys\n"
        "import appsec_guard\n"
        "from appsec_guard import session\n"
        "barrier = threading.Barrier(16); errors = []\n"
        "def work(i):\n"
        "    barrier.wait()\n"
        "    try:\n"
        "        __import__('django' if i % 2 else 'flask')\n"
        "    except BaseException as e: errors.append(repr(e))\n"
        "threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]\n"
        "[t.start() for t in threads]; [t.join(60) for t in threads]\n"
        "assert not any(t.is_alive() for t in threads), 'deadlock'\n"
        "print('ERRORS', errors, sorted(session.STATE.hooked), session.STATE.runs,"
        " session.STATE.rejudged)\n"
    )
    res = run_py(["-c", code], child_env(), timeout=90)
    assert res.returncode == 0, res.stderr
    # one run (the boot), then each hook re-judges the framework only
    assert "ERRORS [] ['django', 'flask'] 1 2" in res.stdout
    triggers = [s.get("trigger") for s in guard_events(res.stdout, "appsec_guard.summary")]
    assert triggers[0] is None
    assert sorted(triggers[1:]) == ["django imported", "flask imported"]
    assert "Traceback" not in res.stderr
