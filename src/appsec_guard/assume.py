"""``--assume KEY=VALUE``: facts stated instead of detected, for what-if checks and tests."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Mapping, Optional, Tuple

from packaging.version import InvalidVersion, Version

from .detect.distributions import normalize
from .detect.runtime import ARCH_ALIASES
from .model import DEPLOYMENTS, Framework, RemoteConfig

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same frozen classes, defined without exec (see _frozen.py)
    from ._frozen import dataclass


class AssumptionError(ValueError):
    """A malformed ``--assume``; the message says what was wrong and what is accepted."""


_OS_ALIASES = {
    "linux": "linux",
    "macos": "macos", "darwin": "macos", "osx": "macos", "mac": "macos",
    "windows": "windows", "win": "windows", "win32": "windows", "win64": "windows",
}  # fmt: skip
_DEPLOYMENT_ALIASES = {"k8s": "kubernetes", "aws_lambda": "lambda", "container": "docker"}
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _version(key: str, text: str, example: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise AssumptionError(
            f"{key}={text!r} is not a version; write e.g. {key}={example}"
        ) from None


def _python(text: str) -> Version:
    v = _version("python", text, "3.12.1")
    if len(v.release) < 2:
        raise AssumptionError(f"python={text!r} needs major.minor; write e.g. python=3.12")
    return v


def _choice(key: str, text: str, table: Dict[str, str]) -> str:
    value = table.get(text.lower())
    if value is None:
        raise AssumptionError(
            f"{key}={text!r} is not one of {', '.join(sorted(set(table.values())))}"
        )
    return value


def _arch(text: str) -> str:
    arch = ARCH_ALIASES.get(text.lower())
    if arch is None:
        if not _TOKEN.match(text.lower()):
            raise AssumptionError(
                f"arch={text!r} is not a CPU name like x86_64, i686, aarch64 or arm64"
            )
        arch = text.lower()  # a CPU the matrix does not list (ppc64le, s390x): judged unsupported
    return arch


def _ddtrace(text: str) -> Any:
    if text.lower() == "none":
        return None
    return _version("ddtrace", text, "1.19.0 or ddtrace=none")


def _framework(text: str) -> Any:
    if text.lower() == "none":
        return None
    name, sep, version = text.partition("==")
    name = name.strip()
    if not _TOKEN.match(name.lower()) or (sep and not version.strip()):
        raise AssumptionError(
            f"framework={text!r} is not NAME==VERSION; write e.g. framework=django==4.2.1 or framework=none"
        )
    return Framework(
        normalize(name), _version("framework", version.strip(), "flask==2.3.0") if sep else None
    )


def _deployment(text: str) -> str:
    value = text.lower()
    value = _DEPLOYMENT_ALIASES.get(value, value)
    if value not in DEPLOYMENTS:
        raise AssumptionError(f"deployment={text!r} is not one of {', '.join(DEPLOYMENTS)}")
    return value


def _remote_config(text: str) -> RemoteConfig:
    try:
        return RemoteConfig(text.lower())
    except ValueError:
        raise AssumptionError(
            f"remote_config={text!r} is not one of {', '.join(r.value for r in RemoteConfig)}"
        ) from None


PARSERS: Dict[str, Callable[[str], Any]] = {
    "python": _python,
    "implementation": lambda t: _choice(
        "implementation", t, {"cpython": "cpython", "pypy": "pypy"}
    ),
    "os": lambda t: _choice("os", t, _OS_ALIASES),
    "arch": _arch,
    "ddtrace": _ddtrace,
    "framework": _framework,
    "deployment": _deployment,
    "remote_config": _remote_config,
}


def parse_assumption(text: str) -> Tuple[str, Any]:
    """``"ddtrace=1.19.0"`` -> ``("ddtrace", Version("1.19.0"))``. Raises AssumptionError."""
    key, sep, value = text.partition("=")
    key = key.strip().lower()
    if not sep:
        raise AssumptionError(f"{text!r} is not KEY=VALUE; keys: {', '.join(PARSERS)}")
    if key not in PARSERS:
        raise AssumptionError(f"unknown key {key!r} in {text!r}; keys: {', '.join(PARSERS)}")
    value = value.strip()
    if not value:
        raise AssumptionError(f"{key}= needs a value")
    parsed = PARSERS[key](value)
    if key == "framework" and parsed is not None and parsed.version is None:
        # A what-if about a framework is about one release: without it, the judgement could
        # only advise reinstalling a framework that is not even installed.
        raise AssumptionError(
            f"framework={value!r} needs a version; write e.g. "
            f"framework={parsed.name}==X.Y (or framework=none)"
        )
    return key, parsed


#: deployments that run Linux only (containers, Lambda): another OS cannot be on them
_LINUX_ONLY = frozenset({"docker", "kubernetes", "ecs", "fargate", "lambda", "cloud_run"})


@dataclass(frozen=True)
class Assumptions:
    """Facts stated instead of detected (``--assume``); None where the fact is detected."""

    python: Optional[Version] = None
    implementation: Optional[str] = None
    os: Optional[str] = None
    arch: Optional[str] = None
    deployment: Optional[str] = None
    remote_config: Optional[RemoteConfig] = None
    #: ddtrace and framework may be assumed absent: (version or None) when stated
    ddtrace: Optional[Tuple[Optional[Version]]] = None
    framework: Optional[Tuple[Optional[Framework]]] = None
    #: (fact, why): facts completed from what another assumption implies
    implied: Tuple[Tuple[str, str], ...] = ()

    def facts(self) -> Dict[str, Any]:
        """The stated facts by key, as the detectors take them (absent: detected)."""
        out: Dict[str, Any] = {}
        for key in ("python", "implementation", "os", "arch", "deployment", "remote_config"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        for key in ("ddtrace", "framework"):
            boxed = getattr(self, key)
            if boxed is not None:
                out[key] = boxed[0]
        return out

    @classmethod
    def of(cls, facts: Mapping[str, Any]) -> Assumptions:
        """From parsed facts; completes or refuses what they imply (AssumptionError)."""
        known: Dict[str, Any] = {}
        for key, value in facts.items():
            if key in ("ddtrace", "framework"):
                known[key] = (value,)
            else:
                known[key] = value
        os_name, dep = known.get("os"), known.get("deployment")
        implied: Tuple[Tuple[str, str], ...] = ()
        if os_name is not None and os_name != "linux":
            if dep in _LINUX_ONLY:
                raise AssumptionError(
                    f"os={os_name} contradicts deployment={dep}: containers and AWS Lambda run "
                    "Linux; assume os=linux, or deployment=host"
                )
            if dep is None:  # this machine's container or Lambda markers are not that OS's
                known["deployment"] = "host"
                implied = (("deployment", f"host, implied by os={os_name}"),)
        return cls(implied=implied, **known)


def parse_assumptions(items: Iterable[str]) -> Assumptions:
    """``["ddtrace=1.19.0", ...]`` -> :class:`Assumptions`. Raises AssumptionError (one line)."""
    facts: Dict[str, Any] = {}
    for item in items:
        key, value = parse_assumption(item)
        facts[key] = value
    return Assumptions.of(facts)
