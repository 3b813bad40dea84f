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
from ..model import Evidence, Fact, Finding, Framework, RemoteConfig, Runtime, Severity, Stack
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

__all__ = ["Detection", "Fact", "ProbeOptions", "detect"]

T = TypeVar("T")


@dataclass(frozen=True)
class Detection:
    """What the detectors found: the stack, the capabilities the DD_* settings ask for,
    and findings about the detection itself (an ambiguous framework, a misread setting).

    ``facts`` keeps each detected fact's own answer, so that one fact detected again later
    (Remote Configuration from a background probe, the framework once it is imported)
    replaces its value, evidence and findings without detecting the others again."""

    stack: Stack
    requested: FrozenSet[str] = frozenset()
    findings: Tuple[Finding, ...] = ()
    #: the ddtrace settings, for what ddtrace will switch on (None: unknown)
    settings: Optional[ActivationSettings] = None
    facts: Tuple[Tuple[str, Fact], ...] = ()

    def fact(self, name: str) -> Optional[Fact]:
        return dict(self.facts).get(name)

    def with_fact(self, name: str, fact: Fact) -> Detection:
        """This detection with ``name`` ("framework", "remote_config") answered by ``fact``."""
        old = self.fact(name)
        dropped = set(old.findings) if old is not None else set()
        evidence = tuple(e for e in self.stack.evidence if e.fact != name) + fact.evidence
        findings = tuple(f for f in self.findings if f not in dropped) + fact.findings
        facts = (*((n, f) for n, f in self.facts if n != name), (name, fact))
        stack = self.stack.with_facts(evidence=evidence, **{name: fact.value})
        return Detection(stack, self.requested, findings, self.settings, facts)


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
    no_version: Optional[Version] = None

    rt_fact = boundary.run("runtime", Fact(_unknown_runtime()), detect_runtime)
    detected_rt, ev = rt_fact.value, rt_fact.evidence
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
        ddtrace, ddtrace_version_unknown, dd_ev = boundary.run(
            "ddtrace", (no_version, False, no_ev), lambda: _ddtrace(found)
        )
        evidence.extend(dd_ev)

    facts: List[Tuple[str, Fact]] = []
    framework: Optional[Framework] = None
    if "framework" in assumed:
        framework = assumed["framework"]
    elif dists is not None:
        found = dists
        fw_fact = boundary.run(
            "framework", Fact(None), lambda: detect_framework(mods, found, framework_hint)
        )
        framework = fw_fact.value
        evidence.extend(fw_fact.evidence)
        findings.extend(fw_fact.findings)
        facts.append(("framework", fw_fact))

    deployment = "host"
    if "deployment" in assumed:
        deployment = assumed["deployment"]
    else:
        dep_fact = boundary.run("deployment", Fact("host"), lambda: detect_deployment(env, root))
        deployment = dep_fact.value
        evidence.extend(dep_fact.evidence)

    settings = boundary.run(
        "settings", Settings(frozenset(), True), lambda: read_settings(env, ddtrace)
    )
    evidence.extend(settings.evidence)
    findings.extend(settings.findings)
    no_disk: Tuple[Tuple[str, ...], FrozenSet[str], List[Evidence]] = ((), frozenset(), [])
    stable, unreadable, disk_ev = boundary.run(
        "settings files", no_disk, lambda: read_disk(env, root, runtime.os)
    )
    evidence.extend(disk_ev)
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
        rc_fact = boundary.run(
            "remote_config",
            Fact(RemoteConfig.UNKNOWN),
            lambda: detect_remote_config(
                env,
                root,
                deployment=dep,
                enabled_in_settings=settings.remote_config_enabled,
                options=options,
            ),
        )
        remote_config = rc_fact.value
        evidence.extend(rc_fact.evidence)
        findings.extend(rc_fact.findings)
        facts.append(("remote_config", rc_fact))

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
        facts=tuple(facts),
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
