"""The guard's findings as Django system checks, so ``manage.py check`` lists them by id and
``SILENCED_SYSTEM_CHECKS`` silences them."""

from __future__ import annotations

from typing import Any, List, Optional

from django.core import checks

from ...model import Report, Severity

# In warn mode (the only mode that boots with errors) an error is a Django Warning: a check
# Error would stop runserver and migrate, and warn mode promises the app still boots.
# `manage.py check --fail-level WARNING` makes CI fail on them.
_LEVELS = {
    Severity.ERROR: checks.Warning,
    Severity.WARNING: checks.Warning,
    Severity.INFO: checks.Info,
}

#: The report of the last ready(); None in off mode.
REPORT: Optional[Report] = None


def guard_findings(app_configs: Any = None, **kwargs: Any) -> List[Any]:
    """Registered with ``checks.register``: reads the report of ready(), runs nothing."""
    if REPORT is None:
        return []
    # the session's report is redacted where it is built
    return [
        _LEVELS[f.severity](
            f"[{f.severity.value}] {f.message}" + (f" [{f.capability}]" if f.capability else ""),
            hint=f.remediation or None,
            id=f.id,
        )
        for f in REPORT.findings
    ]
