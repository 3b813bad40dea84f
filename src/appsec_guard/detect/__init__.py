"""Detectors: find the facts of the running stack, cheaply and without side effects.

Each detector is a small function over explicit inputs (an environment mapping, a filesystem
root, the installed distributions, ``sys.modules``) and returns its fact with the evidence
that decided it. :func:`detect` runs them all; a fact the caller assumes is not detected.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    FrozenSet,
    List,
    Mapping,
    Optional,
    Tuple,
    TypeVar,
    cast,
)

from .._versions import Release
from ..activation import Settings as ActivationSettings
from ..model import Evidence, Finding, Framework, RemoteConfig, Runtime, Severity, Stack
from .agent import ProbeOptions, detect_remote_config
from .deployment import detect_deployment
from .distributions import Distributions
from .framework import detect_framework
from .runtime import detect_runtime
from .settings import Settings, read_disk, read_settings

if TYPE_CHECKING:
    from dataclasses import dataclass

    from packaging.version import Version
else:  # the same frozen classes, defined without exec (see _frozen.py)
    from .._frozen import dataclass

__all__ = ["Detection", "ProbeOptions", "detect"]

T = TypeVar("T")


@dataclass(frozen=True)
class Detection:
    """What the detectors found: the stack, the capabilities the DD_* settings ask for,
    and findings about the detection itself (an ambiguous framework, a misread setting)."""

    stack: Stack
    requested: FrozenSet[str] = frozenset()
    findings: Tuple[Finding, ...] = ()
    #: the ddtrace settings, for what ddtrace will switch on (None: unknown)
    settings: Optional[ActivationSettings] = None


class _Boundary:
    """Runs each detector; one that raises gives AG900 and leaves its fact at its default."""

    def __init__(self) -> None:
        self.findings: List[Finding] = []

    def run(self, name: str, fallback: T, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:
            text = str(exc).splitlines()[0][:200] if str(exc) else ""
            self.findings.append(
                Finding(
                    "AG900",
                    Severity.WARNING,
                    None,
                    f"the {name} detector failed ({type(exc).__name__}"
                    + (f": {text}" if text else "")
                    + f"); {name} is unknown",
                    "state it with --assume, and report this to appsec-guard",
                )
            )
            return fallback


def _unknown_runtime() -> Runtime:
    return Runtime("unknown", cast("Version", Release((0,))), "unknown", "unknown")


def detect(
    environ: Optional[Mapping[str, str]] = None,
    *,
    assumed: Optional[Mapping[str, Any]] = None,
    root: Path = Path("/"),
    modules: Optional[Mapping[str, object]] = None,
    distributions: Optional[Distributions] = None,
    framework_hint: Optional[Framework] = None,
    probe: Optional[ProbeOptions] = None,
) -> Detection:
    """Detect every fact not in ``assumed`` (see :mod:`appsec_guard.assume` for its keys).

    Never raises: a detector that fails gives finding AG900 and its fact's unknown value.
    ``probe`` sets how the Agent is asked about Remote Configuration (deadline, on/off).
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    assumed = dict(assumed or {})
    mods = sys.modules if modules is None else modules
    options = probe if probe is not None else ProbeOptions()
    boundary = _Boundary()
    evidence: List[Evidence] = []
    findings: List[Finding] = []
    no_ev: List[Evidence] = []
    no_findings: List[Finding] = []
    no_version: Optional[Version] = None
    no_framework: Optional[Framework] = None

    detected_rt, ev = boundary.run("runtime", (_unknown_runtime(), no_ev), detect_runtime)
    runtime = Runtime(
        implementation=assumed.get("implementation", detected_rt.implementation),
        version=assumed.get("python", detected_rt.version),
        os=assumed.get("os", detected_rt.os),
        arch=assumed.get("arch", detected_rt.arch),
    )
    evidence.extend(e for e in ev if e.fact not in assumed)

    dists: Optional[Distributions] = distributions
    if dists is None and not {"ddtrace", "framework"} <= assumed.keys():
        dists = boundary.run("distributions", None, Distributions.scan)

    ddtrace: Optional[Version] = None
    ddtrace_version_unknown = False
    if "ddtrace" in assumed:
        ddtrace = assumed["ddtrace"]
    elif dists is not None:
        found = dists
        ddtrace, ddtrace_version_unknown, ev = boundary.run(
            "ddtrace", (no_version, False, no_ev), lambda: _ddtrace(found)
        )
        evidence.extend(ev)

    framework: Optional[Framework] = None
    if "framework" in assumed:
        framework = assumed["framework"]
    elif dists is not None:
        found = dists
        framework, ev_fw, fw_findings = boundary.run(
            "framework",
            (no_framework, no_ev, no_findings),
            lambda: detect_framework(mods, found, framework_hint),
        )
        evidence.extend(ev_fw)
        findings.extend(fw_findings)

    deployment = "host"
    if "deployment" in assumed:
        deployment = assumed["deployment"]
    else:
        deployment, ev = boundary.run(
            "deployment", ("host", no_ev), lambda: detect_deployment(env, root)
        )
        evidence.extend(ev)

    settings = boundary.run(
        "settings", Settings(frozenset(), True), lambda: read_settings(env, ddtrace)
    )
    evidence.extend(settings.evidence)
    findings.extend(settings.findings)
    no_disk: Tuple[Tuple[str, ...], FrozenSet[str], List[Evidence]] = ((), frozenset(), [])
    stable, unreadable, ev = boundary.run(
        "settings files", no_disk, lambda: read_disk(env, root, runtime.os)
    )
    evidence.extend(ev)
    view: Optional[ActivationSettings] = boundary.run(
        "settings",
        None,
        lambda: ActivationSettings.of(env, stable_config=stable, unreadable=unreadable),
    )

    remote_config = RemoteConfig.UNKNOWN
    if "remote_config" in assumed:
        remote_config = assumed["remote_config"]
    else:
        dep = deployment
        remote_config, ev, rc_findings = boundary.run(
            "remote_config",
            (RemoteConfig.UNKNOWN, no_ev, no_findings),
            lambda: detect_remote_config(
                env,
                root,
                deployment=dep,
                enabled_in_settings=settings.remote_config_enabled,
                options=options,
            ),
        )
        evidence.extend(ev)
        findings.extend(rc_findings)

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
        ddtrace_version_unknown=ddtrace_version_unknown,
    )
    return Detection(
        stack=stack,
        requested=settings.requested,
        findings=tuple(boundary.findings + findings),
        settings=view,
    )


def _ddtrace(dists: Distributions) -> Tuple[Optional[Version], bool, List[Evidence]]:
    """ddtrace's version from its metadata, never by importing it."""
    dist = dists.get("ddtrace")
    if dist is None:
        return None, False, [Evidence("ddtrace", "installed distributions", "not installed")]
    if dist.version is None:
        shown = repr(dist.raw_version[:40]) if dist.raw_version else "none"
        return (
            None,
            True,
            [Evidence("ddtrace", dist.location, f"installed, version unreadable ({shown})")],
        )
    return dist.version, False, [Evidence("ddtrace", dist.location, str(dist.version))]


def _show(value: Any) -> str:
    if value is None:
        return "none"
    return str(value.value if hasattr(value, "value") else value)
