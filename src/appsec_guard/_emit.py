"""Logging the report: one event per finding and one summary, with secrets redacted.

Where the events go:

- the app configured structlog (``structlog.is_configured()``): through
  ``structlog.get_logger("appsec_guard")``, so they get the app's processors and renderer;
- otherwise: through the stdlib logger ``"appsec_guard"`` (the message is ``event key=value
  ...`` and the event dict is in ``record.appsec_guard``), so they land wherever the app's
  logging goes. With no logging configured at all, Python's last-resort handler prints
  warnings and errors to stderr.

The guard never configures structlog or logging, and does not import structlog when the app
has not (it costs ~80 ms of boot). Every value passes
:func:`appsec_guard.redaction.redact` first. A failing emitter
(a processor that raises) never propagates: it becomes an ``AG901`` finding and one line on
stderr.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from .model import Finding, Report, Severity
from .redaction import redact, redact_text, secret_values

LOGGER_NAME = "appsec_guard"
FINDING_EVENT = "appsec_guard.finding"
SUMMARY_EVENT = "appsec_guard.summary"


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
    logged: Callable[[Severity], bool] = lambda severity: True,
) -> List[Tuple[Severity, Dict[str, Any]]]:
    """The events for ``findings`` of ``report`` and its summary, not yet redacted; only those
    of a severity that is ``logged``."""
    from . import __version__

    failed = [v.capability for v in report.failed]
    summary_severity = Severity.WARNING if failed else Severity.INFO
    findings = [f for f in findings if logged(f.severity)]
    if not findings and not logged(summary_severity):
        return []
    from .tags import unified_service_tags

    facts = {**stack_facts(report), **unified_service_tags()}
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
                    "active": None if v is None or v.active is None else v.active.value,
                    "message": f.message,
                    "remediation": f.remediation,
                    "source": f.source,
                    "mode": mode,
                    "entry": entry,
                    **facts,
                },
            )
        )
    if not logged(summary_severity):
        return out
    counts = {s.value: 0 for s in Severity}
    for f in report.findings:
        counts[f.severity.value] += 1
    summary: Dict[str, Any] = {
        "event": SUMMARY_EVENT,
        "ok": not failed,
        "failed": failed,
        "capabilities": {v.capability: v.status.value for v in report.verdicts},
        # what ddtrace will do with each, as far as the settings tell (the activation model)
        "active": {v.capability: v.active.value for v in report.verdicts if v.active is not None},
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
    out.append((summary_severity, summary))
    return out


_LEVELS = {
    Severity.INFO: logging.INFO,
    Severity.WARNING: logging.WARNING,
    Severity.ERROR: logging.ERROR,
}


def _needs_quotes(text: str) -> bool:
    """Whether a value is empty or holds whitespace, a quote or ``=`` (then it is quoted).
    (``split()`` splits at exactly what ``isspace()`` calls whitespace.)"""
    return not text or text.split() != [text] or '"' in text or "'" in text or "=" in text


def _render(event: Dict[str, Any]) -> str:
    parts = [str(event["event"])]
    for key, value in event.items():
        if key == "event" or value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        if _needs_quotes(text):
            text = json.dumps(text)
        parts.append(f"{key}={text}")
    return " ".join(parts)


def _sink() -> Tuple[Callable[[Severity, Dict[str, Any]], None], Callable[[Severity], bool]]:
    """Where events go, and whether an event of a severity would be logged there at all."""
    structlog = sys.modules.get("structlog")
    if structlog is not None and structlog.is_configured():
        logger = structlog.get_logger(LOGGER_NAME)

        def to_structlog(severity: Severity, event: Dict[str, Any]) -> None:
            fields = dict(event)
            name = fields.pop("event")
            getattr(logger, severity.value)(name, **fields)

        return to_structlog, lambda severity: True  # structlog's own processors filter
    stdlib = logging.getLogger(LOGGER_NAME)

    def to_stdlib(severity: Severity, event: Dict[str, Any]) -> None:
        level = _LEVELS[severity]
        # service/env/version also as record attributes: JSON formatters emit them top-level
        tags = {k: event[k] for k in ("service", "env", "version") if event.get(k)}
        try:
            stdlib.log(level, "%s", _render(event), extra={"appsec_guard": event, **tags})
        except KeyError:  # the app's record factory already sets one of them: keep its own
            stdlib.log(level, "%s", _render(event), extra={"appsec_guard": event})

    return to_stdlib, lambda severity: stdlib.isEnabledFor(_LEVELS[severity])


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
        sink, enabled = _sink()
        secrets = secret_values()
        batch = events(  # an event nobody logs is not even built
            report,
            findings,
            mode=mode,
            entry=entry,
            trigger=trigger,
            silenced=silenced,
            logged=enabled,
        )
    except Exception as exc:
        batch, failures = [], [exc]
        secrets = ()
    for severity, event in batch:
        try:
            sink(severity, redact(event, secrets))
        except Exception as exc:
            failures.append(exc)
    if os.environ.get("APPSEC_GUARD_METRICS"):  # off by default: nothing imported unless set
        with contextlib.suppress(Exception):
            from .metrics import send_report

            send_report(report)
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
