"""The judgement: a pure function from a stack and the matrix to a report.

No I/O, no globals, no clock: the same stack and matrix always give the same report.

Each capability starts ``supported``; every rule that applies may add a problem, which is
``unsupported`` (the matrix says it cannot work) or ``unknown`` (the matrix cannot decide).
The capability ends ``unsupported`` if any problem is, else ``unknown`` if any is, else
``beta`` for a capability still in beta, else ``supported``. Every problem is kept as a reason
and becomes a finding, so the team sees all that stands in the way, not only the first thing.

Given the app's settings, each capability also gets what ddtrace will really do with them
(:func:`appsec_guard.activation.state`): ``on``, ``remote``, ``off`` or ``unknown``. A wanted
capability the settings leave off fails (AG610) as surely as one the stack cannot run; one left
to Remote Configuration (AG611) or undecidable (AG612) is a warning. What nobody asked for gets
no activation finding at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple, Union

from . import activation as _activation
from ._versions import contains
from .activation import Activation, Settings
from .matrix import AuthFrameworkRule, CapabilityRule, Matrix, RuntimeRule, floor
from .model import Active, Finding, RemoteConfig, Report, Severity, Stack, Status, Verdict

if TYPE_CHECKING:
    from dataclasses import dataclass

    from packaging.version import Version
else:  # the same frozen classes, defined without exec (see _frozen.py)
    from ._frozen import dataclass


# Words of the judgement's messages, which the plan and the matrix diff share.
OS_NAMES = {"linux": "Linux", "macos": "macOS", "windows": "Windows"}
IMPL_NAMES = {"cpython": "CPython", "pypy": "PyPy"}


def join_words(items: Sequence[str], word: str = "and") -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


@dataclass(frozen=True)
class _Problem:
    id: str
    #: UNSUPPORTED, UNKNOWN, or SUPPORTED for an informational note; "off"/"maybe" for the
    #: activation problems, which do not change the stack's status
    status: Union[Status, str]
    message: str
    remediation: str
    source: str


def judge(
    stack: Stack,
    matrix: Matrix,
    *,
    requested: Iterable[str] = (),
    required: Iterable[str] = (),
    settings: Optional[Settings] = None,
) -> Report:
    """Judge every capability of ``matrix`` on ``stack``.

    ``requested`` are the capabilities the app's DD_* settings turn on; ``required`` those the
    team insists on (``--require``, the policy). Unknown capability names raise ValueError.
    ``settings`` (the app's ddtrace settings) adds what ddtrace will switch on here; without
    them (a plan, a what-if on facts only) each verdict's ``active`` is None.
    """
    requested_set = _known(requested, matrix, "requested")
    required_set = _known(required, matrix, "required")
    # the runtime rows say the same of every capability: asked once
    runtime = _runtime_problem(stack, matrix) if stack.ddtrace is not None else None
    problems = {cap.id: _problems(cap, stack, matrix, runtime) for cap in matrix.capabilities}
    statuses: Dict[str, Status] = {}
    for cap in matrix.capabilities:
        _resolve(cap.id, matrix, problems, statuses, ())

    verdicts = []
    findings: List[Finding] = list(_stack_findings(stack, matrix))
    for cap in matrix.capabilities:
        wanted = cap.id in requested_set or cap.id in required_set
        status = statuses[cap.id]
        act = _activation_of(cap, stack, settings)
        if act is not None and wanted:
            problem = _activation_problem(cap, act)
            if problem is not None:
                problems[cap.id].append(problem)
        verdicts.append(
            Verdict(
                capability=cap.id,
                status=status,
                requested=cap.id in requested_set,
                required=cap.id in required_set,
                reasons=tuple(p.message for p in problems[cap.id]),
                active=None if act is None else act.state,
            )
        )
        for p in problems[cap.id]:
            findings.append(
                Finding(
                    id=p.id,
                    severity=_severity(p.status, wanted),
                    capability=cap.id,
                    message=p.message,
                    remediation=p.remediation,
                    source=_cite(matrix, p.source),
                )
            )
    return Report(stack=stack, verdicts=tuple(verdicts), findings=tuple(findings))


def _cite(matrix: Matrix, source: str) -> str:
    """A matrix source id becomes its citation; an activation source is a citation already."""
    if not source:
        return ""
    return source if source.startswith("ddtrace ") else matrix.cite(source)


def _known(names: Iterable[str], matrix: Matrix, what: str) -> FrozenSet[str]:
    out = frozenset(names)
    unknown = sorted(out - set(matrix.capability_ids))
    if unknown:
        raise ValueError(
            f"unknown {what} capability {unknown[0]!r}; known: {', '.join(matrix.capability_ids)}"
        )
    return out


def _severity(status: Union[Status, str], wanted: bool) -> Severity:
    if not wanted:
        return Severity.INFO
    if status in (Status.UNSUPPORTED, _OFF):
        return Severity.ERROR
    if status in (Status.UNKNOWN, _MAYBE):
        return Severity.WARNING
    return Severity.INFO


# Problem kinds of the activation findings: they say nothing about the stack, so they never
# enter the status fold (see _resolve), only the severity of their finding.
_OFF = "off"
_MAYBE = "maybe"


def _activation_of(
    cap: CapabilityRule, stack: Stack, settings: Optional[Settings]
) -> Optional[Activation]:
    if settings is None or stack.ddtrace is None:
        return None  # nothing to switch on without ddtrace: AG100/AG104 say so
    return _activation.state(cap.id, stack.ddtrace, settings, stack.remote_config, stack.deployment)


def _activation_problem(cap: CapabilityRule, act: Activation) -> Optional[_Problem]:
    if act.state is Active.OFF:
        return _Problem(
            "AG610", _OFF, f"{cap.name} will be off: {act.reason}", act.remediation, act.source
        )
    if act.state is Active.REMOTE:
        return _Problem(
            "AG611", _MAYBE, f"{cap.name} is off at boot: {act.reason}", act.remediation, act.source
        )
    if act.state is Active.UNKNOWN:
        return _Problem(
            "AG612",
            _MAYBE,
            f"whether {cap.name} will be on cannot be told: {act.reason}",
            act.remediation,
            act.source,
        )
    return None


def _resolve(
    cap_id: str,
    matrix: Matrix,
    problems: Dict[str, List[_Problem]],
    statuses: Dict[str, Status],
    chain: Tuple[str, ...],
) -> Status:
    """Fold a capability's problems into a status, after the capabilities it needs."""
    if cap_id in statuses:
        return statuses[cap_id]
    cap = matrix.capability(cap_id)
    for dep in cap.requires:
        if dep in chain or dep == cap_id:
            continue  # a cycle in user data: judge each on its own rules
        dep_status = _resolve(dep, matrix, problems, statuses, (*chain, cap_id))
        if dep_status in (Status.UNSUPPORTED, Status.UNKNOWN):
            dep_name = matrix.capability(dep).name
            word = "does not work" if dep_status is Status.UNSUPPORTED else "may not work"
            problems[cap_id].append(
                _Problem(
                    "AG111",
                    dep_status,
                    f"{cap.name} needs {dep_name}, which {word} on this stack",
                    f"make {dep_name} work first (see its findings)",
                    cap.requires_source,
                )
            )
    kinds = {p.status for p in problems[cap_id]}
    if Status.UNSUPPORTED in kinds:
        status = Status.UNSUPPORTED
    elif Status.UNKNOWN in kinds:
        status = Status.UNKNOWN
    elif cap.beta:
        status = Status.BETA
    else:
        status = Status.SUPPORTED
    statuses[cap_id] = status
    return status


def _problems(
    cap: CapabilityRule, stack: Stack, matrix: Matrix, runtime: Optional[_Problem]
) -> List[_Problem]:
    out: List[_Problem] = []
    out.extend(_ddtrace_rules(cap, stack, matrix, runtime))
    out.extend(_remote_config_rules(cap, stack, matrix))
    out.extend(_deployment_rules(cap, stack, matrix))
    out.extend(_framework_rules(cap, stack, matrix))
    out.extend(_integration_rules(cap, stack, matrix))
    if cap.beta:
        out.append(
            _Problem(
                "AG110",
                Status.SUPPORTED,
                f"{cap.name} is in {cap.stage}: it is not generally available",
                "ask Datadog for access to the beta before relying on it",
                cap.source,
            )
        )
    return out


# --- ddtrace and runtime ---------------------------------------------------------------------


def _ddtrace_rules(
    cap: CapabilityRule, stack: Stack, matrix: Matrix, runtime: Optional[_Problem]
) -> List[_Problem]:
    """``runtime``: what :func:`_runtime_problem` says of this stack."""
    if stack.ddtrace is None and stack.ddtrace_version_unknown:
        return [
            _Problem(
                "AG104",
                Status.UNKNOWN,
                f"ddtrace is installed, but its version could not be read, so {cap.name} "
                "cannot be judged",
                "reinstall ddtrace (pip install --force-reinstall ddtrace), "
                "or state it: --assume ddtrace=X.Y.Z",
                "",
            )
        ]
    if stack.ddtrace is None:
        pin = f">={cap.min_ddtrace}" if cap.min_ddtrace else ""
        return [
            _Problem(
                "AG100",
                Status.UNSUPPORTED,
                f"{cap.name} needs ddtrace, which is not installed",
                f"install ddtrace{pin} and start the app with ddtrace-run (or import ddtrace.auto)",
                cap.source,
            )
        ]
    out = []
    if cap.min_ddtrace is not None and stack.ddtrace < cap.min_ddtrace:
        out.append(
            _Problem(
                "AG101",
                Status.UNSUPPORTED,
                f"{cap.name} needs ddtrace {cap.min_ddtrace} or newer; this is {stack.ddtrace}",
                f"upgrade ddtrace to >={cap.min_ddtrace}",
                cap.source,
            )
        )
    if runtime is not None:
        out.append(runtime)
    rt = stack.runtime
    limit = _activation.platform_problem(
        cap.id,
        stack.ddtrace,
        rt.os,
        rt.minor,
        avoid=lambda v: is_end_of_life(matrix, v),
    )
    if limit is not None and rt.implementation != "unknown":
        out.append(_Problem("AG202", Status.UNSUPPORTED, *limit))
    return out


def is_end_of_life(matrix: Matrix, version: Version) -> bool:
    """Whether the matrix calls the release line of ``version`` end of life."""
    return any(
        contains(b.ddtrace, version) and b.support.lower().startswith(("end of life", "eol"))
        for b in matrix.release_branches
    )


def describe_runtime(stack: Stack) -> str:
    rt = stack.runtime
    return (
        f"{IMPL_NAMES.get(rt.implementation, rt.implementation)} {rt.minor[0]}.{rt.minor[1]} "
        f"on {OS_NAMES.get(rt.os, rt.os)} {rt.arch}"
    )


def runtime_rows_for(version: Version, matrix: Matrix) -> List[RuntimeRule]:
    return [r for r in matrix.runtimes if r.covers_ddtrace(version)]


def runtime_matches(rule: RuntimeRule, stack: Stack) -> bool:
    rt = stack.runtime
    return (
        rule.os == rt.os
        and rt.arch in rule.cpus
        and rule.implementation == rt.implementation
        and rt.minor in rule.pythons
    )


def _runtime_problem(stack: Stack, matrix: Matrix) -> Optional[_Problem]:
    assert stack.ddtrace is not None
    rows = runtime_rows_for(stack.ddtrace, matrix)
    if not rows:
        return _Problem(
            "AG201",
            Status.UNKNOWN,
            f"the matrix has no runtime data for ddtrace {stack.ddtrace}",
            "add the runtime rows of this ddtrace release with APPSEC_GUARD_MATRIX, "
            "or update appsec-guard",
            "",
        )
    if any(runtime_matches(r, stack) for r in rows):
        return None
    return _Problem(
        "AG200",
        Status.UNSUPPORTED,
        f"ddtrace {stack.ddtrace} does not support {describe_runtime(stack)}",
        _runtime_remedy(stack, matrix, rows),
        rows[0].source,
    )


def _runtime_remedy(stack: Stack, matrix: Matrix, rows: Sequence[RuntimeRule]) -> str:
    rt = stack.runtime
    same_platform = [
        r
        for r in rows
        if r.os == rt.os and rt.arch in r.cpus and r.implementation == rt.implementation
    ]
    python_fix = ""
    if same_platform:
        minors = sorted(set().union(*(r.pythons for r in same_platform)))
        python_fix = (
            f"run on {IMPL_NAMES.get(rt.implementation, rt.implementation)} {_minors(minors)}"
        )
    other_lines = [r for r in matrix.runtimes if runtime_matches(r, stack) and r not in rows]
    # never suggest a release line the report itself calls end of life when a supported
    # one runs here too
    supported = [r for r in other_lines if not is_end_of_life(matrix, _spec_floor(r))]
    other_lines = supported or other_lines
    ddtrace_fix = ""
    if other_lines:
        spec = sorted(other_lines, key=lambda r: _spec_floor(r))[0].ddtrace
        ddtrace_fix = f"move ddtrace to {spec}, which supports {describe_runtime(stack)}"
    if not same_platform and rt.implementation != "cpython":
        python_fix = "run on CPython"
    fixes = [f for f in (ddtrace_fix, python_fix) if f]
    return (
        " or ".join(fixes) if fixes else "run on a supported OS and CPU (see `appsec-guard matrix`)"
    )


def _spec_floor(rule: RuntimeRule) -> Version:
    from packaging.version import Version

    return floor(rule.ddtrace) or Version("0")


def _minors(minors: Sequence[Tuple[int, int]]) -> str:
    """[(2, 7), (3, 5), (3, 6), (3, 7)] -> '2.7, 3.5-3.7'."""
    parts: List[str] = []
    start = prev = minors[0]
    for m in [*minors[1:], (-1, -1)]:
        if m[0] == prev[0] and m[1] == prev[1] + 1:
            prev = m
            continue
        parts.append(
            f"{start[0]}.{start[1]}"
            if start == prev
            else f"{start[0]}.{start[1]}-{prev[0]}.{prev[1]}"
        )
        start = prev = m
    return ", ".join(parts)


# --- remote configuration and deployment -----------------------------------------------------


# Conformance (docs/conformance.md): with Remote Configuration off, a local rules file still
# blocks (ddtrace 1.10.0-4.16.0 on Docker, 2.19.3, 3.9.0-4.16.0 on Lambda). What stops is what
# Datadog sends: the blocking set in the Datadog UI and rule updates.
_LOCAL_RULES = (
    "nothing set in the Datadog UI blocks (IPs, users, rule updates); only blocking rules "
    "in a local rules file (DD_APPSEC_RULES) still apply"
)


def _remote_config_rules(cap: CapabilityRule, stack: Stack, matrix: Matrix) -> List[_Problem]:
    if cap.id not in matrix.remote_config_required_by:
        return []
    src = matrix.remote_config_source
    if stack.deployment in matrix.no_remote_config_deployments:
        dep = matrix.deployment(stack.deployment)
        name = dep.name if dep else stack.deployment
        return [
            _Problem(
                "AG501",
                Status.UNSUPPORTED,
                f"{cap.name} needs Remote Configuration, which {name} does not offer: "
                f"{_LOCAL_RULES}",
                f"run the service in a container (Docker, Kubernetes, ECS, Fargate) to use {cap.name}",
                matrix.no_remote_config_source or src,
            )
        ]
    rc = stack.remote_config
    if rc is RemoteConfig.DISABLED:
        return [
            _Problem(
                "AG500",
                Status.UNSUPPORTED,
                f"{cap.name} needs Remote Configuration, which DD_REMOTE_CONFIGURATION_ENABLED "
                f"turns off: {_LOCAL_RULES}",
                "set DD_REMOTE_CONFIGURATION_ENABLED=true (or unset it: it is on by default)",
                src,
            )
        ]
    if rc is RemoteConfig.UNAVAILABLE:
        return [
            _Problem(
                "AG501",
                Status.UNSUPPORTED,
                f"{cap.name} needs Remote Configuration, and the Datadog Agent does not offer it: "
                f"{_LOCAL_RULES}",
                "enable Remote Configuration on the Datadog Agent (DD_REMOTE_CONFIGURATION_ENABLED=true "
                "on the Agent, Agent 7.41.1 or newer)",
                src,
            )
        ]
    if rc is RemoteConfig.UNKNOWN:
        return [
            _Problem(
                "AG502",
                Status.UNKNOWN,
                f"{cap.name} needs Remote Configuration, and the Datadog Agent could not be asked",
                "make the Agent reachable at boot (DD_TRACE_AGENT_URL or DD_AGENT_HOST), "
                "or state it: --assume remote_config=enabled",
                src,
            )
        ]
    return []


def _exclusion_rules(cap: CapabilityRule, stack: Stack, matrix: Matrix) -> List[_Problem]:
    if stack.ddtrace is None:
        return []
    out = []
    for rule in matrix.exclusions:
        if rule.deployment != stack.deployment or cap.id not in rule.capabilities:
            continue
        if rule.matching(stack.ddtrace) is None:
            continue
        dep = matrix.deployment(stack.deployment)
        where = dep.name if dep else stack.deployment
        clear = first_release_clear(matrix, stack.deployment, cap.id, stack.ddtrace)
        fix = (
            f"upgrade ddtrace to >={clear}"
            if clear is not None
            else f"run {cap.name} on another deployment type than {where}"
        )
        out.append(
            _Problem(
                "AG402",
                Status.UNSUPPORTED,
                f"{rule.reason} (ddtrace {stack.ddtrace}, {where})",
                fix,
                rule.source,
            )
        )
    return out


def first_release_clear(
    matrix: Matrix, deployment: str, capability: str, version: Version
) -> Optional[Version]:
    """The release from which on no exclusion of ``capability`` on ``deployment`` applies any
    more (so that later patch releases do not switch it off again), or None if one never ends."""
    from packaging.version import Version

    ceilings: List[Version] = []
    for rule in matrix.exclusions:
        if rule.deployment != deployment or capability not in rule.capabilities:
            continue
        for spec in rule.ddtrace:
            ends = [Version(s.version) for s in spec if s.operator == "<"]
            if not ends:
                return None  # excluded from some release on, for good
            if min(ends) > version:
                ceilings.append(min(ends))
    return max(ceilings, default=version)


def _deployment_rules(cap: CapabilityRule, stack: Stack, matrix: Matrix) -> List[_Problem]:
    out = _exclusion_rules(cap, stack, matrix)
    if cap.id not in matrix.deployment_capabilities:
        return out
    dep = matrix.deployment(stack.deployment)
    if dep is None or cap.id in dep.supports:
        return out  # an unlisted deployment is reported once, by _stack_findings
    where = [d.name for d in matrix.deployments if cap.id in d.supports]
    setting = matrix.settings.get(cap.id)
    fix = f"run it on {join_words(where, 'or')}" if where else "run it elsewhere"
    if setting:
        fix += f", or turn off {setting} here"
    out.append(
        _Problem(
            "AG400",
            Status.UNSUPPORTED,
            f"{cap.name} is not available on {dep.name}",
            f"{cap.name} is not available on {dep.name}: {fix}",
            dep.source,
        )
    )
    return out


# --- frameworks ------------------------------------------------------------------------------


def _framework_rules(cap: CapabilityRule, stack: Stack, matrix: Matrix) -> List[_Problem]:
    if cap.id == matrix.auth_capability:
        return _auth_rules(cap, stack, matrix)
    if cap.id not in matrix.web_framework_capabilities or stack.framework is None:
        return []  # no web framework (a plain Lambda handler, a worker): nothing to check
    fw = stack.framework
    rule = matrix.web_framework(fw.name)
    src = matrix.web_frameworks_source
    listed = join_words([f.name for f in matrix.web_frameworks], "and")
    if rule is None:
        return [
            _Problem(
                "AG301",
                Status.UNKNOWN,
                f"{cap.name} is not documented for {fw}: the matrix lists {listed} only",
                f"no documented support for {fw.name}; serve the app with {listed}, "
                "or test it and add a row with APPSEC_GUARD_MATRIX",
                src,
            )
        ]
    out = []
    if cap.id not in rule.supports:
        out.append(
            _Problem(
                "AG306",
                Status.UNSUPPORTED,
                f"{cap.name} is not supported on {rule.name}",
                f"serve the app with a framework listed for {cap.name}",
                rule.source,
            )
        )
    if fw.version is None:
        out.append(
            _Problem(
                "AG302",
                Status.UNKNOWN,
                f"the version of {rule.name} could not be read",
                f"reinstall {rule.name} so that its metadata has a version, "
                f"or state it: --assume framework={rule.id}==X.Y",
                rule.source,
            )
        )
    elif fw.version < rule.min_version:
        out.append(
            _Problem(
                "AG300",
                Status.UNSUPPORTED,
                f"{cap.name} needs {rule.name} {rule.min_version} or newer; this is {fw.version}",
                f"upgrade {rule.name} to >={rule.min_version}",
                rule.source,
            )
        )
    return out


def _integration_rules(cap: CapabilityRule, stack: Stack, matrix: Matrix) -> List[_Problem]:
    """The framework versions this ddtrace release's integration can run (framework_integrations):
    outside them the integration fails, and every AppSec capability with it."""
    fw = stack.framework
    if stack.ddtrace is None or fw is None or fw.version is None:
        return []
    out = []
    for lim in matrix.integration_limits:
        if lim.framework != fw.name or cap.id not in lim.capabilities:
            continue
        spec = lim.matching(stack.ddtrace)
        if spec is None or lim.runs.contains(fw.version, prereleases=True):
            continue
        rule = matrix.web_framework(fw.name)
        name = rule.name if rule else fw.name
        floor_only = all(s.operator in (">=", ">") for s in lim.runs)
        fixes = [f"upgrade {fw.name} to {lim.runs}" if floor_only else f"pin {fw.name}{lim.runs}"]
        # past every bounded range of the row: a pin >=1.9.7 would let 1.10.x in again
        from packaging.version import Version  # only for a finding: off the usual boot path

        ends = [
            max(Version(s.version) for s in sp if s.operator == "<")
            for sp in lim.ddtrace
            if any(s.operator == "<" for s in sp)
        ]
        if ends and any(s.operator == "<" for s in spec) and lim.matching(max(ends)) is None:
            fixes.insert(0, f"upgrade ddtrace to >={max(ends)}")
        out.append(
            _Problem(
                "AG307",
                Status.UNSUPPORTED,
                f"ddtrace {stack.ddtrace}'s {name} integration does not cover {name} "
                f"{fw.version} (only {name}{lim.runs}): {lim.reason}; {cap.name} does not work",
                join_words(fixes, "or"),
                lim.source,
            )
        )
    return out


def _auth_rules(cap: CapabilityRule, stack: Stack, matrix: Matrix) -> List[_Problem]:
    src = matrix.auth_source
    listed = "; ".join(f"{a.name} {', '.join(a.versions)}" for a in matrix.auth_frameworks)
    fw = stack.framework
    if fw is None:
        return [
            _Problem(
                "AG304",
                Status.UNSUPPORTED,
                f"{cap.name} needs an authentication framework integration ({listed}); "
                "no web framework runs here",
                f"use {listed} for logins, or send login events with ddtrace's user tracking SDK",
                src,
            )
        ]
    rule = matrix.auth_framework(fw.name)
    if rule is None:
        return [
            _Problem(
                "AG304",
                Status.UNSUPPORTED,
                f"{cap.name} has no integration for {fw.name} (the matrix lists {listed})",
                "send login events with ddtrace's user tracking SDK, or move logins to " + listed,
                src,
            )
        ]
    if fw.version is None:
        return [
            _Problem(
                "AG302",
                Status.UNKNOWN,
                f"the version of {rule.name} could not be read",
                f"state it: --assume framework={rule.id}==X.Y",
                src,
            )
        ]
    if rule.allows(fw.version):
        return []
    return [
        _Problem(
            "AG304",
            Status.UNSUPPORTED,
            f"{cap.name} covers {rule.name} {', '.join(rule.versions)}; this is {fw.version}",
            f"move {rule.name} to {nearest_auth_version(rule, fw.version)}",
            rule.source or src,
        )
    ]


def nearest_auth_version(rule: AuthFrameworkRule, current: Version) -> str:
    """The smallest listed release at or above ``current`` (else the newest listed)."""
    from packaging.version import Version

    floors: List[Tuple[Version, str]] = sorted(
        (start, text.replace(" ", ""))
        for text, start in ((t, floor(s)) for t, s in zip(rule.versions, rule.specifiers))
        if start is not None
    )
    above = [f for f in floors if f[0] >= Version(f"{current.major}.{current.minor}")]
    if not floors:
        return "a listed version"
    return (above[0] if above else floors[-1])[1]


# --- the stack as a whole --------------------------------------------------------------------


def _stack_findings(stack: Stack, matrix: Matrix) -> List[Finding]:
    out = []
    if stack.ddtrace is not None:
        branches = [b for b in matrix.release_branches if contains(b.ddtrace, stack.ddtrace)]
        if not branches:
            out.append(
                Finding(
                    "AG103",
                    Severity.INFO,
                    None,
                    f"the matrix lists no support level for ddtrace {stack.ddtrace}",
                    "check ddtrace's versioning policy for this release line",
                )
            )
        for b in branches:
            if b.support.lower().startswith(("maintenance", "end of life", "eol")):
                out.append(
                    Finding(
                        "AG102",
                        Severity.WARNING,
                        None,
                        f"ddtrace {stack.ddtrace} is on a release line in {b.support} ({b.ddtrace})",
                        "upgrade ddtrace to a generally available release line",
                        matrix.cite(b.source) if b.source else "",
                    )
                )
    if stack.deployment not in {d.id for d in matrix.deployments}:
        out.append(
            Finding(
                "AG401",
                Severity.INFO,
                None,
                f"the deployment type {stack.deployment!r} is not in the matrix "
                f"(it lists {join_words([d.name for d in matrix.deployments], 'and')}); "
                "capabilities are judged on the other rules",
                "",
            )
        )
    rule = matrix.web_framework(stack.framework.name) if stack.framework else None
    if rule is not None:
        out.extend(
            Finding(
                "AG303",
                Severity.WARNING,
                None,
                f"{rule.name}: {caveat}",
                f"do not count on Application Security for this on {rule.name}: "
                "validate that input in the app itself",
                matrix.cite(rule.source) if rule.source else "",
            )
            for caveat in rule.caveats
        )
    return out
