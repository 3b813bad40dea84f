"""The guard's policy: what to do with a report (log it, refuse to boot, or nothing).

One frozen :class:`Policy` is read from three places. For each setting, the first place that
sets it wins:

1. code: keyword arguments (``AppSecGuard(app, mode="strict")``);
2. the framework's settings (Django ``settings.APPSEC_GUARD = {"mode": ...}``, Flask
   ``app.config["APPSEC_GUARD_MODE"]``);
3. the environment (``APPSEC_GUARD_MODE``, ...);
4. the defaults (warn, nothing required, nothing silenced).

Code and settings are reviewed and versioned with the app, so they win; the environment is
the knob for apps that do not set the value in code. A malformed value never raises: it
becomes an ``AG700`` finding naming where it came from, the bad value and what is accepted,
and the default is used.
"""

from __future__ import annotations

import os
import re
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

from .model import Finding, Severity

if TYPE_CHECKING:
    from dataclasses import dataclass, replace
else:  # the same frozen classes, defined without exec (see _frozen.py)
    from ._frozen import dataclass, replace

WARN, STRICT, OFF = "warn", "strict", "off"
MODES = (WARN, STRICT, OFF)

#: setting -> environment variable
ENV_NAMES = {
    "mode": "APPSEC_GUARD_MODE",
    "require": "APPSEC_GUARD_REQUIRE",
    "silence": "APPSEC_GUARD_SILENCE",
    "fail_closed": "APPSEC_GUARD_FAIL_CLOSED",
    "matrix": "APPSEC_GUARD_MATRIX",
    "log_in_children": "APPSEC_GUARD_LOG_IN_CHILDREN",
}
KEYS = tuple(ENV_NAMES)
#: variables of the guard read from the environment only (not policy settings): a framework's
#: settings may hold them (Flask's app.config.from_prefixed_env) without being a bad key
ENV_ONLY_NAMES = frozenset(
    {"APPSEC_GUARD_PROBE", "APPSEC_GUARD_LAMBDA_HANDLER", "APPSEC_GUARD_METRICS"}
)

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
_ID = r"^AG\d{3}$"  # compiled on first use: only when something is silenced
_MAX_SHOWN = 80


@dataclass(frozen=True)
class Policy:
    """What the guard does with its report. Build it with :func:`resolve`."""

    mode: str = WARN
    require: FrozenSet[str] = frozenset()
    silence: FrozenSet[str] = frozenset()
    fail_closed: bool = False
    matrix: Tuple[str, ...] = ()
    log_in_children: bool = False
    #: AG700 findings about malformed values (already applied: the default was used)
    problems: Tuple[Finding, ...] = ()
    #: setting -> where its value came from ("default", "APPSEC_GUARD_MODE", "settings.APPSEC_GUARD['mode']")
    origins: Tuple[Tuple[str, str], ...] = ()

    @property
    def off(self) -> bool:
        return self.mode == OFF

    @property
    def strict(self) -> bool:
        return self.mode == STRICT

    def origin(self, key: str) -> str:
        return dict(self.origins).get(key, "default")

    def with_capabilities(self, known: Sequence[str]) -> Policy:
        """Drop required capabilities the matrix does not know, each with an AG700 finding."""
        # Names keep their spelling until here, so a bad one is shown (and redacted) as written.
        unknown = sorted(c for c in self.require if c.lower() not in known)
        require = frozenset(c.lower() for c in self.require if c.lower() in known)
        if not unknown:
            return replace(self, require=require) if require != self.require else self
        where = self.origin("require")
        problems = [
            _invalid(where, cap, "is not a capability", f"one of {', '.join(known)}", "ignored")
            for cap in unknown
        ]
        return replace(self, require=require, problems=self.problems + tuple(problems))


def resolve(
    code: Optional[Mapping[str, Any]] = None,
    settings: Optional[Mapping[str, Any]] = None,
    environ: Optional[Mapping[str, str]] = None,
    *,
    settings_label: str = "settings",
    extra_silence: Iterable[Any] = (),
    extra_silence_label: str = "SILENCED_SYSTEM_CHECKS",
) -> Policy:
    """Read the policy; see the module docstring for the precedence. Never raises.

    ``extra_silence`` (Django's ``SILENCED_SYSTEM_CHECKS``) is added to the resolved
    ``silence`` after the precedence: it never hides the value of another place.
    """
    env = os.environ if environ is None else environ
    problems: List[Finding] = []
    sources: List[Tuple[str, Mapping[str, Any]]] = []
    given: Any = settings  # a framework hands over whatever its settings hold
    if given is not None and not isinstance(given, Mapping):
        problems.append(
            _invalid(
                settings_label,
                settings,
                "is not a dict",
                "a dict of the guard's settings",
                "ignored",
            )
        )
        settings = None
    for label, mapping in (("argument", code or {}), (settings_label, settings or {})):
        known: Dict[str, Any] = {}
        for key, value in mapping.items():
            if key in KEYS:
                if value is not None:
                    known[key] = value
            else:
                problems.append(
                    _invalid(
                        label, str(key), "is not a setting of the guard", ", ".join(KEYS), "ignored"
                    )
                )
        sources.append((label, known))
    sources.append(("env", {k: env[n] for k, n in ENV_NAMES.items() if n in env}))

    values: Dict[str, Any] = {}
    origins: List[Tuple[str, str]] = []
    for key in KEYS:
        for label, mapping in sources:
            if key in mapping:
                where = _where(label, key, settings_label)
                parsed, problem = _PARSERS[key](where, mapping[key])
                if problem is not None:
                    problems.append(problem)
                if parsed is not None:
                    values[key] = parsed
                    origins.append((key, where))
                break
    extra = list(extra_silence)
    if extra:
        parsed, problem = _silence(extra_silence_label, extra)
        if problem is not None:
            problems.append(problem)
        if parsed:
            where = dict(origins).get("silence", "")
            values["silence"] = values.get("silence", frozenset()) | parsed
            origins = [o for o in origins if o[0] != "silence"]
            origins.append(
                ("silence", f"{where} and {extra_silence_label}" if where else extra_silence_label)
            )
    return Policy(problems=tuple(problems), origins=tuple(origins), **values)


def _where(label: str, key: str, settings_label: str) -> str:
    if label == "env":
        return ENV_NAMES[key]
    if label == "argument":
        return f"argument {key}="
    if settings_label.endswith("config"):  # Flask: app.config["APPSEC_GUARD_MODE"]
        return f"{settings_label}[{ENV_NAMES[key]!r}]"
    return f"{settings_label}[{key!r}]"


def _show(value: Any) -> str:
    from .redaction import redact_text

    text = redact_text(value if isinstance(value, str) else repr(value))
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _invalid(where: str, value: Any, problem: str, accepted: str, fallback: str) -> Finding:
    return Finding(
        "AG700",
        Severity.WARNING,
        None,
        f"{where}: {_show(value)!r} {problem}; {fallback}",
        f"set {where} to {accepted}",
    )


_Parsed = Tuple[Any, Optional[Finding]]


def _mode(where: str, value: Any) -> _Parsed:
    text = value.strip().lower() if isinstance(value, str) else None
    if text in MODES:
        return text, None
    return None, _invalid(where, value, "is not a mode", " or ".join(MODES), "using warn")


def _bool(where: str, value: Any) -> _Parsed:
    if isinstance(value, bool):
        return value, None
    text = value.strip().lower() if isinstance(value, str) else None
    if text in _TRUE:
        return True, None
    if text in _FALSE:
        return False, None
    return None, _invalid(where, value, "is not a boolean", "true or false", "using false")


def _names(value: Any) -> Optional[List[str]]:
    items: Iterable[Any]
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    else:
        return None
    out = []
    for item in items:
        if not isinstance(item, str):
            return None
        if item.strip():
            out.append(item.strip())
    return out


def _require(where: str, value: Any) -> _Parsed:
    names = _names(value)
    if names is None:
        return None, _invalid(
            where, value, "is not a list of capabilities", "a comma-separated list", "ignored"
        )
    return frozenset(names), None  # checked (and lower-cased) against the matrix later


def _silence(where: str, value: Any) -> _Parsed:
    from .findings import CATALOG

    names = _names(value)
    if names is None:
        return None, _invalid(
            where, value, "is not a list of finding ids", "a comma-separated list", "ignored"
        )
    ids = [n.upper() for n in names]
    bad = [i for i in ids if not re.match(_ID, i) or i not in CATALOG]
    problem = None
    if bad:
        problem = _invalid(
            where,
            ", ".join(bad),
            "is not a finding id" if len(bad) == 1 else "are not finding ids",
            "ids from the README's table, e.g. AG101,AG400",
            "ignored",
        )
    return frozenset(i for i in ids if i not in bad), problem


def _matrix(where: str, value: Any) -> _Parsed:
    if isinstance(value, str):
        return tuple(p for p in value.split(os.pathsep) if p.strip()), None
    names = _names(value)
    if names is None:
        return None, _invalid(
            where, value, "is not a file path", "a path to a JSON layer", "ignored"
        )
    return tuple(names), None


_PARSERS = {
    "mode": _mode,
    "require": _require,
    "silence": _silence,
    "fail_closed": _bool,
    "matrix": _matrix,
    "log_in_children": _bool,
}
