"""Run a demo app in a named deployment scenario and show what the guard says.

    python -m demo_apps.run SCENARIO [--strict] [--app APP] [--check] [--raw]
    python -m demo_apps.run --all            # every scenario, app and mode, checked
    python -m demo_apps.run --list

The Django and Flask apps are served by their real servers (``manage.py runserver``,
``flask run``) on a free loopback port, answer one ``GET /``, and are stopped. The Lambda
function runs under AWS's ``awslambdaric`` against the loopback Runtime API of the tests
(tests/helpers/lambda_runtime_api.py), is invoked three times, and is stopped.

Exit status: without ``--check``, 0 when the app booted and 1 when the guard refused it (as
the app's own start would); with ``--check`` (and ``--all``), 0 when every run gave the outcome
documented in demo_apps/scenarios.py and the README, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from tests.helpers.agent import free_port, run_test_agent, stop_process
from tests.helpers.env import without_machine_settings

from .scenarios import SCENARIOS, Scenario

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = ROOT / "src"
LOOPBACK = "127.0.0.1"
BOOT_TIMEOUT = 60.0
INVOCATIONS = 3


@dataclass
class Outcome:
    scenario: Scenario
    app: str
    strict: bool
    command: List[str]
    env: Dict[str, str]  # what the scenario set (shown to the user)
    booted: bool = False
    exit_code: Optional[int] = None
    http_status: Optional[int] = None
    answers: List[Any] = field(default_factory=list)  # HTTP body or Lambda responses
    refusal: str = ""  # the guard's GuardError message
    stdout: str = ""
    stderr: str = ""

    @property
    def events(self) -> List[Dict[str, Any]]:
        out = []
        for line in self.stdout.splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if str(event.get("event", "")).startswith("appsec_guard."):
                out.append(event)
        return out

    def findings(self) -> List[Dict[str, Any]]:
        return [e for e in self.events if e["event"] == "appsec_guard.finding"]

    def summaries(self) -> List[Dict[str, Any]]:
        return [e for e in self.events if e["event"] == "appsec_guard.summary"]


# -- processes -------------------------------------------------------------------------------


def child_env(scenario_env: Dict[str, str], app_dir: Path) -> Dict[str, str]:
    env = without_machine_settings(os.environ)
    paths = [str(SRC)] if (SRC / "appsec_guard").is_dir() else []
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(app_dir)])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(scenario_env)
    return env


@contextlib.contextmanager
def agent_for(scenario: Scenario) -> Iterator[Dict[str, str]]:
    """Start the scenario's Datadog Agent; yield the variables that point the app at it."""
    if scenario.agent == "test-agent":
        with run_test_agent() as port:
            yield {"DD_TRACE_AGENT_URL": f"http://{LOOPBACK}:{port}"}
    elif scenario.agent == "down":
        yield {"DD_AGENT_HOST": LOOPBACK, "DD_TRACE_AGENT_PORT": str(free_port())}
    else:
        yield {}


def _read(f: Any) -> str:
    f.seek(0)
    return str(f.read().decode("utf-8", "replace"))


def _refusal(text: str) -> str:
    """The guard's message from a traceback or an init error: from 'appsec-guard refused'."""
    start = text.find("appsec-guard refused to boot")
    if start < 0:
        return ""
    lines = text[start:].splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        if not line.startswith("  "):
            break
        out.append(line)
    return "\n".join(out)


def run_web(scenario: Scenario, app: str, strict: bool, agent_env: Dict[str, str]) -> Outcome:
    port = free_port()
    if app == "django":
        app_dir = HERE / "django_app"
        args = ["manage.py", "runserver", "--noreload", f"{LOOPBACK}:{port}"]
    else:
        app_dir = HERE / "flask_app"
        args = ["-m", "flask", "--app", "demo_flask", "run", "--no-reload"]
        args += ["--host", LOOPBACK, "--port", str(port)]
    shown = {**scenario.env, **agent_env, "APPSEC_GUARD_MODE": "strict" if strict else "warn"}
    outcome = Outcome(scenario, app, strict, ["python", *args], shown)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=str(app_dir),
            env=child_env(shown, app_dir),
            stdout=out,
            stderr=err,
        )
        try:
            deadline = time.monotonic() + BOOT_TIMEOUT
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    with socket.create_connection((LOOPBACK, port), timeout=1):
                        outcome.booted = True
                        break
                except OSError:
                    time.sleep(0.05)
            if outcome.booted:
                url = f"http://{LOOPBACK}:{port}/"
                try:
                    with urllib.request.urlopen(url, timeout=10) as resp:  # loopback only
                        outcome.http_status = resp.status
                        outcome.answers.append(json.loads(resp.read()))
                except urllib.error.HTTPError as e:
                    outcome.http_status = e.code
        finally:
            code = stop_process(proc)
        outcome.exit_code = None if outcome.booted else code
        outcome.stdout, outcome.stderr = _read(out), _read(err)
    outcome.refusal = _refusal(outcome.stderr)
    return outcome


def run_lambda(scenario: Scenario, app: str, strict: bool) -> Outcome:
    from tests.helpers.lambda_runtime_api import RuntimeAPI

    app_dir = HERE / "lambda_fn"
    if app == "lambda":
        handler, extra = "decorated.handler", {}
    else:
        handler = "appsec_guard.aws_lambda.handler"
        extra = {"APPSEC_GUARD_LAMBDA_HANDLER": "plain.handler"}
    shown = {**scenario.env, **extra, "APPSEC_GUARD_MODE": "strict" if strict else "warn"}
    args = ["-m", "awslambdaric", handler]
    outcome = Outcome(scenario, app, strict, ["python", *args], shown)
    events = [{"n": i} for i in range(INVOCATIONS)]
    with RuntimeAPI(events, idle_timeout=BOOT_TIMEOUT) as api, tempfile.TemporaryFile() as out:
        with tempfile.TemporaryFile() as err:
            env = child_env({**shown, "AWS_LAMBDA_RUNTIME_API": api.address}, app_dir)
            proc = subprocess.Popen(
                [sys.executable, *args], cwd=str(app_dir), env=env, stdout=out, stderr=err
            )
            try:
                api.wait_for(len(events), timeout=BOOT_TIMEOUT)
                if api.init_errors:  # the runtime exits after reporting it
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=30)
            finally:
                code = stop_process(proc)
            outcome.stdout, outcome.stderr = _read(out), _read(err)
        outcome.booted = not api.init_errors
        outcome.exit_code = None if outcome.booted else code
        outcome.answers = [api.responses[k] for k in sorted(api.responses)]
        for init_error in api.init_errors:
            body = init_error.get("body") or {}
            message = body.get("errorMessage", "") if isinstance(body, dict) else str(body)
            outcome.refusal = f"init error {init_error.get('type')}: {message}"
    return outcome


def run(scenario: Scenario, app: Optional[str] = None, strict: bool = False) -> Outcome:
    app = app or scenario.apps[0]
    if app not in scenario.apps:
        raise SystemExit(
            f"demo_apps.run: scenario {scenario.name!r} runs on {', '.join(scenario.apps)}, not {app!r}"
        )
    if app.startswith("lambda"):
        return run_lambda(scenario, app, strict)
    with agent_for(scenario) as agent_env:
        return run_web(scenario, app, strict, agent_env)


# -- the documented outcome ------------------------------------------------------------------


def _in_container() -> bool:
    return any(os.path.exists(p) for p in ("/.dockerenv", "/run/.containerenv"))


def expected_deployments(scenario: Scenario) -> Tuple[str, ...]:
    if scenario.deployment == "docker" and not _in_container():
        return ("docker", "host")  # see the scenario's note: this machine decides
    return (scenario.deployment,)


def problems(o: Outcome) -> List[str]:
    """How the outcome differs from the documented one (empty: as documented)."""
    s = o.scenario
    found: List[str] = []
    summaries = o.summaries()
    if len(summaries) != 1:
        found.append(f"expected one appsec_guard.summary in the logs, got {len(summaries)}")
        return found
    summary = summaries[0]
    if summary.get("mode") != ("strict" if o.strict else "warn"):
        found.append(f"summary mode is {summary.get('mode')!r}")
    if summary.get("deployment") not in expected_deployments(s):
        found.append(f"deployment {summary.get('deployment')!r}, expected {s.deployment!r}")
    if summary.get("remote_config") != s.remote_config:
        found.append(
            f"remote_config {summary.get('remote_config')!r}, expected {s.remote_config!r}"
        )
    if sorted(summary.get("failed") or []) != sorted(s.failed):
        found.append(f"failed capabilities {summary.get('failed')}, expected {list(s.failed)}")
    caps = summary.get("capabilities") or {}
    for cap in s.supported:
        if caps.get(cap) != "supported":
            found.append(f"{cap} is {caps.get(cap)!r}, expected 'supported'")
    errors = sorted({f["finding_id"] for f in o.findings() if f.get("severity") == "error"})
    if errors != sorted(s.errors):
        found.append(f"error findings {errors}, expected {sorted(s.errors)}")
    if o.strict and s.strict_refuses:
        if o.booted:
            found.append("strict mode booted; expected a refusal")
        if o.exit_code in (None, 0):
            found.append(f"exit status {o.exit_code}, expected non-zero")
        if "refused to boot" not in o.refusal:
            found.append("no 'appsec-guard refused to boot' message")
        for finding_id in s.errors:
            if f"[{finding_id}]" not in o.refusal:
                found.append(f"the refusal does not name {finding_id}")
    else:
        found.extend(_serving_problems(o))
    return found


def _serving_problems(o: Outcome) -> List[str]:
    if not o.booted:
        return [f"did not boot (exit {o.exit_code}): {o.refusal or o.stderr[-300:]}"]
    if o.app.startswith("lambda"):
        if len(o.answers) != INVOCATIONS:
            return [f"{len(o.answers)} Lambda answers, expected {INVOCATIONS}"]
        if [a.get("echo") for a in o.answers] != [{"n": i} for i in range(INVOCATIONS)]:
            return [f"Lambda answers {o.answers}"]
        return []
    if o.http_status != 200 or not o.answers:
        return [f"HTTP status {o.http_status}, expected 200"]
    body = o.answers[0]
    want = {"app": o.app, "ok": not o.scenario.failed}
    got = {k: body.get(k) for k in want}
    return [] if got == want else [f"HTTP answer {got}, expected {want}"]


# -- showing it ------------------------------------------------------------------------------


def render(o: Outcome, raw: bool = False) -> str:
    mode = "strict" if o.strict else "warn"
    lines = [f"== {o.scenario.name} ({o.app}, {mode}): {o.scenario.title}"]
    lines.append("environment: " + " ".join(f"{k}={v}" for k, v in o.env.items()))
    lines.append("command:     " + " ".join(o.command))
    if raw:
        lines.append("-- the app's stdout --")
        lines.extend(o.stdout.rstrip().splitlines())
        lines.append("-- the app's stderr --")
        lines.extend(o.stderr.rstrip().splitlines())
        lines.append("--")
    lines.append(f"guard logs ({len(o.events)} JSON events on the app's stdout; --raw shows them):")
    for f in o.findings():
        cap = f" [{f['capability']}]" if f.get("capability") else ""
        lines.append(f"  {f['severity']:<7} {f['finding_id']}{cap} {f['message']}")
        if f["severity"] != "info":
            lines.append(f"          fix: {f['remediation']}")
    for s in o.summaries():
        lines.append(
            f"  summary ok={json.dumps(s.get('ok'))} failed={','.join(s.get('failed') or []) or '-'}"
            f" deployment={s.get('deployment')} remote_config={s.get('remote_config')}"
            f" framework={s.get('framework')} ddtrace={s.get('ddtrace')}"
        )
    if o.booted and o.app.startswith("lambda"):
        lines.append(f"invocations: {len(o.answers)} answered: {json.dumps(o.answers)}")
    elif o.booted:
        lines.append(f"GET / -> {o.http_status} {json.dumps(o.answers[0] if o.answers else None)}")
    else:
        lines.append(f"refused to boot (exit status {o.exit_code}):")
        lines.extend("  " + line for line in (o.refusal or o.stderr[-1000:]).splitlines())
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo_apps.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("scenario", nargs="?", choices=sorted(SCENARIOS))
    parser.add_argument("--strict", action="store_true", help="APPSEC_GUARD_MODE=strict")
    parser.add_argument("--app", help="which demo app (default: the scenario's first)")
    parser.add_argument("--check", action="store_true", help="exit 1 unless as documented")
    parser.add_argument("--all", action="store_true", help="every scenario, app and mode")
    parser.add_argument("--raw", action="store_true", help="show the app's whole output")
    parser.add_argument("--list", action="store_true", help="list the scenarios")
    args = parser.parse_args(argv)
    if args.list:
        for s in SCENARIOS.values():
            print(f"{s.name:<20} apps: {', '.join(s.apps):<24} {s.title}")
        return 0
    if args.all:
        runs = [(s, a, m) for s in SCENARIOS.values() for a in s.apps for m in (False, True)]
    elif args.scenario:
        runs = [(SCENARIOS[args.scenario], args.app, args.strict)]
    else:
        parser.error("name a scenario, or --all, or --list")
    failures = 0
    refused = False
    for scenario, app, strict in runs:
        o = run(scenario, app, strict)
        refused = refused or not o.booted
        print(render(o, raw=args.raw))
        if args.check or args.all:
            bad = problems(o)
            print("outcome: as documented" if not bad else "outcome: NOT as documented")
            for p in bad:
                print(f"  - {p}")
            failures += bool(bad)
        else:
            print(f"outcome: {scenario.outcome}")
        print()
    if args.check or args.all:
        print(f"{len(runs) - failures}/{len(runs)} runs as documented")
        return 1 if failures else 0
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
