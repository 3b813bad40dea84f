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
from typing import Any, Mapping, Optional, Sequence, Tuple
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
_SECRET_NAME = re.compile(
    r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|SIGNATURE|PRIVATE|(?:^|_)PWD(?:$|_)", re.I
)
_NOT_SECRETS = frozenset({"PWD", "OLDPWD"})
_URL_VARS = ("DD_TRACE_AGENT_URL", "DD_AGENT_URL", "DD_DOGSTATSD_URL", "DD_PROXY_HTTPS")
_HARMLESS = frozenset({"true", "false", "yes", "no", "on", "off", "none", "null"})
# Shapes of credentials, wherever they appear: userinfo in a URL, AWS key ids, Datadog keys.
_PATTERNS = (
    (re.compile(r"(?<=://)[^/@\s]+@"), "***@"),
    # (any case: the guard lower-cases capability names before it reports a bad one)
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", re.IGNORECASE), "***"),
    (re.compile(r"\b[0-9a-fA-F]{32}\b|\b[0-9a-fA-F]{40}\b"), "***"),
)
MASK = "***"


def secret_values(environ: Optional[Mapping[str, str]] = None) -> Tuple[str, ...]:
    """The values in ``environ`` that must never be shown, longest first."""
    env = os.environ if environ is None else environ
    found = set()
    for name, value in env.items():
        if not isinstance(value, str) or not value:
            continue
        upper = name.upper()
        if upper in SECRET_NAMES:
            if len(value) >= 3:
                found.add(value)
        elif (
            upper not in _NOT_SECRETS
            and _SECRET_NAME.search(upper)
            and len(value) >= 8
            and value.lower() not in _HARMLESS
            and not value.isdigit()
        ):
            found.add(value)
        if upper in _URL_VARS and "@" in value:
            userinfo = value.split("://", 1)[-1].split("@", 1)[0]
            for part in (userinfo, *userinfo.split(":", 1), unquote(userinfo)):
                if len(part) >= 3:
                    found.add(part)
    return tuple(sorted(found, key=len, reverse=True))


def redact_text(text: str, secrets: Optional[Sequence[str]] = None) -> str:
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, MASK)
    for pattern, mask in _PATTERNS:
        text = pattern.sub(mask, text)
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

    findings = tuple(
        replace(f, message=text(f.message), remediation=text(f.remediation))
        for f in report.findings
    )
    verdicts = tuple(replace(v, reasons=tuple(text(r) for r in v.reasons)) for v in report.verdicts)
    evidence = tuple(
        replace(e, source=text(e.source), detail=text(e.detail)) for e in report.stack.evidence
    )
    stack = replace(report.stack, evidence=evidence)
    return replace(report, stack=stack, verdicts=verdicts, findings=findings)
