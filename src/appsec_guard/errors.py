"""The one exception the guard raises out of an app's boot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .model import Report


class GuardError(Exception):
    """Strict mode refused to boot: a requested or required capability will not work here.

    ``str(error)`` is a multi-line message (each capability, its reasons and the fix), with
    secrets redacted; ``error.report`` is the report behind it (None if the guard could not
    build one).
    """

    def __init__(self, message: str, report: Optional[Report] = None) -> None:
        super().__init__(message)
        self.report = report
