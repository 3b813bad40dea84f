"""The guard's session in this process: one owner of its life, whichever entry points run.

The session (``STATE``) holds the policy with where each value came from, the matrix, the
last detection, the report, and what was already logged.

- :func:`run` (``import appsec_guard``, the Django app, the Flask extension, the Lambda
  wrappers) reads the policy, detects, judges, logs what this process has not logged yet
  and, in strict mode, raises :class:`GuardError`. Nothing else can leave it: an internal
  error becomes a finding (``AG900``/``AG901``).
- :func:`rejudge` starts from the last detection with one fact detected again: the Agent's
  answer (``APPSEC_GUARD_PROBE=background``), the framework once imported (wrapt post-import
  hooks for Django and Flask); :func:`check` with ``refresh=True`` detects both again. No
  other fact is detected again, and only what changed is logged.
- Remediations are worded for the entry point that shows them (:func:`worded_for`): only the
  command has ``--assume``.
- :func:`judge_for_command` gives the command the judgement the boot would make (the same
  policy, matrix layers, findings and silencing), without logging or keeping state.
- Logged once: a finding is logged once per process, again only when its verdict changes;
  a summary when something changed or a trigger re-judged.
- Threads: one re-entrant lock; :func:`check` returns the cached report.
- Fork: a forked child (a gunicorn worker of a preloaded master) inherits the report and
  does not log it again unless ``APPSEC_GUARD_LOG_IN_CHILDREN=true``; its lock is new.
- The Agent probe: ``sync`` (default) asks within its deadline during the run;
  ``background`` judges Remote Configuration ``unknown`` at boot, asks in a daemon thread,
  then re-judges (summary ``trigger="agent probe returned"``); ``off`` never asks. At most
  one background probe is in flight, and an answer whose run a later run superseded is
  dropped.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    FrozenSet,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from . import policy as _policy
from .errors import GuardError
from .model import Active, Finding, Framework, Report, Severity, Stack, Status, Verdict

if TYPE_CHECKING:
    from .assume import Assumptions
    from .detect import Detection, Fact, ProbeOptions
    from .matrix import Matrix

_FRAMEWORK_MODULES = ("django", "flask")
_GUARD_FAILURES = ("AG700", "AG701", "AG900", "AG901")
_Key = Tuple[str, Optional[str], str, str]
PROBE_MODES = ("sync", "background", "off")
PROBE_VARIABLE = "APPSEC_GUARD_PROBE"
_BACKGROUND_DETAIL = "asked in the background (APPSEC_GUARD_PROBE=background)"


class Session:
    """The guard's life in this process (one object, ``STATE``): the policy and where each
    value came from, the last judgement (detection, matrix, report), what was logged, and
    the machinery around them (lock, fork, hooks, background probe)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.report: Optional[Report] = None
        self.policy: Optional[_policy.Policy] = None
        self.pid = 0
        self.emitted_pid = 0
        self.emitted: Set[_Key] = set()
        # the verdicts of the last summary logged (a run that changes none logs no summary)
        self.summarized: Optional[Tuple[Tuple[str, str, bool], ...]] = None
        self.runs = 0  # guard runs in this process: tests and benchmarks count them
        self.rejudged = 0  # re-judgements of one fact (a framework import, the probe's answer)
        self.integration: Optional[str] = None
        self.hooks: Set[str] = set()  # frameworks whose import hook is registered
        self.hooked: Set[str] = set()  # frameworks whose import hook has fired
        # background Agent probes that re-judged, failed or were dropped (each counted when no
        # probe is left in flight)
        self.background_probes = 0
        # run generation: a probe's answer is dropped when a later run superseded its run
        self.generation = 0
        self.probe_in_flight = False  # at most one background probe at a time
        # the latest run that wanted a probe while one was in flight
        self.probe_next: Optional[_ProbeRequest] = None
        # the last judgement (what a re-judgement starts from) and its environment
        self.judged: Optional[_Judged] = None
        self.environ: Optional[Mapping[str, str]] = None
        # the policy arguments of the last run: check(refresh=True) judges with them again
        self.last_args: Dict[str, Any] = {}
        # the scan framework_version made for an integration's run, which detects with it
        self.scan: Any = None


STATE = Session()


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


def _key(f: Finding, report: Report) -> _Key:
    """What makes a finding new: its id, capability, message and the capability's verdict
    (the remediation is left out: it is worded for the entry point that shows it)."""
    status = ""
    if f.capability:
        for v in report.verdicts:
            if v.capability == f.capability:
                status = v.status.value
    return (f.id, f.capability, f.message, status)


def framework_version(name: str) -> Framework:
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
    from .redaction import redact_text

    shown = redact_text(raw if len(raw) <= 80 else raw[:80] + "...")
    return "sync", Finding(
        "AG700",
        Severity.WARNING,
        None,
        f"{PROBE_VARIABLE}={shown!r} is not one of {', '.join(PROBE_MODES)}; using sync",
        f"set {PROBE_VARIABLE} to one of {', '.join(PROBE_MODES)}, or unset it",
    )


def guard_failure(source: str, exc: BaseException) -> Finding:
    from .redaction import redact_text

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


class _Judged:
    """One judgement of the session: the report, the policy it was judged with, and what a
    later re-judgement starts from (the detection, the matrix, the policy's findings)."""

    def __init__(
        self,
        report: Report,
        policy: _policy.Policy,
        pending: bool = False,
        detection: Optional[Detection] = None,
        matrix: Optional[Matrix] = None,
        extra: Tuple[Finding, ...] = (),
    ) -> None:
        self.report, self.policy, self.pending = report, policy, pending
        self.detection, self.matrix, self.extra = detection, matrix, extra


def _judge(
    pol: _policy.Policy,
    framework_hint: Optional[Framework],
    environ: Optional[Mapping[str, str]],
    *,
    entry: str = "check",
    assumed: Optional[Assumptions] = None,
    probe: Optional[ProbeOptions] = None,
    matrix: Optional[Matrix] = None,
) -> _Judged:
    """Detect and judge; ``pending`` when the Agent is still to be asked (background).

    The command passes its own ``assumed`` facts, ``probe`` options and ``matrix`` (its
    ``--matrix`` flags, which win over ``APPSEC_GUARD_MATRIX``)."""
    from . import matrix as _matrix

    extra: List[Finding] = []
    mode = "sync"
    if probe is None:
        mode, problem = probe_mode(environ)
        if problem is not None:
            extra.append(problem)
    if (os.environ if environ is None else environ).get("APPSEC_GUARD_METRICS"):
        from .metrics import setting  # imported only when set: the boot path stays as it was

        metrics_problem = setting(environ)[1]
        if metrics_problem is not None:
            extra.append(metrics_problem)
    given = matrix
    try:
        matrix = given if given is not None else _matrix.load()
    except Exception as exc:  # the shipped matrix itself: nothing to judge with
        failure = guard_failure("loading the shipped matrix", exc)
        return _Judged(_unknown_report(pol.require, (), failure), pol)
    if pol.matrix and given is None:
        try:
            matrix = _matrix.load([Path(p) for p in pol.matrix])
        except Exception as exc:
            from .redaction import redact_text

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
    found = tuple(pol.problems) + tuple(extra)
    try:
        from .detect import ProbeOptions
        from .guard import detect_assuming

        options = probe if probe is not None else ProbeOptions(enabled=mode == "sync")
        scan, STATE.scan = STATE.scan, None
        detection = detect_assuming(
            environ,
            assumed,
            framework_hint,
            probe=options,
            distributions=scan if framework_hint is not None else None,
        )
        pending = False
        if mode == "background":
            detection, pending = _probe_deferred(detection)
        report = _verdicts(detection, pol, matrix, found, environ, entry)
    except Exception as exc:
        report = _unknown_report(
            pol.require, matrix.capability_ids, guard_failure("detection", exc)
        )
        return _Judged(_kept(report, pol, entry), pol)
    return _Judged(report, pol, pending, detection, matrix, found)


def _verdicts(
    detection: Detection,
    pol: _policy.Policy,
    matrix: Matrix,
    found: Tuple[Finding, ...],
    environ: Optional[Mapping[str, str]],
    entry: str,
) -> Report:
    from .guard import judged

    report = judged(detection, matrix, pol.require, environ, extra=found)
    return _kept(report, pol, entry)


def _kept(report: Report, pol: _policy.Policy, entry: str) -> Report:
    """The silenced findings dropped, the remediations worded for ``entry``."""
    kept = tuple(f for f in report.findings if f.id not in pol.silence)
    report = report.with_findings(kept)
    if any("--assume" in f.remediation for f in kept):  # only the command has --assume
        report = worded_for(entry, report)
    return report


# --- remediations worded for the entry point that shows them -------------------------------
# (here, not with the rest of the text for people in ``render``: the boot needs them whenever a
# finding names ``--assume``)

#: the entry points of the guard (the ``entry`` of log events); only the command has --assume
ENTRIES = ("command", "import", "django", "flask", "lambda", "check", "fork")
# (patterns, compiled by re's own cache when first used: not on the boot path of an app whose
# findings name no --assume)
_ASSUME_CLAUSE = r",? (?:or )?(?:state it(?: with)?:? )?--assume [^\s,;]*"
_ONLY_ASSUME = r"^state it:? --assume [^\s,;]*$"
_OR_STATE_IT = ", or state it: --assume "
#: AG305 (which framework serves the app) as each entry point can act on it
_WHICH_FRAMEWORK = {
    "import": "import appsec_guard after the framework that serves the app, or use its "
    "integration (the Django app or the Flask extension)",
    "check": "call appsec_guard.check(refresh=True) after the framework that serves the app is "
    "imported, or use its integration (the Django app or the Flask extension)",
    "lambda": "import the framework that serves the function in the handler's module, before "
    "the guard runs (above @appsec_guard.lambda_handler)",
}


def remediation_for(entry: str, finding: Finding) -> str:
    """``finding``'s remediation worded for ``entry``: ``--assume`` exists only in the command,
    so elsewhere the clause that names it is dropped or replaced by what that entry can do."""
    text = finding.remediation
    if entry == "command" or "--assume" not in text:
        return text
    if finding.id == "AG305":
        return _WHICH_FRAMEWORK.get(
            entry, "use the integration of the framework that serves the app"
        )
    if finding.id == "AG900":
        return "report this to appsec-guard's maintainers; the fact it decides is judged unknown"
    if text.startswith("state it") and re.match(_ONLY_ASSUME, text):  # (spares compiling it)
        return "reinstall it so that its metadata has a version"
    # The judgement's usual form, "<fix>, or state it: --assume <fact>=<value>", is the one
    # match of _ASSUME_CLAUSE when nothing before it names --assume and nothing after it is a
    # space, comma or semicolon: cut without compiling the expression (tests compare the two).
    head, clause, tail = text.partition(_OR_STATE_IT)
    if clause and "--assume" not in head and not any(c.isspace() or c in ",;" for c in tail):
        return head
    return re.sub(_ASSUME_CLAUSE, "", text)


def worded_for(entry: str, report: Report) -> Report:
    """``report`` with every remediation worded for ``entry``."""
    from ._frozen import replace

    findings = tuple(
        f
        if remediation_for(entry, f) == f.remediation
        else replace(f, remediation=remediation_for(entry, f))
        for f in report.findings
    )
    return report.with_findings(findings)


def _probe_deferred(detection: Detection) -> Tuple[Detection, bool]:
    """Background mode: the probe was skipped; say so in the evidence. True when the Agent
    is to be asked (not when Remote Configuration is off, or the platform has none)."""
    from .detect import Fact
    from .model import Evidence

    fact = detection.fact("remote_config")
    if fact is None or not any(e.source == "probe" for e in fact.evidence):
        return detection, False
    evidence = tuple(
        Evidence("remote_config", "probe", _BACKGROUND_DETAIL) if e.source == "probe" else e
        for e in fact.evidence
    )
    return detection.with_fact("remote_config", Fact(fact.value, evidence, fact.findings)), True


def rejudge(name: str, fact: Fact, *, entry: str, trigger: str) -> Optional[Report]:
    """Judge again with one fact detected again (``remote_config`` from the background probe,
    ``framework`` once imported), from the last judgement: nothing else is detected again,
    and only what changed is logged. None when nothing was judged yet (or in off mode)."""
    with STATE.lock:
        last, pol = STATE.judged, STATE.policy
        if last is None or last.detection is None or last.matrix is None or pol is None:
            return None
        if pol.off:
            return None
        STATE.rejudged += 1
        detection = last.detection.with_fact(name, fact)
        report = _verdicts(detection, pol, last.matrix, last.extra, STATE.environ, entry)
        STATE.judged = _Judged(report, pol, False, detection, last.matrix, last.extra)
        STATE.report = report
        return _emit_changes(report, pol, entry=entry, trigger=trigger)


def _emit_changes(
    report: Report, pol: _policy.Policy, *, entry: str, trigger: Optional[str]
) -> Report:
    """Log the findings not logged yet in this process (again when a verdict changed), and a
    summary when something changed or a trigger re-judged. Never raises."""
    try:
        if STATE.emitted_pid != os.getpid():
            STATE.emitted, STATE.summarized = set(), None
        findings = [f for f in report.findings if _key(f, report) not in STATE.emitted]
        statuses = tuple((v.capability, v.status.value, v.wanted) for v in report.verdicts)
        if findings or statuses != STATE.summarized or trigger:
            report = _emit_report(report, pol, findings, entry=entry, trigger=trigger)
            STATE.summarized = statuses
        STATE.report = report
    except Exception:  # pragma: no cover - emit is written not to raise
        pass
    return report


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
    STATE.emitted.update(_key(f, report) for f in findings)
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
    from ._emit import stack_facts
    from .redaction import redact_text
    from .render import refusal_text

    text = refusal_text(
        report,
        failing,
        own,
        stack_facts(report),
        mode_origin=pol.origin("mode"),
        silence_origin=pol.origin("silence"),
    )
    return GuardError(redact_text(text), report)


def run(
    entry: str,
    *,
    code: Optional[Mapping[str, Any]] = None,
    settings: Optional[Mapping[str, Any]] = None,
    settings_label: str = "settings",
    extra_silence: Tuple[str, ...] = (),
    framework_hint: Optional[Framework] = None,
    environ: Optional[Mapping[str, str]] = None,
    trigger: Optional[str] = None,
    force: bool = False,
) -> Optional[Report]:
    """One guard run: read the policy, detect, judge, log what was not logged yet, refuse.
    Returns None in off mode (unless ``force``: judge, but log nothing).

    Raises only GuardError (strict mode).
    """
    with STATE.lock:
        STATE.runs += 1
        STATE.generation += 1  # a new run supersedes any probe still in flight
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
        try:
            judged = _judge(pol, framework_hint, environ, entry=entry)
        except Exception as exc:  # pragma: no cover - _judge is written not to raise
            judged = _Judged(_unknown_report(pol.require, (), guard_failure("the guard", exc)), pol)
        report, pol = judged.report, judged.policy
        STATE.judged, STATE.environ = judged, environ
        STATE.report, STATE.policy, STATE.pid = report, pol, os.getpid()
        if entry in ("django", "flask", "lambda"):
            STATE.integration = entry
        if pol.off:
            return report
        # Each finding is logged once per process, whichever entry point judged it (an
        # import in manage.py, its hook, then the Django app): again only when its verdict
        # changes. A forked child re-logs on its own path (_after_fork_in_child).
        report = _emit_changes(report, pol, entry=entry, trigger=trigger)
        if judged.pending:
            _start_background_probe(generation, report, entry, environ)
        error = refusal(report, pol)
        if error is not None:
            raise error
        return report


def judge_for_command(
    *,
    require: Sequence[str] = (),
    assumed: Optional[Assumptions] = None,
    probe: Optional[ProbeOptions] = None,
    matrix: Optional[Matrix] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Tuple[Report, _policy.Policy]:
    """What the app's boot would judge in this environment, for the command: the same policy
    (``APPSEC_GUARD_*``, with the command's flags winning as code does), findings and
    silencing, worded for the command. Logs nothing, raises nothing, keeps no state."""
    code: Dict[str, Any] = {"require": list(require)} if require else {}
    try:
        pol = _policy.resolve(code, None, environ)
    except Exception as exc:  # pragma: no cover - resolve is written not to raise
        pol = _policy.Policy(problems=(guard_failure("reading the policy", exc),))
    judged = _judge(
        pol, None, environ, entry="command", assumed=assumed, probe=probe, matrix=matrix
    )
    return judged.report, judged.policy


_ProbeRequest = Tuple[int, Report, str, Optional[Mapping[str, str]]]


def _start_background_probe(
    generation: int, report: Report, entry: str, environ: Optional[Mapping[str, str]]
) -> None:
    """Ask the Agent in a daemon thread, then re-judge with its answer (logs what changed).

    At most one probe is in flight: a run that wants one meanwhile is asked for next. An
    answer whose run was superseded by a later run (an integration's, ``check(refresh=True)``)
    is dropped, so it never overwrites the later run's report and policy."""
    with STATE.lock:
        if STATE.probe_in_flight:
            STATE.probe_next = (generation, report, entry, environ)
            return
        STATE.probe_in_flight = True
    pid = os.getpid()

    def ask(request: _ProbeRequest) -> None:
        from .detect.agent import detect_remote_config

        while True:
            gen, asked, asking_entry, env = request
            try:
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
                        rejudge(
                            "remote_config",
                            answer,
                            entry=asking_entry,
                            trigger="agent probe returned",
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
            args=((generation, report, entry, environ),),
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
    """The report of this process: cached after the first run. ``refresh=True`` judges again
    with the last run's policy, detecting again only what changes while a process runs: the
    web framework (imported since) and Remote Configuration (the Agent asked again, as
    ``APPSEC_GUARD_PROBE`` says); it logs what changed."""
    report = STATE.report
    if report is not None and not refresh:
        return report
    with STATE.lock:  # many threads at once: the first runs, the others get its report
        report = STATE.report
        if report is not None and not refresh:
            return report
        last = STATE.judged
        if report is None or last is None or last.detection is None or STATE.policy is None:
            result = run("check", force=True, **STATE.last_args)
            assert result is not None  # force=True always judges
            return result
        return _refresh(last, STATE.policy)


def _refresh(last: _Judged, pol: _policy.Policy) -> Report:
    from .detect import ProbeOptions
    from .detect.agent import detect_remote_config
    from .model import RemoteConfig

    matrix, detection, found = last.matrix, last.detection, last.extra
    assert detection is not None and matrix is not None
    STATE.runs += 1
    STATE.generation += 1  # supersedes a background probe still in flight
    mode, _ = probe_mode(STATE.environ)
    asked = detection.stack.remote_config in (RemoteConfig.ENABLED, RemoteConfig.UNKNOWN)
    try:
        detection = detection.with_fact(
            "framework", _framework_fact(STATE.last_args.get("framework_hint"))
        )
        if asked and mode == "sync":  # off, or settings that turn it off: the answer stands
            env = os.environ if STATE.environ is None else STATE.environ
            answer = detect_remote_config(
                env,
                Path("/"),
                deployment=detection.stack.deployment,
                enabled_in_settings=True,
                options=ProbeOptions(),
            )
            detection = detection.with_fact("remote_config", answer)
    except Exception as exc:  # the facts of the last judgement stand
        found = (*found, guard_failure("detecting again", exc))
    report = _verdicts(detection, pol, matrix, found, STATE.environ, "check")
    STATE.judged = _Judged(report, pol, False, detection, matrix, last.extra)
    STATE.report = report
    if pol.off:
        return report
    report = _emit_changes(report, pol, entry="check", trigger=None)
    if mode == "background" and asked:
        _start_background_probe(STATE.generation, report, "check", STATE.environ)
    error = refusal(report, pol)
    if error is not None:
        raise error
    return report


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
    """wrapt post-import hook: the app imported Django or Flask after ``import appsec_guard``.

    Only the framework is detected again; the rest of the last judgement stands."""
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
            report = rejudge(
                "framework", _framework_fact(), entry="import", trigger=f"{name} imported"
            )
        except Exception:  # pragma: no cover - rejudge is written not to raise
            return
        error = None if report is None else refusal(report, pol)
    if error is not None:
        raise error  # strict: a capability that fails with this framework stops the boot here


def _framework_fact(hint: Optional[Framework] = None) -> Fact:
    """The framework detected again (sys.modules and metadata; never imported)."""
    from .detect.distributions import Distributions
    from .detect.framework import detect_framework

    return detect_framework(sys.modules, Distributions.scan(), hint)


def reset_for_tests() -> None:
    """Forget everything (tests only)."""
    global STATE
    STATE = Session()
