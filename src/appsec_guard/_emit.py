"""Logging the report: one event per finding and one summary, with secrets redacted.

Where the events go:

- the app configured structlog (``structlog.is_configured()``): through
  ``structlog.get_logger("appsec_guard")``, so they get the app's processors and renderer;
- otherwise: through the stdlib logger ``"appsec_guard"`` (the message is ``event key=value
  ...`` and the event dict is in ``record.appsec_guard``), so they land wherever the app's
  logging goes. With no logging configured at all, Python's last-resort handler prints
  warnings and errors to stderr.

The guard never configures structlog or logging, and does not import structlog when the app
has not (it costs ~80 ms of boot). Every value passes :func:`redact` first. A failing emitter
(a processor that raises) never propagates: it becomes an ``AG901`` finding and one line on
stderr.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Pattern,
    Sequence,
    Tuple,
)
from urllib.parse import unquote

from .model import Finding, Report, Severity

LOGGER_NAME = "appsec_guard"
FINDING_EVENT = "appsec_guard.finding"
SUMMARY_EVENT = "appsec_guard.summary"

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
# Shapes of credentials, wherever they appear: userinfo in a URL, AWS key ids, Datadog keys.
# (pattern, replacement, a test that the text may hold one): each is compiled the first time
# a text passes its test, not on the boot path of an app whose findings hold none.
_PATTERNS: Tuple[Tuple[str, int, str, Callable[[str], bool]], ...] = (
    (r"(?<=://)[^/@\s]+@", 0, "***@", lambda t: "://" in t and "@" in t),
    # (any case: the guard lower-cases capability names before it reports a bad one)
    (
        r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
        re.IGNORECASE,
        "***",
        lambda t: "AKIA" in t.upper() or "ASIA" in t.upper(),
    ),
    (r"\b[0-9a-fA-F]{32}\b|\b[0-9a-fA-F]{40}\b", 0, "***", lambda t: len(t) >= 32),
)
_COMPILED: Dict[str, Pattern[str]] = {}
MASK = "***"


def _secret_name(upper: str) -> bool:
    return any(w in upper for w in _SECRET_WORDS) or "PWD" in upper.split("_")


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
            and _secret_name(upper)
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


def stack_facts(report: Report) -> Dict[str, Any]:
    stack = report.stack
    rt = stack.runtime
    return {
        "python": f"{rt.implementation} {rt.version}",
        "os": rt.os,
        "arch": rt.arch,
        "ddtrace": None if stack.ddtrace is None else str(stack.ddtrace),
        "framework": None if stack.framework is None else str(stack.framework),
        "deployment": stack.deployment,
        "remote_config": stack.remote_config.value,
    }


def events(
    report: Report,
    findings: Iterable[Finding],
    *,
    mode: str,
    entry: str,
    trigger: Optional[str] = None,
    silenced: Sequence[str] = (),
) -> List[Tuple[Severity, Dict[str, Any]]]:
    """The events for ``findings`` of ``report`` and its summary, not yet redacted."""
    from . import __version__

    facts = stack_facts(report)
    verdicts = {v.capability: v for v in report.verdicts}
    out: List[Tuple[Severity, Dict[str, Any]]] = []
    for f in findings:
        v = verdicts.get(f.capability) if f.capability else None
        out.append(
            (
                f.severity,
                {
                    "event": FINDING_EVENT,
                    "finding_id": f.id,
                    "severity": f.severity.value,
                    "capability": f.capability,
                    "status": None if v is None else v.status.value,
                    "requested": None if v is None else v.requested,
                    "required": None if v is None else v.required,
                    "message": f.message,
                    "remediation": f.remediation,
                    "source": f.source,
                    "mode": mode,
                    "entry": entry,
                    **facts,
                },
            )
        )
    counts = {s.value: 0 for s in Severity}
    for f in report.findings:
        counts[f.severity.value] += 1
    failed = [v.capability for v in report.failed]
    summary: Dict[str, Any] = {
        "event": SUMMARY_EVENT,
        "ok": not failed,
        "failed": failed,
        "capabilities": {v.capability: v.status.value for v in report.verdicts},
        "requested": [v.capability for v in report.verdicts if v.requested],
        "required": [v.capability for v in report.verdicts if v.required],
        "errors": counts["error"],
        "warnings": counts["warning"],
        "infos": counts["info"],
        "silenced": sorted(silenced),
        "mode": mode,
        "entry": entry,
        "guard_version": __version__,
        **facts,
    }
    if trigger:
        summary["trigger"] = trigger
    out.append((Severity.WARNING if failed else Severity.INFO, summary))
    return out


_LEVELS = {
    Severity.INFO: logging.INFO,
    Severity.WARNING: logging.WARNING,
    Severity.ERROR: logging.ERROR,
}


def _render(event: Dict[str, Any]) -> str:
    parts = [str(event["event"])]
    for key, value in event.items():
        if key == "event" or value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        if not text or any(c.isspace() or c in "\"'=" for c in text):
            text = json.dumps(text)
        parts.append(f"{key}={text}")
    return " ".join(parts)


def _sink() -> Any:
    structlog = sys.modules.get("structlog")
    if structlog is not None and structlog.is_configured():
        logger = structlog.get_logger(LOGGER_NAME)

        def to_structlog(severity: Severity, event: Dict[str, Any]) -> None:
            fields = dict(event)
            name = fields.pop("event")
            getattr(logger, severity.value)(name, **fields)

        return to_structlog
    stdlib = logging.getLogger(LOGGER_NAME)

    def to_stdlib(severity: Severity, event: Dict[str, Any]) -> None:
        level = _LEVELS[severity]
        if stdlib.isEnabledFor(level):
            stdlib.log(level, "%s", _render(event), extra={"appsec_guard": event})

    return to_stdlib


def emit(
    report: Report,
    findings: Iterable[Finding],
    *,
    mode: str,
    entry: str,
    trigger: Optional[str] = None,
    silenced: Sequence[str] = (),
) -> Optional[Finding]:
    """Log the events. Never raises; returns an AG901 finding when some could not be logged."""
    failures: List[BaseException] = []
    try:
        secrets = secret_values()
        batch = events(report, findings, mode=mode, entry=entry, trigger=trigger, silenced=silenced)
        sink = _sink()
    except Exception as exc:
        batch, failures = [], [exc]
        secrets = ()
    for severity, event in batch:
        try:
            sink(severity, redact(event, secrets))
        except Exception as exc:
            failures.append(exc)
    if not failures:
        return None
    first = failures[0]
    message = redact_text(
        f"the guard could not log {len(failures)} event(s): {type(first).__name__}: {first}",
        secrets,
    )
    with contextlib.suppress(Exception):  # a closed stderr: nothing more to do
        sys.stderr.write(f"appsec_guard: {message}\n")
    return Finding(
        "AG901",
        Severity.WARNING,
        None,
        message,
        "fix the logging configuration (a structlog processor or logging handler raised)",
    )
