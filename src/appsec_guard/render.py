"""Reports and the matrix as a person reads them."""

from __future__ import annotations

from typing import List

from .matrix import Matrix
from .model import Report, Severity, Status, findings_by_severity

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
