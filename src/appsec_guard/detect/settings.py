"""Which AppSec capabilities the app's DD_* settings turn on, read the way ddtrace reads them.

Facts from ddtrace's source (file paths are inside the ddtrace distribution):

- Booleans: ``asbool`` (ddtrace/internal/utils/formats.py, every version) accepts only
  ``true`` and ``1`` (case-insensitive; anything else is false). From 2.2.0 the AppSec settings
  moved to ddtrace/settings/asm.py (``ASMConfig(Env)``, later
  ddtrace/internal/settings/asm.py), parsed by ``envier`` whose ``Env.__truthy__`` is
  ``1, true, yes, on``. Before 2.2.0 ddtrace/settings/config.py read them with ``asbool``.
  ``DD_REMOTE_CONFIGURATION_ENABLED`` (default true) always uses ``asbool``;
  ``DD_APPSEC_SCA_ENABLED`` (read from 2.9.0) ``asbool`` up to 4.12 and envier from 4.13.0
  (the release facts are in ``data/activation.json``, each with its release and file).
- ``DD_APPSEC_ENABLED`` (default false) turns on threat detection. Blocking comes with it where
  Remote Configuration reaches the process, but it counts as requested only where the team
  requires it.
- ``DD_IAST_ENABLED`` (default false): Code Security.
- API Security: ``DD_EXPERIMENTAL_API_SECURITY_ENABLED`` (default false) before 2.6.0,
  ``DD_API_SECURITY_ENABLED`` (default true) from 2.6.0 (ddtrace/appsec/_constants.py,
  ``API_SECURITY.ENV_VAR_ENABLED``); it runs only with AppSec
  (``ASMConfig._api_security_feature_active``).
- Blocked-response templates: ``DD_APPSEC_HTTP_BLOCKED_TEMPLATE_HTML`` / ``_JSON`` (paths).
- User activity tracking, only with AppSec (``ASMConfig._user_event_mode``):
  before 2.11.0 ``DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING`` = ``safe`` (default) | ``extended``
  | ``disabled``; from 2.11.0 ``DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE`` read by
  ``_parse_options([disabled, identification, anonymization])``, which returns the first
  option that starts with the lower-cased value and ``disabled`` when none does, and
  ``DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING_ENABLED`` (envier bool, default true). The old
  variable's lower-cased value itself becomes the mode in 2.11.0-2.19.3, 2.20.0-2.20.1 and
  2.21.0 (the mapping there is dead code); 2.19.4, 2.20.2 and 2.21.1 on ignore it, 3.0.0
  dropped it.

What is on disk is read by :func:`read_disk`: the stable configuration files ddtrace 3.2+
reads too, and blocked-response templates this process cannot read.

A capability counts as *requested* when a variable the app set turns it on (defaults that
ddtrace turns on by itself are noted in the evidence, not counted). A value ddtrace reads
differently from what it seems to mean gives AG600; a value that means nothing gives AG601.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, FrozenSet, List, Mapping, Optional, Set, Tuple

from ..activation import TEMPLATES, parse_bool, reading, stable_config_files
from ..model import (
    API_SECURITY,
    CODE_SECURITY,
    CUSTOM_BLOCKING_RESPONSE,
    SCA,
    THREAT_DETECTION,
    USER_EVENT_TRACKING,
    Evidence,
    Finding,
    Severity,
)

if TYPE_CHECKING:
    from dataclasses import dataclass

    from packaging.version import Version
else:  # the same frozen classes, defined without exec (see _frozen.py)
    from .._frozen import dataclass

ASBOOL_TRUTHY = frozenset({"true", "1"})  # ddtrace/internal/utils/formats.py: asbool
ENVIER_TRUTHY = frozenset({"1", "true", "yes", "on"})  # envier/env.py: Env.__truthy__

_MEANS_TRUE = frozenset({"true", "1", "yes", "y", "on", "t", "enable", "enabled"})
_MEANS_FALSE = frozenset({"false", "0", "no", "n", "off", "f", "disable", "disabled", "none", ""})

_ENVIER_SINCE = (2, 2)
_API_SECURITY_RENAMED = (2, 6)
_SCA_SINCE = (2, 9)
_USER_MODE_SINCE = (2, 11)
_LEGACY_USER_UNTIL = (3, 0)

_USER_MODES = ("disabled", "identification", "anonymization")  # LOGIN_EVENTS_MODE, in order
_LEGACY_USER_MODES = {"safe": "anonymization", "extended": "identification", "disabled": "disabled"}

_SOURCE = "ddtrace source: ddtrace/settings/asm.py, ddtrace/internal/utils/formats.py (asbool)"


@dataclass(frozen=True)
class Settings:
    """What the DD_* settings ask for."""

    requested: FrozenSet[str]
    remote_config_enabled: bool
    evidence: Tuple[Evidence, ...] = ()
    findings: Tuple[Finding, ...] = ()


def _release(version: Optional[Version]) -> Tuple[int, ...]:
    """The release a version belongs to; a pre-release of 2.11.0 already reads 2.11's settings.
    Unknown (no ddtrace, unreadable metadata): read as the newest release does."""
    return (9999,) if version is None else tuple(version.release)


class _Reader:
    def __init__(self, env: Mapping[str, str], ddtrace: Optional[Version]) -> None:
        self.env = env
        self.release = _release(ddtrace)
        self.version = ddtrace
        self.who = "ddtrace" if ddtrace is None else f"ddtrace {ddtrace}"
        self.evidence: List[Evidence] = []
        self.findings: List[Finding] = []

    def is_set(self, name: str) -> bool:
        return name in self.env

    def boolean(self, name: str, default: bool, *, envier: bool) -> bool:
        """ddtrace's reading of a boolean variable; AG600/AG601 when it differs from intent."""
        raw = self.env.get(name)
        if raw is None:
            return default
        truthy = ENVIER_TRUTHY if envier else ASBOOL_TRUTHY
        value = raw.lower() in truthy
        word = raw.strip().lower()
        intent: Optional[bool] = (
            True if word in _MEANS_TRUE else False if word in _MEANS_FALSE else None
        )
        accepted = ", ".join(sorted(truthy))
        shown = _show(raw)
        if intent is None:
            self.findings.append(
                Finding(
                    "AG601",
                    Severity.WARNING,
                    None,
                    f"{name}={shown} is not a boolean; {self.who} reads it as "
                    f"{_word(value)} (true only for: {accepted})",
                    f"write {name}=true or {name}=false",
                    _SOURCE,
                )
            )
        elif intent != value:
            self.findings.append(
                Finding(
                    "AG600",
                    Severity.WARNING,
                    None,
                    f"{self.who} reads {name}={shown} as {_word(value)} "
                    f"(true only for: {accepted})",
                    f"write {name}={_word(intent)}",
                    _SOURCE,
                )
            )
        return value

    def no_effect(self, name: str, why: str) -> None:
        self.findings.append(
            Finding(
                "AG600",
                Severity.WARNING,
                None,
                f"{name} has no effect: {why}",
                "set DD_APPSEC_ENABLED=true, or remove " + name,
                _SOURCE,
            )
        )

    def note(self, source: str, detail: str) -> None:
        self.evidence.append(Evidence("requested", source, detail))


def read_settings(env: Mapping[str, str], ddtrace: Optional[Version] = None) -> Settings:
    """The requested capabilities and Remote Configuration switch for ``ddtrace``'s version."""
    r = _Reader(env, ddtrace)
    envier = r.release >= _ENVIER_SINCE
    requested: Set[str] = set()

    appsec = r.boolean("DD_APPSEC_ENABLED", False, envier=envier)
    if appsec:
        # Blocking comes with AppSec when Remote Configuration reaches the process, but only
        # the team asks for it (require): it is not requested by this variable.
        requested.add(THREAT_DETECTION)
        r.note("env:DD_APPSEC_ENABLED", "true: threat_detection")
    elif r.is_set("DD_APPSEC_ENABLED"):
        r.note("env:DD_APPSEC_ENABLED", "false")

    if r.boolean("DD_IAST_ENABLED", False, envier=envier):
        requested.add(CODE_SECURITY)
        r.note("env:DD_IAST_ENABLED", "true: code_security")
        _iast_installs(r, ddtrace)

    sca_envier = reading("DD_APPSEC_SCA_ENABLED", ddtrace).how == "envier"
    if r.boolean("DD_APPSEC_SCA_ENABLED", False, envier=sca_envier):
        requested.add(SCA)
        detail = "true: sca"
        if r.release < _SCA_SINCE:
            detail += f" (but {r.who} does not read it: it is read from 2.9.0)"
        r.note("env:DD_APPSEC_SCA_ENABLED", detail)

    _api_security(r, appsec, envier, requested)
    _templates(r, appsec, requested)
    _user_tracking(r, appsec, envier, requested)

    rc = r.boolean("DD_REMOTE_CONFIGURATION_ENABLED", True, envier=False)
    return Settings(
        requested=frozenset(requested),
        remote_config_enabled=rc,
        evidence=tuple(r.evidence),
        findings=tuple(r.findings),
    )


def _api_security(r: _Reader, appsec: bool, envier: bool, requested: Set[str]) -> None:
    new, old = "DD_API_SECURITY_ENABLED", "DD_EXPERIMENTAL_API_SECURITY_ENABLED"
    read_name, other = (new, old) if r.release >= _API_SECURITY_RENAMED else (old, new)
    default = r.release >= _API_SECURITY_RENAMED
    if r.is_set(other):
        r.findings.append(
            Finding(
                "AG600",
                Severity.WARNING,
                None,
                f"{r.who} does not read {other}; it reads {read_name}",
                f"rename {other} to {read_name}",
                _SOURCE,
            )
        )
    explicit = [n for n in (read_name, other) if r.is_set(n) and r.boolean(n, False, envier=envier)]
    if explicit:
        if appsec:
            requested.add(API_SECURITY)
            r.note(f"env:{explicit[0]}", "true: api_security")
        else:
            r.no_effect(explicit[0], "ddtrace runs API Security only with DD_APPSEC_ENABLED=true")
    elif appsec and default and not r.is_set(read_name):
        r.note("default", f"{read_name} defaults to true with AppSec (not counted as requested)")


def _templates(r: _Reader, appsec: bool, requested: Set[str]) -> None:
    for name in ("DD_APPSEC_HTTP_BLOCKED_TEMPLATE_HTML", "DD_APPSEC_HTTP_BLOCKED_TEMPLATE_JSON"):
        if not r.env.get(name, "").strip():
            continue
        if appsec:
            requested.add(CUSTOM_BLOCKING_RESPONSE)
            r.note(f"env:{name}", "set: custom_blocking_response")
        else:
            r.no_effect(name, "ddtrace blocks only with DD_APPSEC_ENABLED=true")


def _user_tracking(r: _Reader, appsec: bool, envier: bool, requested: Set[str]) -> None:
    mode_var = "DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE"
    legacy_var = "DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING"
    enabled_var = "DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING_ENABLED"
    new_style = r.release >= _USER_MODE_SINCE
    legacy_read = r.release < _LEGACY_USER_UNTIL

    on_by: Optional[str] = None  # the variable that turns tracking on
    off = False
    if new_style:
        if r.is_set(enabled_var):
            if r.boolean(enabled_var, True, envier=envier):
                on_by = enabled_var
            else:
                off = True
        if r.is_set(mode_var):
            mode = _parse_mode(r.env[mode_var])
            _check_mode(r, mode_var, r.env[mode_var], mode)
            if mode == "disabled":
                off = True
            else:
                on_by = mode_var
    elif r.is_set(mode_var) or r.is_set(enabled_var):
        name = mode_var if r.is_set(mode_var) else enabled_var
        r.findings.append(
            Finding(
                "AG600",
                Severity.WARNING,
                None,
                f"{r.who} does not read {name} (read from 2.11.0); it reads {legacy_var}",
                f"upgrade ddtrace to >=2.11.0, or set {legacy_var}=safe|extended|disabled",
                _SOURCE,
            )
        )
        on_by = name  # the intent is clear: the judgement says which ddtrace it needs
    if r.is_set(legacy_var) and not (new_style and r.is_set(mode_var)):
        raw = r.env[legacy_var]
        how = reading(legacy_var, r.version).how
        legacy = _LEGACY_USER_MODES.get(raw.strip().lower())
        if not legacy_read or how == "ignored":
            since = (
                "dropped in 3.0.0" if not legacy_read else "ignored from 2.19.4, 2.20.2 and 2.21.1"
            )
            r.findings.append(
                Finding(
                    "AG600",
                    Severity.WARNING,
                    None,
                    f"{r.who} no longer reads {legacy_var} ({since})",
                    f"use {mode_var}=identification|anonymization|disabled instead",
                    _legacy_source(r),
                )
            )
        elif how == "raw_lower":
            # The mapping of the old values is dead code in these releases: the lower-cased
            # value itself becomes the mode, so only "disabled" switches tracking off and
            # "safe" does not anonymise.
            mode = raw.lower()
            if mode == "disabled":
                off = True
            else:
                if on_by is None:
                    on_by = legacy_var
                if mode not in ("identification", "anonymization"):
                    r.findings.append(
                        Finding(
                            "AG600",
                            Severity.WARNING,
                            None,
                            f"{r.who} uses {legacy_var}={_show(raw)} as the tracking mode "
                            f"itself: logins are tracked{' without anonymisation' if mode == 'safe' else ''}, "
                            "not mapped to a documented mode",
                            f"use {mode_var}=anonymization (or identification) instead",
                            _legacy_source(r),
                        )
                    )
        elif legacy is None:
            r.findings.append(
                Finding(
                    "AG601",
                    Severity.WARNING,
                    None,
                    f"{legacy_var}={_show(raw)} is not one of safe, extended, disabled",
                    f"write {legacy_var}=safe, extended or disabled",
                    _SOURCE,
                )
            )
        elif legacy == "disabled":
            off = True
        elif on_by is None:
            on_by = legacy_var
    if off and on_by is None:
        r.note("env:" + (mode_var if r.is_set(mode_var) else legacy_var), "user tracking off")
        return
    if on_by is None or off:
        return
    if appsec:
        requested.add(USER_EVENT_TRACKING)
        r.note(f"env:{on_by}", "on: user_event_tracking")
    else:
        r.no_effect(on_by, "ddtrace tracks user activity only with DD_APPSEC_ENABLED=true")


def _legacy_source(r: _Reader) -> str:
    return reading("DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING", r.version).source


def _iast_installs(r: _Reader, ddtrace: Optional[Version]) -> None:
    """2.2.0-2.15.x: envier sets the flag, but taint tracking is installed on asbool only."""
    read = reading("DD_IAST_ENABLED", ddtrace)
    raw = r.env.get("DD_IAST_ENABLED", "")
    if read.installs and not parse_bool(read.installs, raw):
        r.findings.append(
            Finding(
                "AG600",
                Severity.WARNING,
                None,
                f"{r.who} reads DD_IAST_ENABLED={_show(raw)} as true but installs taint "
                "tracking only for 'true' or '1': Code Security finds nothing",
                "write DD_IAST_ENABLED=true",
                read.source,
            )
        )


def _parse_mode(raw: str) -> str:
    """ddtrace/settings/asm.py (2.11.0+) ``_parse_options``: first option starting with it."""
    for option in _USER_MODES:
        if option.startswith(raw.lower()):
            return option
    return _USER_MODES[0]


def _check_mode(r: _Reader, name: str, raw: str, mode: str) -> None:
    word = raw.strip().lower()
    if word in _USER_MODES or mode != "disabled" or word in ("disabled", "disable", "off"):
        return
    r.findings.append(
        Finding(
            "AG600",
            Severity.WARNING,
            None,
            f"{r.who} reads {name}={_show(raw)} as disabled "
            "(it accepts identification, anonymization, disabled, or a prefix of one)",
            f"write {name}=identification or {name}=anonymization",
            _SOURCE,
        )
    )


def _word(value: bool) -> str:
    return "true" if value else "false"


def _show(raw: str) -> str:
    """A DD_* switch value for a message: quoted, short, printable."""
    text = raw if len(raw) <= 40 else raw[:40] + "..."
    return repr(text)


def read_disk(
    env: Mapping[str, str], root: Path, os_name: str
) -> Tuple[Tuple[str, ...], FrozenSet[str], List[Evidence]]:
    """(stable configuration files present, template settings naming an unreadable file,
    evidence). ddtrace 3.2+ reads AppSec settings from those files too (a fleet file wins over
    the environment); a template it cannot read means its default page."""
    evidence: List[Evidence] = []
    present = []
    for kind, path in stable_config_files(os_name):
        # a Windows path (C:\...) is looked for only on the real filesystem
        where = root / path.lstrip("/") if path.startswith("/") else Path(path)
        if (path.startswith("/") or root == Path("/")) and where.is_file():
            present.append(path)
            evidence.append(Evidence("settings", path, f"{kind} stable configuration file"))
    unreadable = set()
    for name in TEMPLATES:
        value = env.get(name, "").strip()
        if not value:
            continue
        if not (os.path.isfile(value) and os.access(value, os.R_OK)):
            unreadable.add(name)
            evidence.append(Evidence("settings", f"env:{name}", "names a file that cannot be read"))
    return tuple(present), frozenset(unreadable), evidence
