"""The smallest set of changes that makes the required capabilities work: pure, no I/O.

:func:`plan` tries candidate changes against the matrix, one dimension at a time and in the
order a team would make them (ddtrace, and Python if that ddtrace needs it; the web framework;
Remote Configuration; the deployment type), keeps only those that are needed, and verifies the
result by judging the changed stack again with :func:`appsec_guard.judge.judge`. What no change
within the current deployment type can fix is a *blocker*; its only way out (another deployment
type) is planned and verified separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from packaging.version import Version

from .judge import (
    describe_runtime,
    first_release_clear,
    is_end_of_life,
    join_words,
    judge,
    runtime_matches,
    runtime_rows_for,
)
from .matrix import IntegrationLimit, Matrix
from .matrix import floor as range_floor
from .model import Framework, RemoteConfig, Report, Runtime, Stack, Status

_OK = (Status.SUPPORTED, Status.BETA)


@dataclass(frozen=True)
class Step:
    """One change. ``change`` is the machine-readable form (a pin, a setting, a fact)."""

    kind: str  # "python", "ddtrace", "framework", "setting", "agent", "verify", "deployment"
    action: str
    change: str
    reason: str
    capabilities: Tuple[str, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        return {
            "kind": self.kind,
            "action": self.action,
            "change": self.change,
            "reason": self.reason,
            "capabilities": list(self.capabilities),
        }


@dataclass(frozen=True)
class Blocker:
    """A required capability no change can make work on this deployment type."""

    capability: str
    reason: str

    def to_dict(self) -> Dict[str, Any]:
        return {"capability": self.capability, "reason": self.reason}


@dataclass(frozen=True)
class Alternative:
    """The way out of the blockers: another deployment type, with every step it needs."""

    steps: Tuple[Step, ...]
    after: Report
    required: Tuple[str, ...]

    @property
    def verified(self) -> bool:
        return all(self.after.verdict(c).status in _OK for c in self.required)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "steps": [s.to_dict() for s in self.steps],
            "verified": self.verified,
            "after": {c: self.after.verdict(c).status.value for c in self.required},
        }


@dataclass(frozen=True)
class Plan:
    required: Tuple[str, ...]
    stack: Stack
    steps: Tuple[Step, ...]
    after: Report  # the stack judged again with every step applied
    blockers: Tuple[Blocker, ...] = ()
    unresolved: Tuple[Tuple[str, str], ...] = ()  # (capability, why) left after the steps
    alternative: Optional[Alternative] = None

    @property
    def ok(self) -> bool:
        """Every required capability works on this deployment type once the steps are made."""
        return not self.blockers and all(self.after.verdict(c).status in _OK for c in self.required)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "required": list(self.required),
            "ok": self.ok,
            "stack": {k: v for k, v in self.stack.to_dict().items() if k != "evidence"},
            "steps": [s.to_dict() for s in self.steps],
            "after": {c: self.after.verdict(c).status.value for c in self.required},
            "blockers": [b.to_dict() for b in self.blockers],
            "unresolved": [{"capability": c, "reason": r} for c, r in self.unresolved],
            "alternative": None if self.alternative is None else self.alternative.to_dict(),
        }


def closure(matrix: Matrix, required: Iterable[str]) -> List[str]:
    """The required capabilities and those they need, in matrix order."""
    wanted: Set[str] = set()
    todo = list(required)
    while todo:
        cap = todo.pop()
        if cap not in wanted:
            wanted.add(cap)
            todo.extend(matrix.capability(cap).requires)
    return [c for c in matrix.capability_ids if c in wanted]


def plan(stack: Stack, matrix: Matrix, required: Sequence[str]) -> Plan:
    """Plan the changes that make every capability of ``required`` supported on ``stack``."""
    required = tuple(dict.fromkeys(required))
    judge(stack, matrix, required=required)  # raises ValueError for an unknown capability
    caps = closure(matrix, required)
    steps, changed = _steps(stack, matrix, caps)
    blockers = _blockers(stack, matrix, caps)
    after = judge(changed, matrix, required=required)
    blocked = {b.capability for b in blockers}
    unresolved = tuple(
        (c, "; ".join(after.verdict(c).reasons) or after.verdict(c).status.value)
        for c in required
        if c not in blocked and after.verdict(c).status not in _OK
    )
    alternative = _alternative(stack, matrix, caps, required) if blockers else None
    return Plan(required, stack, tuple(steps), after, tuple(blockers), unresolved, alternative)


def _steps(stack: Stack, matrix: Matrix, caps: Sequence[str]) -> Tuple[List[Step], Stack]:
    steps: List[Step] = []
    for planner in (_ddtrace_steps, _framework_steps, _remote_config_steps):
        more, stack = planner(stack, matrix, caps)
        steps.extend(more)
    return steps, stack


def _name(matrix: Matrix, cap: str) -> str:
    return matrix.capability(cap).name


def _v3(v: Version) -> str:
    return f"{v.major}.{v.minor}.{v.micro}"


# --- ddtrace and Python ----------------------------------------------------------------------


def _spec_floors(matrix: Matrix) -> Set[Version]:
    return {
        start for r in matrix.runtimes for start in [range_floor(r.ddtrace)] if start is not None
    }


def _ddtrace_steps(stack: Stack, matrix: Matrix, caps: Sequence[str]) -> Tuple[List[Step], Stack]:
    minimums: Dict[str, Version] = {}
    for c in caps:
        minimum = matrix.capability(c).min_ddtrace
        if minimum is not None:
            minimums[c] = minimum
    with_min = list(minimums)
    floor = max(minimums.values(), default=None)
    current = stack.ddtrace

    def runs(version: Version, s: Stack) -> bool:
        return any(runtime_matches(r, s) for r in runtime_rows_for(version, matrix))

    # Releases that switch a capability off on this deployment type do not count as working,
    # and neither does a pin (>=X) that would let such a release in later: X must be the
    # release from which on no exclusion applies. Exclusions with no end cannot be cleared
    # by any ddtrace; the re-judged verdict reports them.
    dep = stack.deployment
    start = current or floor or Version("0")
    avoid = [c for c in caps if first_release_clear(matrix, dep, c, start) is not None]
    switched_off = tuple(
        c for c in avoid if current is not None and _excluded(matrix, dep, c, current)
    )

    # Likewise releases whose integration does not cover this framework version
    # (framework_integrations), and a pin that would let a later such range in.
    uncovered = _uncovered(matrix, stack, caps, current) if current is not None else ()
    integration_floor = _integration_floor(matrix, stack, caps)

    def clear_from(version: Version) -> bool:
        return (
            all(first_release_clear(matrix, dep, c, version) == version for c in avoid)
            and not _uncovered(matrix, stack, caps, version)
            and version >= integration_floor
        )

    if (
        current is not None
        and (floor is None or current >= floor)
        and runs(current, stack)
        and not switched_off
        and not uncovered
    ):
        return [], stack
    candidates = sorted(
        v
        for v in {
            *_spec_floors(matrix),
            *_exclusion_ends(matrix, dep, avoid),
            *_integration_ends(matrix, stack, caps),
            *([floor] if floor else []),
            *([current] if current else []),
        }
        if (floor is None or v >= floor) and (current is None or v >= current) and clear_from(v)
    )
    needing = tuple(c for c in with_min if current is None or current < minimums[c])
    dep_rule = matrix.deployment(dep)
    off = (
        f"ddtrace {current} switches {join_words([_name(matrix, c) for c in switched_off])} off on "
        f"{dep_rule.name if dep_rule else dep}"
        if switched_off
        else ""
    )
    why = (
        f"{join_words([_name(matrix, c) for c in needing])} need{'s' if len(needing) == 1 else ''} "
        f"ddtrace {floor} or newer"
        if needing and floor
        else off
        if off
        else f"ddtrace {current} does not support {describe_runtime(stack)}"
        if current is not None
        else "ddtrace is not installed"
    )
    if off and off not in why:
        why += f"; {off}"
    if uncovered and stack.framework is not None:
        fw = stack.framework
        text = f"ddtrace {current}'s {fw.name} integration does not cover {fw}"
        why = text if why.startswith(f"ddtrace {current} does not support") else f"{why}; {text}"
    needing = tuple(dict.fromkeys(needing + switched_off + uncovered))
    # A release line the matrix calls end of life is suggested only when no other line will do
    # (the re-judged stack would draw AG102 for it).
    eol = {v for v in candidates if is_end_of_life(matrix, v)}
    first_running = next((v for v in candidates if runs(v, stack)), None)
    for version in [v for v in candidates if v not in eol] + [v for v in candidates if v in eol]:
        if runs(version, stack):
            if current is not None and runs(current, stack):
                support = f"ddtrace {_v3(version)} still supports {describe_runtime(stack)}"
            elif version != first_running and first_running in eol:
                support = (
                    f"ddtrace {_v3(version)} is the first release on a line not in end of life "
                    f"that supports {describe_runtime(stack)}"
                )
            elif floor is not None and version > floor:
                support = (
                    f"ddtrace {_v3(version)} is the first release from {floor} on that "
                    f"supports {describe_runtime(stack)}"
                )
            else:
                support = f"ddtrace {_v3(version)} supports {describe_runtime(stack)}"
            return [
                _ddtrace_step(current, version, f"{why}; {support}", needing or tuple(caps))
            ], stack.with_facts(ddtrace=version)
    # No release from this one on runs this Python: an older release line may (the answer
    # the judgement gives), before moving Python.
    if current is not None and not runs(current, stack):
        down = _downgrade(stack, matrix, floor, current, clear_from)
        if down is not None:
            version, ceiling = down
            support = (
                f"ddtrace {_v3(version)} up to {ceiling} (excluded) supports "
                f"{describe_runtime(stack)}; no release from {_v3(current)} on does"
            )
            pin = f"ddtrace>={_v3(version)}" + (f",<{ceiling}" if ceiling else "")
            step = Step(
                "ddtrace",
                f"downgrade ddtrace to {pin[len('ddtrace') :]}",
                pin,
                f"{why}; {support}",
                needing or tuple(caps),
            )
            return [step], stack.with_facts(ddtrace=version)
    # No release at or above the floor runs this Python: move Python too.
    rt = stack.runtime
    for version in candidates:
        rows = [
            r
            for r in runtime_rows_for(version, matrix)
            if r.os == rt.os and rt.arch in r.cpus and r.implementation == rt.implementation
        ]
        minors = sorted(set().union(*(r.pythons for r in rows))) if rows else []
        if not minors:
            continue
        above = [m for m in minors if m >= rt.minor]
        target = above[0] if above else minors[-1]
        py = Version(f"{target[0]}.{target[1]}")
        moved = stack.with_facts(runtime=Runtime(rt.implementation, py, rt.os, rt.arch))
        since = f" from {floor} on" if floor is not None else ""
        out = [
            Step(
                "python",
                f"move to Python {py}",
                f"python={py}",
                f"{why}; no ddtrace release{since} in the matrix supports "
                f"{describe_runtime(stack)}; ddtrace {_v3(version)} supports {describe_runtime(moved)}",
                needing or tuple(caps),
            )
        ]
        if version != current:
            out.append(
                _ddtrace_step(
                    current,
                    version,
                    f"{why}; ddtrace {_v3(version)} supports {describe_runtime(moved)}",
                    needing or tuple(caps),
                )
            )
        return out, moved.with_facts(ddtrace=version)
    return [], stack  # nothing in the matrix runs here: the re-judged verdict says why


def _limits_against(matrix: Matrix, stack: Stack, caps: Sequence[str]) -> List[IntegrationLimit]:
    """The framework_integrations rows that leave this framework version out, for ``caps``."""
    fw = stack.framework
    if fw is None or fw.version is None:
        return []
    return [
        lim
        for lim in matrix.integration_limits
        if lim.framework == fw.name
        and lim.capabilities.intersection(caps)
        and not lim.runs.contains(fw.version, prereleases=True)
    ]


def _uncovered(
    matrix: Matrix, stack: Stack, caps: Sequence[str], version: Version
) -> Tuple[str, ...]:
    """The capabilities of ``caps`` that ddtrace ``version``'s integration leaves out here."""
    limits = [lim for lim in _limits_against(matrix, stack, caps) if lim.matching(version)]
    return tuple(c for c in caps if any(c in lim.capabilities for lim in limits))


def _integration_ends(matrix: Matrix, stack: Stack, caps: Sequence[str]) -> Set[Version]:
    return {
        Version(s.version)
        for lim in _limits_against(matrix, stack, caps)
        for spec in lim.ddtrace
        for s in spec
        if s.operator == "<"
    }


def _integration_floor(matrix: Matrix, stack: Stack, caps: Sequence[str]) -> Version:
    """A pin must start above every bounded range that leaves this framework out (ranges with
    no end cannot be cleared by any ddtrace; the re-judged verdict reports them)."""
    ends = [
        max(Version(s.version) for s in spec if s.operator == "<")
        for lim in _limits_against(matrix, stack, caps)
        for spec in lim.ddtrace
        if any(s.operator == "<" for s in spec)
    ]
    return max(ends, default=Version("0"))


def _downgrade(
    stack: Stack,
    matrix: Matrix,
    floor: Optional[Version],
    current: Version,
    clear_from: Any,
) -> Optional[Tuple[Version, Optional[Version]]]:
    """The newest release line older than ``current`` that runs this stack's Python, OS and
    CPU, at or above the capabilities' ``floor``: (its first usable release, its end)."""
    best: Optional[Tuple[Version, Optional[Version]]] = None
    for row in matrix.runtimes:
        if not runtime_matches(row, stack):
            continue
        start = range_floor(row.ddtrace) or Version("0")
        version = max(start, floor) if floor is not None else start
        ends = [Version(s.version) for s in row.ddtrace if s.operator == "<"]
        ceiling = min(ends) if ends else None
        if version >= current or not row.covers_ddtrace(version) or not clear_from(version):
            continue
        if best is None or (ceiling or version) > (best[1] or best[0]):
            best = (version, ceiling)
    return best


def _excluded(matrix: Matrix, deployment: str, capability: str, version: Version) -> bool:
    return any(
        e.deployment == deployment
        and capability in e.capabilities
        and e.matching(version) is not None
        for e in matrix.exclusions
    )


def _exclusion_ends(matrix: Matrix, deployment: str, caps: Sequence[str]) -> Set[Version]:
    """The releases where an exclusion of one of ``caps`` on ``deployment`` ends."""
    return {
        Version(s.version)
        for e in matrix.exclusions
        if e.deployment == deployment and e.capabilities.intersection(caps)
        for spec in e.ddtrace
        for s in spec
        if s.operator == "<"
    }


def _ddtrace_step(
    current: Optional[Version], version: Version, reason: str, caps: Tuple[str, ...]
) -> Step:
    action = (
        f"install ddtrace>={_v3(version)}"
        if current is None
        else f"upgrade ddtrace to >={_v3(version)}"
    )
    return Step(
        "ddtrace",
        action,
        f"ddtrace>={_v3(version)}",
        reason,
        caps,
    )


# --- the web framework -----------------------------------------------------------------------


def _framework_steps(stack: Stack, matrix: Matrix, caps: Sequence[str]) -> Tuple[List[Step], Stack]:
    fw = stack.framework
    if fw is None or fw.version is None:
        return [], stack
    web = matrix.web_framework(fw.name)
    auth = matrix.auth_framework(fw.name)
    web_caps = [c for c in caps if c in matrix.web_framework_capabilities and web is not None]
    auth_caps = [c for c in caps if c == matrix.auth_capability and auth is not None]

    def fits(v: Version) -> bool:
        if web_caps and web is not None and v < web.min_version:
            return False
        return not (auth_caps and auth is not None and not auth.allows(v))

    if fits(fw.version) or not (web_caps or auth_caps):
        return [], stack
    candidates: Set[Version] = set()
    if web_caps and web is not None:
        candidates.add(web.min_version)
    if auth_caps and auth is not None:
        candidates.update(start for start in map(range_floor, auth.specifiers) if start is not None)
    current = Version(f"{fw.version.major}.{fw.version.minor}")
    for version in sorted(v for v in candidates if v >= current):
        if fits(version):
            rule = auth if auth_caps and auth is not None else web
            assert rule is not None
            listed = (
                f"{_name(matrix, auth_caps[0])} covers {rule.name} {', '.join(auth.versions)}"
                if auth_caps and auth is not None
                else ""
            )
            floor = (
                f"{join_words([_name(matrix, c) for c in web_caps])} need {rule.name} {web.min_version} or newer"
                if web_caps and web is not None and fw.version < web.min_version
                else ""
            )
            open_ended = (
                auth is not None
                and auth_caps
                and not any(Version(v) == version for v in auth.versions if v[:1].isdigit())
            )
            pin = f">={version}" if open_ended or not auth_caps else f"=={version}.*"
            return [
                Step(
                    "framework",
                    f"upgrade {rule.name} to {version}",
                    f"{fw.name}{pin}",
                    "; ".join(x for x in (floor, listed) if x) + f"; this is {fw.version}",
                    tuple(web_caps + auth_caps),
                )
            ], stack.with_facts(framework=Framework(fw.name, version))
    return [], stack


# --- Remote Configuration --------------------------------------------------------------------


def _remote_config_steps(
    stack: Stack, matrix: Matrix, caps: Sequence[str]
) -> Tuple[List[Step], Stack]:
    needing = tuple(c for c in caps if c in matrix.remote_config_required_by)
    if not needing or stack.deployment in matrix.no_remote_config_deployments:
        return [], stack
    names = join_words([_name(matrix, c) for c in needing])
    rc = stack.remote_config
    if rc is RemoteConfig.DISABLED:
        step = Step(
            "setting",
            "set DD_REMOTE_CONFIGURATION_ENABLED=true (or unset it: it is on by default)",
            "DD_REMOTE_CONFIGURATION_ENABLED=true",
            f"{names} need{'s' if len(needing) == 1 else ''} Remote Configuration, "
            "which DD_REMOTE_CONFIGURATION_ENABLED turns off",
            needing,
        )
    elif rc is RemoteConfig.UNAVAILABLE:
        step = Step(
            "agent",
            "enable Remote Configuration on the Datadog Agent (Agent 7.41.1 or newer)",
            "agent:DD_REMOTE_CONFIGURATION_ENABLED=true",
            f"{names} need Remote Configuration, and the Datadog Agent does not offer it",
            needing,
        )
    elif rc is RemoteConfig.UNKNOWN:
        step = Step(
            "verify",
            "make sure Remote Configuration is on: DD_REMOTE_CONFIGURATION_ENABLED not false, "
            "and the Datadog Agent offers it",
            "DD_REMOTE_CONFIGURATION_ENABLED=true",
            f"{names} need Remote Configuration, which could not be checked on this stack",
            needing,
        )
    else:
        return [], stack
    return [step], stack.with_facts(remote_config=RemoteConfig.ENABLED)


# --- the deployment type ---------------------------------------------------------------------


def _blockers(stack: Stack, matrix: Matrix, caps: Sequence[str]) -> List[Blocker]:
    out = []
    dep = matrix.deployment(stack.deployment)
    dep_name = dep.name if dep else stack.deployment
    for cap in caps:
        if dep is not None and cap in matrix.deployment_capabilities and cap not in dep.supports:
            out.append(
                Blocker(
                    cap,
                    f"{_name(matrix, cap)} is not available on {dep_name}, whatever the "
                    f"ddtrace version or settings (source: {matrix.cite(dep.source)})",
                )
            )
        elif (
            cap in matrix.remote_config_required_by
            and stack.deployment in matrix.no_remote_config_deployments
        ):
            out.append(
                Blocker(
                    cap,
                    f"{_name(matrix, cap)} needs Remote Configuration, which {dep_name} does not "
                    f"offer (source: {matrix.cite(matrix.no_remote_config_source)})",
                )
            )
    return out


def _alternative(
    stack: Stack, matrix: Matrix, caps: Sequence[str], required: Tuple[str, ...]
) -> Optional[Alternative]:
    needs_rc = any(c in matrix.remote_config_required_by for c in caps)
    listed = [c for c in caps if c in matrix.deployment_capabilities]
    targets = [
        d
        for d in matrix.deployments
        if d.id != stack.deployment
        and all(c in d.supports for c in listed)
        and not (needs_rc and d.id in matrix.no_remote_config_deployments)
    ]
    if not targets:
        return None
    moved = stack.with_facts(deployment=targets[0].id)
    if stack.deployment in matrix.no_remote_config_deployments:
        moved = moved.with_facts(remote_config=RemoteConfig.UNKNOWN)  # that fact was the platform's
    here = matrix.deployment(stack.deployment)
    move = Step(
        "deployment",
        f"move the service to {join_words([d.name for d in targets], 'or')}",
        f"deployment={targets[0].id}",
        f"the only way: {join_words([_name(matrix, c) for c in caps if c not in _supported_here(stack, matrix, caps)])} "
        f"cannot work on {here.name if here else stack.deployment}",
        tuple(caps),
    )
    steps, changed = _steps(moved, matrix, caps)
    return Alternative((move, *steps), judge(changed, matrix, required=required), required)


def _supported_here(stack: Stack, matrix: Matrix, caps: Sequence[str]) -> Set[str]:
    blocked = {b.capability for b in _blockers(stack, matrix, caps)}
    return {c for c in caps if c not in blocked}


# --- text ------------------------------------------------------------------------------------
