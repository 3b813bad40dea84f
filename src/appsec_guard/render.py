"""Text for people, in one place: reports, the matrix, plans, matrix diffs, the refusal of strict
mode, and remediations worded for the entry point that shows them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Mapping, Sequence

from .model import Finding, Report, Severity, Status, Verdict, findings_by_severity
from .session import ENTRIES, remediation_for, worded_for  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from .diff import Change
    from .matrix import Matrix
    from .plan import Plan

_MARK = {
    Status.SUPPORTED: "ok",
    Status.UNSUPPORTED: "NO",
    Status.UNKNOWN: "??",
    Status.BETA: "beta",
}


def report_text(report: Report, *, verbose: bool = False) -> str:
    """The stack, a line per capability, then the findings (info ones with ``verbose``)."""
    s = report.stack
    rt = s.runtime
    fw = "none" if s.framework is None else str(s.framework)
    lines = [
        "Stack",
        f"  python        {rt.implementation} {rt.version} on {rt.os} {rt.arch}",
        f"  ddtrace       {s.ddtrace if s.ddtrace is not None else 'not installed'}",
        f"  framework     {fw}",
        f"  deployment    {s.deployment}",
        f"  remote config {s.remote_config.value}",
        "",
        "Capabilities",
    ]
    width = max(len(v.capability) for v in report.verdicts)
    for v in report.verdicts:
        wanted = "required" if v.required else "requested" if v.requested else ""
        shown_reason = v.status is not Status.SUPPORTED or v.fails
        reason = (
            f"  {v.reasons[-1 if v.fails and v.status is Status.SUPPORTED else 0]}"
            if v.reasons and shown_reason
            else ""
        )
        more = f" (+{len(v.reasons) - 1} more)" if len(v.reasons) > 1 and reason else ""
        mark = "NO" if v.fails else _MARK[v.status]
        active = f"{v.active.value:<7}" if v.active is not None else ""
        lines.append(
            f"  {v.capability:<{width}}  {mark:<4} {v.status.value:<11} {active}{wanted:<9}{reason}{more}"
        )
    shown = [
        f
        for f in findings_by_severity(report.findings)
        if verbose or f.severity is not Severity.INFO
    ]
    hidden = len(report.findings) - len(shown)
    lines += ["", "Findings" if shown else "No warnings or errors."]
    for f in shown:
        cap = f" [{f.capability}]" if f.capability else ""
        lines.append(f"  {f.severity.value.upper():<7} {f.id}{cap} {f.message}")
        if f.remediation:
            lines.append(f"          fix: {f.remediation}")
    if hidden:
        lines.append(f"  ({hidden} info findings not shown: add --verbose)")
    failed = report.failed
    lines.append("")
    if failed:
        names = ", ".join(v.capability for v in failed)
        lines.append(f"FAIL: requested or required capabilities will not work: {names}")
    else:
        lines.append("OK: no requested or required capability is unsupported")
    return "\n".join(lines) + "\n"


def matrix_text(matrix: Matrix) -> str:
    lines: List[str] = ["Capabilities (minimum ddtrace)"]
    for c in matrix.capabilities:
        minimum = str(c.min_ddtrace) if c.min_ddtrace else c.stage
        extra = []
        if c.id in matrix.remote_config_required_by:
            extra.append("needs Remote Configuration")
        if c.requires:
            extra.append("needs " + ", ".join(c.requires))
        note = f"  ({'; '.join(extra)})" if extra else ""
        lines.append(f"  {c.id:<26} {minimum:<14}{note}")
    lines += ["", "Deployment types"]
    for d in matrix.deployments:
        cols = ", ".join(
            f"{cap}: {'yes' if cap in d.supports else 'no'}"
            for cap in sorted(matrix.deployment_capabilities)
        )
        lines.append(f"  {d.name:<14} {cols}")
    if matrix.no_remote_config_deployments:
        lines.append(
            f"  no Remote Configuration on: {', '.join(sorted(matrix.no_remote_config_deployments))}"
        )
    lines += ["", "ddtrace release lines"]
    for b in matrix.release_branches:
        lines.append(f"  {b.ddtrace!s:<12} {b.support}")
    lines += ["", "Runtimes (ddtrace, OS, CPU, Python)"]
    for r in matrix.runtimes:
        lines.append(
            f"  {r.ddtrace!s:<12} {r.os:<8} {', '.join(sorted(r.cpus)):<24} "
            f"{r.implementation} {', '.join(r.python_text)}"
        )
    lines += ["", "Web frameworks"]
    for f in matrix.web_frameworks:
        caveats = f"  (caveat: {'; '.join(f.caveats)})" if f.caveats else ""
        lines.append(
            f"  {f.name:<8} >={f.min_version!s:<8} {', '.join(sorted(f.supports))}{caveats}"
        )
    if matrix.all_framework_capabilities:
        lines.append(
            f"  on every framework: {', '.join(sorted(matrix.all_framework_capabilities))}"
        )
    lines += ["", f"Authentication frameworks ({matrix.auth_capability})"]
    for a in matrix.auth_frameworks:
        lines.append(f"  {a.name:<8} {', '.join(a.versions)}")
    if matrix.datastores:
        lines += ["", "Data stores"]
        lines += [f"  {v}" for k, v in matrix.datastores.items() if k != "source"]
    lines += ["", "Sources"]
    lines += [f"  {s.id}: {s.title} {s.url}".rstrip() for s in matrix.sources]
    return "\n".join(lines) + "\n"


# --- the plan and the matrix diff ------------------------------------------------------------


def plan_text(p: Plan, matrix: Matrix) -> str:
    """The plan: each step and why, the verification, the blockers and the way out."""
    from .judge import describe_runtime

    s = p.stack
    fw = str(s.framework) if s.framework else "no web framework"
    dd = f"ddtrace {s.ddtrace}" if s.ddtrace else "no ddtrace"
    lines = [
        f"Plan for {', '.join(p.required)} on {describe_runtime(s)}, {dd}, {fw}, "
        f"deployment {s.deployment}, Remote Configuration {s.remote_config.value}",
    ]
    if not p.steps and not p.blockers and p.ok:
        lines.append("Nothing to change: every required capability is supported here.")
    for i, step in enumerate(p.steps, 1):
        lines.append(f"  {i}. {step.action}    [{step.change}]")
        lines.append(f"     why: {step.reason}")
    if p.steps:
        verdicts = ", ".join(f"{c} {p.after.verdict(c).status.value}" for c in p.required)
        word = "Verified by judging" if p.ok else "Judged"
        lines.append(f"{word} the changed stack again: {verdicts}.")
    for cap, why in p.unresolved:
        lines.append(f"Still not supported: {cap}: {why}")
    if p.blockers:
        dep = matrix.deployment(s.deployment)
        lines.append(f"Cannot be satisfied on {dep.name if dep else s.deployment}:")
        lines += [f"  - {b.capability}: {b.reason}" for b in p.blockers]
        alt = p.alternative
        if alt is None:
            lines.append("  No listed deployment type supports all of them.")
        else:
            lines.append("  The only way, a deployment change:")
            for i, step in enumerate(alt.steps, 1):
                lines.append(f"    {i}. {step.action}    [{step.change}]")
            state = "verified" if alt.verified else "NOT verified"
            verdicts = ", ".join(f"{c} {alt.after.verdict(c).status.value}" for c in alt.required)
            lines.append(f"  {state} by judging the moved stack again: {verdicts}.")
    return "\n".join(lines) + "\n"


def diff_text(changes: Sequence[Change], old_label: str, new_label: str) -> str:
    """The changes between two matrices, in release-note words."""
    if not changes:
        return f"no changes between {old_label} and {new_label}\n"
    lines = [f"{len(changes)} change(s) from {old_label} to {new_label}:"]
    lines += [f"- {c.text}" for c in changes]
    return "\n".join(lines) + "\n"


# --- the refusal of strict mode ---------------------------------------------------------------


def refusal_text(
    report: Report,
    failing: Sequence[Verdict],
    own: Sequence[Finding],
    facts: Mapping[str, object],
    *,
    mode_origin: str,
    silence_origin: str,
) -> str:
    """Why strict mode refuses the boot, naming where the mode and the silence are set."""
    by_cap: Dict[str, List[Finding]] = {}
    for f in report.findings:
        if f.capability:
            by_cap.setdefault(f.capability, []).append(f)
    n = len(failing)
    lines = [
        f"appsec-guard refused to boot ({_setting(mode_origin, 'strict')}): {n} requested or "
        "required Datadog AppSec capabilit"
        + ("y" if n == 1 else "ies")
        + " will not work on this stack",
        "  stack: " + ", ".join(f"{k}={v}" for k, v in facts.items()),
    ]
    for v in failing:
        why = [
            w for w in ("requested" if v.requested else "", "required" if v.required else "") if w
        ]
        state = "off" if v.status is Status.SUPPORTED and v.fails else v.status.value
        lines.append(f"  - {v.capability} ({' and '.join(why)}): {state}")
        for f in by_cap.get(v.capability, ()):
            if f.severity is Severity.INFO and v.status is Status.UNSUPPORTED:
                continue
            lines.append(f"      [{f.id}] {f.message}")
            if f.remediation:
                lines.append(f"        fix: {f.remediation}")
    for f in own:
        lines.append(f"  - [{f.id}] {f.message}")
        if f.remediation:
            lines.append(f"        fix: {f.remediation}")
    silence = "APPSEC_GUARD_SILENCE" if silence_origin == "default" else silence_origin
    lines.append(
        f"  To boot anyway: silence a finding (add its id to {silence}) or set "
        f"{_setting(mode_origin, 'warn')} to log instead of refusing."
    )
    return "\n".join(lines)


def _setting(origin: str, value: str) -> str:
    """``APPSEC_GUARD_MODE=strict``, ``settings.APPSEC_GUARD['mode']='strict'``, ``mode='strict'``."""
    if origin.startswith("APPSEC_GUARD_"):
        return f"{origin}={value}"
    if origin.startswith("argument "):
        return f"{origin[len('argument ') :]}{value!r}"  # "mode=" + "'strict'"
    return f"{origin}={value!r}"
