"""Detectors: find the facts of the running stack, cheaply and without side effects.

Each detector is a small function over explicit inputs (an environment mapping, a filesystem
root, the installed distributions, ``sys.modules``) and returns its fact with the evidence
that decided it. :func:`detect` runs them all; a fact the caller assumes is not detected.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, FrozenSet, List, Mapping, Optional, Tuple

from ..model import Evidence, Finding, Framework, RemoteConfig, Runtime, Stack
from .distributions import Distributions
from .framework import detect_framework
from .runtime import detect_runtime


@dataclass(frozen=True)
class Detection:
    """What the detectors found: the stack, the capabilities the DD_* settings ask for,
    and findings about the detection itself (an ambiguous framework, a misread setting)."""

    stack: Stack
    requested: FrozenSet[str] = frozenset()
    findings: Tuple[Finding, ...] = ()


def detect(
    environ: Optional[Mapping[str, str]] = None,
    *,
    assumed: Optional[Mapping[str, Any]] = None,
    root: Path = Path("/"),
    modules: Optional[Mapping[str, object]] = None,
    distributions: Optional[Distributions] = None,
    framework_hint: Optional[Framework] = None,
) -> Detection:
    """Detect every fact not in ``assumed`` (see :mod:`appsec_guard.assume` for its keys)."""
    env = os.environ if environ is None else environ  # read by the settings detector
    del env
    assumed = dict(assumed or {})
    mods = sys.modules if modules is None else modules
    dists = distributions if distributions is not None else Distributions.scan()
    evidence: List[Evidence] = []
    findings: List[Finding] = []

    runtime, ev = detect_runtime()
    runtime = Runtime(
        implementation=assumed.get("implementation", runtime.implementation),
        version=assumed.get("python", runtime.version),
        os=assumed.get("os", runtime.os),
        arch=assumed.get("arch", runtime.arch),
    )
    evidence.extend(e for e in ev if e.fact not in assumed)

    if "ddtrace" in assumed:
        ddtrace = assumed["ddtrace"]
    else:
        dist = dists.get("ddtrace")
        ddtrace = dist.version if dist else None
        evidence.append(
            Evidence(
                "ddtrace",
                dist.location if dist else "installed distributions",
                str(ddtrace) if ddtrace else "not installed",
            )
        )

    if "framework" in assumed:
        framework = assumed["framework"]
    else:
        framework, ev_fw, fw_findings = detect_framework(mods, dists, framework_hint)
        evidence.extend(ev_fw)
        findings.extend(fw_findings)

    deployment = assumed.get("deployment", "host")
    remote_config = assumed.get("remote_config", RemoteConfig.UNKNOWN)
    evidence.extend(
        Evidence(key, "assumed", _show(value)) for key, value in sorted(assumed.items())
    )

    stack = Stack(
        runtime=runtime,
        ddtrace=ddtrace,
        framework=framework,
        deployment=deployment,
        remote_config=remote_config,
        evidence=tuple(evidence),
    )
    return Detection(stack=stack, findings=tuple(findings))


def _show(value: Any) -> str:
    if value is None:
        return "none"
    return str(value.value if hasattr(value, "value") else value)
