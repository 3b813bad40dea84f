"""Redaction: no secret of the environment ever leaves the guard.

Applied once where something for people or logs is built: a report (:func:`redact_report`,
by the session), a log event (the emitter), a ``GuardError`` message, the command's output.
A value is a secret when its variable is a known credential (``DD_API_KEY``, AWS keys), when
its variable is named like a key, token, secret or password, when it is the userinfo of an
Agent URL, or when it is shaped like a Datadog or AWS key wherever it appears.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Dict, Mapping, Optional, Pattern, Sequence, Tuple, cast
from urllib.parse import unquote

from .model import Report

#: Variables whose values are credentials, whatever they look like.
SECRET_NAMES = frozenset(
    {
        "DD_API_KEY",
        "DD_APP_KEY",
        "DD_APPLICATION_KEY",
        "DATADOG_API_KEY",
        "DATADOG_APP_KEY",
        "DD_API_KEY_SECRET_ARN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ACCESS_KEY_ID",
    }
)
# Any other variable whose name says it holds a credential ("PWD" only as a whole part of
# the name, e.g. DB_PWD: the shell's PWD/OLDPWD hold the current directory, not a password).
# Words, not a regular expression: compiling one costs more than the whole scan.
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSW", "CREDENTIAL", "SIGNATURE", "PRIVATE")
_NOT_SECRETS = frozenset({"PWD", "OLDPWD"})
_URL_VARS = ("DD_TRACE_AGENT_URL", "DD_AGENT_URL", "DD_DOGSTATSD_URL", "DD_PROXY_HTTPS")
_HARMLESS = frozenset({"true", "false", "yes", "no", "on", "off", "none", "null"})
# A run of 32 hex digits (the shape of a Datadog key) is looked for without a regular
# expression: every hex digit becomes NUL (a NUL already there only makes the expression run).
_HEX_TO_NUL = bytes.maketrans(b"0123456789abcdefABCDEF", bytes(22))
_HEX_RUN = bytes(32)


def _hex_run(text: str) -> bool:
    """True when ``text`` may hold a Datadog key: 32 hex digits in a row."""
    return len(text) >= 32 and _HEX_RUN in text.encode("ascii", "replace").translate(_HEX_TO_NUL)


# Shapes of credentials, wherever they appear: userinfo in a URL, AWS key ids, Datadog keys.
# (pattern, flags, replacement, a test that the text may hold one): each is compiled the
# first time a text passes its test, not on the boot path of an app whose findings hold none.
_PATTERNS: Tuple[Tuple[str, int, str, Callable[[str], bool]], ...] = (
    (r"(?<=://)[^/@\s]+@", 0, "***@", lambda t: "://" in t and "@" in t),
    # (any case: the guard lower-cases capability names before it reports a bad one)
    (
        r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
        re.IGNORECASE,
        "***",
        lambda t: "AKIA" in t.upper() or "ASIA" in t.upper(),
    ),
    (r"\b[0-9a-fA-F]{32}\b|\b[0-9a-fA-F]{40}\b", 0, "***", _hex_run),
)
_COMPILED: Dict[str, Pattern[str]] = {}
MASK = "***"


def _secret_name(upper: str) -> bool:
    for word in _SECRET_WORDS:
        if word in upper:
            return True
    return "PWD" in upper.split("_")


def secret_values(environ: Optional[Mapping[str, str]] = None) -> Tuple[str, ...]:
    """The values in ``environ`` that must never be shown, longest first."""
    env = os.environ if environ is None else environ
    found = set()
    for name in env:  # the names first: only a few values are read (os.environ decodes each)
        upper = name.upper()
        known = upper in SECRET_NAMES
        named = not known and upper not in _NOT_SECRETS and _secret_name(upper)
        url = upper in _URL_VARS
        if not (known or named or url):
            continue
        value = env.get(name)
        if not isinstance(value, str) or not value:
            continue
        if known:
            if len(value) >= 3:
                found.add(value)
        elif named and len(value) >= 8 and value.lower() not in _HARMLESS and not value.isdigit():
            found.add(value)
        if url and "@" in value:
            userinfo = value.split("://", 1)[-1].split("@", 1)[0]
            for part in (userinfo, *userinfo.split(":", 1), unquote(userinfo)):
                if len(part) >= 3:
                    found.add(part)
    return tuple(sorted(found, key=len, reverse=True))


def redact_text(text: str, secrets: Optional[Sequence[str]] = None) -> str:
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, MASK)
    if len(text) < 20 and "@" not in text:  # shorter than a key, and no userinfo
        return text
    for pattern, flags, mask, may_hold in _PATTERNS:
        if may_hold(text):
            compiled = _COMPILED.get(pattern)
            if compiled is None:
                compiled = _COMPILED[pattern] = re.compile(pattern, flags)
            text = compiled.sub(mask, text)
    return text


def redact(value: Any, secrets: Optional[Sequence[str]] = None) -> Any:
    """``value`` with every secret string replaced by ``***`` (dicts, lists and tuples walked)."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    return value


def redact_report(report: Report, secrets: Optional[Sequence[str]] = None) -> Report:
    """``report`` with every message, remediation, reason and evidence detail redacted."""
    from ._frozen import replace  # not dataclasses': the boot path does not import it

    secrets = secret_values() if secrets is None else secrets

    def text(value: str) -> str:
        return redact_text(value, secrets) if value else value

    def redacted(obj: Any, **texts: Any) -> Any:  # a copy only when a text changed
        return replace(obj, **texts) if any(getattr(obj, k) != v for k, v in texts.items()) else obj

    findings = tuple(
        redacted(f, message=text(f.message), remediation=text(f.remediation))
        for f in report.findings
    )
    verdicts = tuple(
        redacted(v, reasons=tuple(text(r) for r in v.reasons)) for v in report.verdicts
    )
    evidence = tuple(
        redacted(e, source=text(e.source), detail=text(e.detail)) for e in report.stack.evidence
    )
    stack = redacted(report.stack, evidence=evidence)
    return cast(Report, redacted(report, stack=stack, verdicts=verdicts, findings=findings))
