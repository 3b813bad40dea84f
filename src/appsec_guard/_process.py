"""The guard's state in this process: one run at boot, a cached report, fork and thread safety.

Every entry point (``import appsec_guard``, the Django app, the Flask extension, the Lambda
wrapper, :func:`appsec_guard.check`) calls :func:`run`, which reads the policy, detects,
judges, logs and, in strict mode, raises :class:`GuardError`. Nothing else can leave it: an
internal error becomes a finding (``AG900``/``AG901``).

- Threads: one re-entrant lock around a run; :func:`check` returns the cached report.
- Fork: the pid of the run is recorded; a forked child (a gunicorn worker of a preloaded
  master) inherits the report and does not log it again unless
  ``APPSEC_GUARD_LOG_IN_CHILDREN=true``. The lock is re-created in the child.
- Later framework imports: wrapt post-import hooks for Django and Flask re-judge once the
  framework is imported and log only the findings that changed.
- The Agent probe (``APPSEC_GUARD_PROBE``): ``sync`` (default) asks the Agent within its
  deadline during the run; ``background`` judges Remote Configuration ``unknown`` at boot,
  asks the Agent in a daemon thread, then re-judges and logs what changed (with the
  summary's ``trigger="agent probe returned"``); ``off`` never asks. At most one background
  probe is in flight, and an answer whose run a later run superseded is dropped.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Set, Tuple

from . import policy as _policy
from .errors import GuardError
from .model import Active, Finding, Framework, Report, Severity, Stack, Status, Verdict

_FRAMEWORK_MODULES = ("django", "flask")
_GUARD_FAILURES = ("AG700", "AG701", "AG900", "AG901")
_Key = Tuple[str, Optional[str], str, str]
PROBE_MODES = ("sync", "background", "off")
PROBE_VARIABLE = "APPSEC_GUARD_PROBE"
_BACKGROUND_DETAIL = "asked in the background (APPSEC_GUARD_PROBE=background)"
_RemoteConfigAnswer = Tuple[Any, List[Any], List[Finding]]  # detect_remote_config's result


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.report: Optional[Report] = None
        self.policy: Optional[_policy.Policy] = None
        self.pid = 0
        self.emitted_pid = 0
        self.emitted: Set[_Key] = set()
        self.runs = 0  # guard runs in this process: tests and benchmarks count them
        self.integration: Optional[str] = None
        self.hooks: Set[str] = set()  # frameworks whose import hook is registered
        self.hooked: Set[str] = set()  # frameworks whose import hook has fired
        # background Agent probes that re-judged, failed or were dropped (each counted when no
        # probe is left in flight)
        self.background_probes = 0
        # run generation: a probe's answer is dropped when a later run superseded its run
        self.generation = 0
        self.probe_in_flight = False  # at most one background probe at a time
        # the latest run that wanted a probe while one was in flight: (generation, report, args)
        self.probe_next: Optional[Tuple[int, Report, Dict[str, Any]]] = None
        # the policy arguments of the last run: check(refresh=True) judges with them again
        self.last_args: Dict[str, Any] = {}
        # the scan _framework_version made for the integration's run, which detects with it
        self.scan: Any = None


STATE = _State()


def _after_fork_in_child() -> None:
    STATE.lock = threading.RLock()  # the parent's lock may have been held by another thread
    STATE.probe_in_flight, STATE.probe_next = False, None  # the probe thread stayed behind
    pol, report = STATE.policy, STATE.report
    if report is None or pol is None or pol.off or not pol.log_in_children:
        return
    with contextlib.suppress(Exception):  # never break a fork
        _emit_report(report, pol, list(report.findings), entry="fork", trigger="forked child")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _key(f: Finding) -> _Key:
    return (f.id, f.capability, f.message, f.severity.value)


def _framework_version(name: str) -> Framework:
    """The running framework as an integration knows it (read from metadata, not imported)."""
    try:
        from .detect.distributions import Distributions

        STATE.scan = Distributions.scan()
        dist = STATE.scan.get(name)
        version = dist.version if dist else None
    except Exception:
        version = None
    return Framework(name, version)


def probe_mode(environ: Optional[Mapping[str, str]] = None) -> Tuple[str, Optional[Finding]]:
    """``APPSEC_GUARD_PROBE``: sync (default), background or off; a bad value is AG700."""
    env = os.environ if environ is None else environ
    raw = env.get(PROBE_VARIABLE, "")
    value = raw.strip().lower()
    if not value:
        return "sync", None
    if value in PROBE_MODES:
        return value, None
    from ._emit import redact_text

    shown = redact_text(raw if len(raw) <= 80 else raw[:80] + "...")
    return "sync", Finding(
        "AG700",
        Severity.WARNING,
        None,
        f"{PROBE_VARIABLE}={shown!r} is not one of {', '.join(PROBE_MODES)}; using sync",
        f"set {PROBE_VARIABLE} to one of {', '.join(PROBE_MODES)}, or unset it",
    )


def guard_failure(source: str, exc: BaseException) -> Finding:
    from ._emit import redact_text

    return Finding(
        "AG900",
        Severity.WARNING,
        None,
        redact_text(f"{source} failed: {type(exc).__name__}: {exc}"),
        "report this to appsec-guard's maintainers; the facts it decides are judged unknown",
    )


def _unknown_report(required: FrozenSet[str], caps: Tuple[str, ...], problem: Finding) -> Report:
    from ._versions import parse
    from .model import Runtime

    zero = parse("0")
    assert zero is not None
    stack = Stack(Runtime("unknown", zero, "unknown", "unknown"), None, None)
    verdicts = tuple(
        Verdict(c, Status.UNKNOWN, required=c in required, reasons=(problem.message,)) for c in caps
    )
    return Report(stack, verdicts, (problem,))


def _judge(
    pol: _policy.Policy,
    framework_hint: Optional[Framework],
    environ: Optional[Mapping[str, str]],
    remote_config: Optional[_RemoteConfigAnswer] = None,
) -> Tuple[Report, _policy.Policy, bool]:
    """The report, the policy, and whether the Agent is still to be asked (background)."""
    from . import matrix as _matrix

    extra: List[Finding] = []
    mode, problem = probe_mode(environ)
    if problem is not None:
        extra.append(problem)
    try:
        matrix = _matrix.load()
    except Exception as exc:  # the shipped matrix itself: nothing to judge with
        failure = guard_failure("loading the shipped matrix", exc)
        return _unknown_report(pol.require, (), failure), pol, False
    if pol.matrix:
        try:
            matrix = _matrix.load([Path(p) for p in pol.matrix])
        except Exception as exc:
            from ._emit import redact_text

            extra.append(
                Finding(
                    "AG701",
                    Severity.WARNING,
                    None,
                    redact_text(f"{pol.origin('matrix')}: {exc}; using the shipped matrix"),
                    f"fix the file (appsec-guard matrix --format json prints a valid layer) "
                    f"or unset {pol.origin('matrix')}",
                )
            )
    pol = pol.with_capabilities(matrix.capability_ids)
    pending = False
    try:
        from .detect import ProbeOptions
        from .guard import assess

        assumed = None if remote_config is None else {"remote_config": remote_config[0]}
        scan, STATE.scan = STATE.scan, None
        report = assess(
            distributions=scan if framework_hint is not None else None,
            environ=environ,
            required=pol.require,
            matrix=matrix,
            framework_hint=framework_hint,
            assumed=assumed,
            probe=ProbeOptions(enabled=mode == "sync"),
        )
        if remote_config is not None:
            report, extra = _with_probe_answer(report, remote_config), extra + remote_config[2]
        elif mode == "background":
            report, pending = _probe_deferred(report)
    except Exception as exc:
        report = _unknown_report(
            pol.require, matrix.capability_ids, guard_failure("detection", exc)
        )
    findings = pol.problems + tuple(extra) + report.findings
    kept = tuple(f for f in findings if f.id not in pol.silence)
    return report.with_findings(kept), pol, pending


def _probe_deferred(report: Report) -> Tuple[Report, bool]:
    """Background mode: the probe was skipped; say so in the evidence. True when the Agent
    is to be asked (not when Remote Configuration is off, or the platform has none)."""
    from ._frozen import replace
    from .model import Evidence

    ev = report.stack.evidence
    skipped = [e for e in ev if e.fact == "remote_config" and e.source == "probe"]
    if not skipped:
        return report, False
    evidence = tuple(
        Evidence("remote_config", "probe", _BACKGROUND_DETAIL) if e in skipped else e for e in ev
    )
    return replace(report, stack=report.stack.with_facts(evidence=evidence)), True


def _with_probe_answer(report: Report, answer: _RemoteConfigAnswer) -> Report:
    """The re-judged report with the probe's own evidence instead of "assumed"."""
    from ._frozen import replace

    evidence = tuple(
        e
        for e in report.stack.evidence
        if not (e.fact == "remote_config" and e.source == "assumed")
    ) + tuple(answer[1])
    return replace(report, stack=report.stack.with_facts(evidence=evidence))


def _emit_report(
    report: Report,
    pol: _policy.Policy,
    findings: List[Finding],
    *,
    entry: str,
    trigger: Optional[str] = None,
) -> Report:
    from ._emit import emit

    problem = emit(
        report,
        findings,
        mode=pol.mode,
        entry=entry,
        trigger=trigger,
        silenced=sorted(pol.silence),
    )
    STATE.emitted.update(_key(f) for f in findings)
    STATE.emitted_pid = os.getpid()
    if problem is not None:
        report = report.with_findings((*report.findings, problem))
    return report


_ACTIVATION_IDS = {"AG610": Active.OFF, "AG611": Active.REMOTE, "AG612": Active.UNKNOWN}


def _refuses(v: Verdict, findings: List[Finding], pol: _policy.Policy) -> bool:
    """Whether strict mode refuses for this wanted capability: the stack cannot run it, or the
    settings leave it off (with fail_closed also unknown, beta, or left to Remote
    Configuration), each only while a finding that says so is not silenced."""
    stack = [f for f in findings if f.id not in _ACTIVATION_IDS]
    states = {_ACTIVATION_IDS[f.id] for f in findings if f.id in _ACTIVATION_IDS}
    refuse = (
        (Status.UNSUPPORTED, Status.UNKNOWN, Status.BETA)
        if pol.fail_closed
        else (Status.UNSUPPORTED,)
    )
    if v.status in refuse and stack:
        return True
    if v.active is Active.OFF and Active.OFF in states:
        return True
    return pol.fail_closed and v.active in states and v.active in (Active.REMOTE, Active.UNKNOWN)


def refusal(report: Report, pol: _policy.Policy) -> Optional[GuardError]:
    """The GuardError strict mode raises for ``report``, or None when it lets the app boot."""
    if not pol.strict:
        return None
    by_cap: Dict[str, List[Finding]] = {}
    for f in report.findings:
        if f.capability:
            by_cap.setdefault(f.capability, []).append(f)
    failing = [
        v for v in report.verdicts if v.wanted and _refuses(v, by_cap.get(v.capability, []), pol)
    ]
    own = [f for f in report.findings if f.id in _GUARD_FAILURES] if pol.fail_closed else []
    if not failing and not own:
        return None
    from ._emit import redact_text, stack_facts

    facts = stack_facts(report)
    lines = [
        f"appsec-guard refused to boot (APPSEC_GUARD_MODE=strict): {len(failing)} requested or "
        "required Datadog AppSec capabilit"
        + ("y" if len(failing) == 1 else "ies")
        + " will not work on this stack",
        "  stack: " + ", ".join(f"{k}={v}" for k, v in facts.items()),
    ]
    for v in failing:
        why = [
            w for w in ("requested" if v.requested else "", "required" if v.required else "") if w
        ]
        state = "off" if v.status is Status.SUPPORTED and v.fails else v.status.value
        lines.append(f"  - {v.capability} ({' and '.join(why)}): {state}")
        for f in by_cap[v.capability]:
            if f.severity is Severity.INFO and v.status is Status.UNSUPPORTED:
                continue
            lines.append(f"      [{f.id}] {f.message}")
            if f.remediation:
                lines.append(f"        fix: {f.remediation}")
    for f in own:
        lines.append(f"  - [{f.id}] {f.message}")
        if f.remediation:
            lines.append(f"        fix: {f.remediation}")
    lines.append(
        "  To boot anyway: silence a finding (APPSEC_GUARD_SILENCE=<id>) or set "
        "APPSEC_GUARD_MODE=warn to log instead of refusing."
    )
    return GuardError(redact_text("\n".join(lines)), report)


def run(
    entry: str,
    *,
    code: Optional[Mapping[str, Any]] = None,
    settings: Optional[Mapping[str, Any]] = None,
    settings_label: str = "settings",
    extra_silence: Tuple[str, ...] = (),
    framework_hint: Optional[Framework] = None,
    environ: Optional[Mapping[str, str]] = None,
    only_new: bool = False,
    trigger: Optional[str] = None,
    force: bool = False,
    remote_config: Optional[_RemoteConfigAnswer] = None,
) -> Optional[Report]:
    """One guard run. Returns None in off mode (unless ``force``: judge, but log nothing).

    Raises only GuardError (strict mode).
    """
    with STATE.lock:
        STATE.runs += 1
        if remote_config is None:  # a new run supersedes any probe still in flight
            STATE.generation += 1
        generation = STATE.generation
        STATE.last_args = {
            "code": code,
            "settings": settings,
            "settings_label": settings_label,
            "extra_silence": extra_silence,
            "framework_hint": framework_hint,
        }
        try:
            pol = _policy.resolve(
                code,
                settings,
                environ,
                settings_label=settings_label,
                extra_silence=extra_silence,
            )
        except Exception as exc:  # pragma: no cover - resolve is written not to raise
            pol = _policy.Policy(problems=(guard_failure("reading the policy", exc),))
        if pol.off and not force:
            STATE.policy = pol
            return None
        pending = False
        try:
            report, pol, pending = _judge(pol, framework_hint, environ, remote_config)
        except Exception as exc:  # pragma: no cover - _judge is written not to raise
            report = _unknown_report(pol.require, (), guard_failure("the guard", exc))
        STATE.report, STATE.policy, STATE.pid = report, pol, os.getpid()
        if entry in ("django", "flask", "lambda"):
            STATE.integration = entry
        if pol.off:
            return report
        try:
            findings = list(report.findings)
            if only_new:
                findings = [f for f in findings if _key(f) not in STATE.emitted]
            report = _emit_report(report, pol, findings, entry=entry, trigger=trigger)
            STATE.report = report
        except Exception:  # pragma: no cover - emit is written not to raise
            pass
        if pending:
            again = {
                "entry": entry,
                "code": code,
                "settings": settings,
                "settings_label": settings_label,
                "extra_silence": extra_silence,
                "framework_hint": framework_hint,
                "environ": environ,
            }
            _start_background_probe(generation, report, again)
        error = refusal(report, pol)
        if error is not None:
            raise error
        return report


def _start_background_probe(generation: int, report: Report, again: Dict[str, Any]) -> None:
    """Ask the Agent in a daemon thread, then run again with its answer (logs what changed).

    At most one probe is in flight: a run that wants one meanwhile is asked for next. An
    answer whose run was superseded by a later run (an integration's, ``check(refresh=True)``)
    is dropped, so it never overwrites the later run's report and policy."""
    with STATE.lock:
        if STATE.probe_in_flight:
            STATE.probe_next = (generation, report, again)
            return
        STATE.probe_in_flight = True
    pid = os.getpid()

    def ask(request: Tuple[int, Report, Dict[str, Any]]) -> None:
        from .detect.agent import detect_remote_config

        while True:
            gen, asked, args = request
            try:
                env = args["environ"]
                answer = detect_remote_config(
                    os.environ if env is None else env,
                    Path("/"),
                    deployment=asked.stack.deployment,
                    enabled_in_settings=True,
                    options=_background_options(),
                )
                if os.getpid() != pid:
                    return
                with STATE.lock:
                    if STATE.generation == gen:
                        run(
                            only_new=True,
                            trigger="agent probe returned",
                            force=True,
                            remote_config=answer,
                            **args,
                        )
            except Exception:  # strict mode cannot refuse a boot that is over: the log says it
                pass
            with STATE.lock:
                queued, STATE.probe_next = STATE.probe_next, None
                if queued is None or queued[0] != STATE.generation:
                    STATE.probe_in_flight = False
                    STATE.background_probes += 1
                    return
                request = queued

    try:
        threading.Thread(
            target=ask,
            args=((generation, report, again),),
            name="appsec-guard-agent-probe-bg",
            daemon=True,
        ).start()
    except Exception:  # no threads left: Remote Configuration stays unknown
        with STATE.lock:
            STATE.probe_in_flight = False


def _background_options() -> Any:
    from .detect import ProbeOptions

    return ProbeOptions()


def wait_for_background_probe(timeout: float = 5.0) -> bool:
    """Tests and benchmarks: wait until the background probe has re-judged (bounded)."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if STATE.background_probes:
            return True
        time.sleep(0.005)
    return False


def check(refresh: bool = False) -> Report:
    """The report of this process: cached after the first run; ``refresh=True`` runs again,
    with the policy arguments of the last run (an integration's code policy and settings)."""
    report = STATE.report
    if report is not None and not refresh:
        return report
    with STATE.lock:  # many threads at once: the first runs, the others get its report
        report = STATE.report
        if report is not None and not refresh:
            return report
        result = run("check", force=True, only_new=refresh, **STATE.last_args)
    assert result is not None  # force=True always judges
    return result


def boot() -> None:
    """The run of ``import appsec_guard``: once per process, then framework import hooks."""
    with STATE.lock:
        if STATE.report is not None or STATE.policy is not None:
            return
        run("import")
        if _active():
            _register_hooks()


def _active() -> bool:
    pol = STATE.policy
    return pol is not None and not pol.off


def _register_hooks() -> None:
    try:
        missing = [m for m in _FRAMEWORK_MODULES if m not in sys.modules and m not in STATE.hooks]
        if not missing:
            return
        from importlib.util import find_spec

        installed = [m for m in missing if find_spec(m) is not None]
        if not installed:
            return
        import wrapt

        for name in installed:
            STATE.hooks.add(name)
            wrapt.register_post_import_hook(_on_framework_import, name)
    except Exception:  # no hooks: the framework is judged as installed, not as imported
        pass


def _on_framework_import(module: Any) -> None:
    """wrapt post-import hook: the app imported Django or Flask after ``import appsec_guard``."""
    name = getattr(module, "__name__", "?")
    with STATE.lock:
        pol = STATE.policy
        if (
            name in STATE.hooked
            or STATE.integration is not None
            or pol is None
            or pol.off
            or STATE.pid != os.getpid()
        ):
            return
        STATE.hooked.add(name)
        try:
            run("import", only_new=True, trigger=f"{name} imported")
        except GuardError:
            raise  # strict: a capability that fails with this framework stops the boot here
        except Exception:  # pragma: no cover - run raises only GuardError
            pass


def reset_for_tests() -> None:
    """Forget everything (tests only)."""
    global STATE
    STATE = _State()
