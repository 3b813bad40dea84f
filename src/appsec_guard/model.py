"""Facts about a stack, and what the guard concludes about it: frozen values only.

Nothing here does I/O. Each detector answers with a :class:`Fact`; together they build a
:class:`Stack`; :func:`appsec_guard.judge.judge` turns it into a :class:`Report`.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple

if TYPE_CHECKING:
    from dataclasses import dataclass, field, replace

    from packaging.version import Version
else:  # the same frozen classes, defined without exec (see _frozen.py)
    from ._frozen import dataclass, field, replace

# The seven capabilities of the compatibility page. The matrix is the authority on which
# capabilities exist (a newer page may add one); these names are for code that refers to them.
THREAT_DETECTION = "threat_detection"
THREAT_PROTECTION = "threat_protection"
CUSTOM_BLOCKING_RESPONSE = "custom_blocking_response"
SCA = "sca"
CODE_SECURITY = "code_security"
USER_EVENT_TRACKING = "user_event_tracking"
API_SECURITY = "api_security"

#: JSON report format version; bump it when a key changes meaning or disappears.
#: 2: ``requested`` no longer counts threat_protection for DD_APPSEC_ENABLED=true; each
#: capability has ``active`` and ``opportunistic``.
SCHEMA_VERSION = 2


class Status(str, enum.Enum):
    """What the guard concludes about one capability on one stack."""

    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"
    BETA = "beta"

    def __str__(self) -> str:
        return self.value


class Active(str, enum.Enum):
    """Whether ddtrace will switch a capability on in this process, with these settings
    (see :mod:`appsec_guard.activation`)."""

    ON = "on"  # the settings switch it on at boot
    REMOTE = "remote"  # off at boot; Remote Configuration can switch it on
    OFF = "off"  # the settings leave it off, and nothing can switch it on here
    UNKNOWN = "unknown"  # the guard cannot tell (a stable configuration file on disk, ...)

    def __str__(self) -> str:
        return self.value


class Severity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class RemoteConfig(str, enum.Enum):
    """Whether ddtrace can receive Remote Configuration (needed for blocking)."""

    ENABLED = "enabled"
    DISABLED = "disabled"  # turned off by DD_REMOTE_CONFIGURATION_ENABLED
    UNAVAILABLE = "unavailable"  # the platform or the agent does not offer it
    UNKNOWN = "unknown"  # the agent could not be asked

    def __str__(self) -> str:
        return self.value


#: Deployment types the detectors name. The matrix decides which of them it lists;
#: anything else (a plain host, Cloud Run) is judged on the other rules.
DEPLOYMENTS = (
    "lambda",
    "fargate",
    "ecs",
    "kubernetes",
    "docker",
    "cloud_run",
    "azure_app_service",
    "azure_functions",
    "host",
)


@dataclass(frozen=True)
class Evidence:
    """Why the guard believes a fact: which variable, file or probe decided it."""

    fact: str
    source: str
    detail: str = ""

    def to_dict(self) -> Dict[str, str]:
        return {"fact": self.fact, "source": self.source, "detail": self.detail}


@dataclass(frozen=True)
class Runtime:
    implementation: str  # "cpython", "pypy", ...
    version: Version
    os: str  # "linux", "macos", "windows", or what the platform reports
    arch: str  # canonical: "x86_64", "i686", "aarch64", or what the platform reports

    @property
    def minor(self) -> Tuple[int, int]:
        return (self.version.major, self.version.minor)


@dataclass(frozen=True)
class Framework:
    """The web framework serving the app. ``version`` is None when its metadata has none."""

    name: str  # normalised distribution name: "django", "flask", "fastapi", ...
    version: Optional[Version]

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Stack:
    """Everything the judgement needs to know about where the app runs."""

    runtime: Runtime
    ddtrace: Optional[Version]
    framework: Optional[Framework]
    deployment: str = "host"
    remote_config: RemoteConfig = RemoteConfig.UNKNOWN
    evidence: Tuple[Evidence, ...] = ()
    #: ddtrace is installed but its metadata has no readable version (``ddtrace`` is None).
    ddtrace_version_unknown: bool = False

    def with_facts(self, **facts: Any) -> Stack:
        return replace(self, **facts)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "python": {
                "implementation": self.runtime.implementation,
                "version": str(self.runtime.version),
                "os": self.runtime.os,
                "arch": self.runtime.arch,
            },
            "ddtrace": None if self.ddtrace is None else str(self.ddtrace),
            "framework": None
            if self.framework is None
            else {
                "name": self.framework.name,
                "version": None if self.framework.version is None else str(self.framework.version),
            },
            "deployment": self.deployment,
            "remote_config": self.remote_config.value,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class Finding:
    """One thing the team should know, with the smallest change that fixes it.

    ``id`` is stable across releases (see the README's table); ``capability`` is None for
    findings about the stack as a whole.
    """

    id: str
    severity: Severity
    capability: Optional[str]
    message: str
    remediation: str = ""
    source: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity.value,
            "capability": self.capability,
            "message": self.message,
            "remediation": self.remediation,
            "source": self.source,
        }


@dataclass(frozen=True)
class Fact:
    """One detector's answer: the value of its fact, the evidence that decided it, and the
    findings about it (an ambiguous framework, an Agent that could not be asked)."""

    value: Any
    evidence: Tuple[Evidence, ...] = ()
    findings: Tuple[Finding, ...] = ()

    @classmethod
    def of(cls, value: Any, evidence: Iterable[Evidence], findings: Iterable[Finding] = ()) -> Fact:
        return cls(value, tuple(evidence), tuple(findings))


@dataclass(frozen=True)
class Verdict:
    """``status`` is what the stack can do (the matrix); ``active`` what ddtrace will do with
    the app's settings (None when the settings were not judged, as in a plan)."""

    capability: str
    status: Status
    requested: bool = False
    required: bool = False
    reasons: Tuple[str, ...] = ()
    active: Optional[Active] = None

    @property
    def wanted(self) -> bool:
        return self.requested or self.required

    @property
    def opportunistic(self) -> bool:
        """On although nobody asked for it (blocking that comes with AppSec, a default)."""
        return not self.wanted and self.active is Active.ON

    @property
    def fails(self) -> bool:
        """Wanted, and the stack cannot do it or the settings leave it off."""
        return self.wanted and (self.status is Status.UNSUPPORTED or self.active is Active.OFF)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "status": self.status.value,
            "active": None if self.active is None else self.active.value,
            "requested": self.requested,
            "required": self.required,
            "opportunistic": self.opportunistic,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Report:
    """The judgement of one stack: a verdict per capability, and the findings behind them."""

    stack: Stack
    verdicts: Tuple[Verdict, ...]
    findings: Tuple[Finding, ...] = field(default=())

    def verdict(self, capability: str) -> Verdict:
        for v in self.verdicts:
            if v.capability == capability:
                return v
        raise KeyError(capability)

    @property
    def failed(self) -> Tuple[Verdict, ...]:
        """Requested or required capabilities that will not work in this process: the stack
        cannot do them, or the settings leave them off."""
        return tuple(v for v in self.verdicts if v.fails)

    @property
    def ok(self) -> bool:
        return not self.failed

    def with_findings(self, findings: Tuple[Finding, ...]) -> Report:
        return replace(self, findings=findings)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "stack": self.stack.to_dict(),
            "capabilities": {v.capability: v.to_dict() for v in self.verdicts},
            "findings": [f.to_dict() for f in self.findings],
        }


def findings_by_severity(findings: Tuple[Finding, ...]) -> List[Finding]:
    """Most severe first, stable otherwise."""
    return sorted(findings, key=lambda f: -f.severity.rank)
