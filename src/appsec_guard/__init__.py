"""appsec-guard: tells a Python app at boot which Datadog Application Security capabilities
its stack really supports.

``import appsec_guard`` runs the guard once for the process (see README, "Entry points");
``appsec_guard.check()`` returns its report.
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import TYPE_CHECKING, Any, Optional

from .errors import GuardError
from .model import (
    Evidence,
    Finding,
    Framework,
    RemoteConfig,
    Report,
    Runtime,
    Severity,
    Stack,
    Status,
    Verdict,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .aws_lambda import lambda_handler
    from .guard import assess

__all__ = [
    "Evidence",
    "Finding",
    "Framework",
    "GuardError",
    "RemoteConfig",
    "Report",
    "Runtime",
    "Severity",
    "Stack",
    "Status",
    "Verdict",
    "assess",
    "check",
    "lambda_handler",
]


def check(refresh: bool = False) -> Report:
    """The guard's report for this process.

    The first call (or the run of ``import appsec_guard``) detects and judges; later calls
    return the same report. ``refresh=True`` runs again and logs only what changed. In off
    mode it still judges (it was asked to) but logs nothing and never raises.
    Raises GuardError in strict mode when a requested or required capability is unsupported.
    """
    from .session import check as _check

    return _check(refresh)


def __getattr__(name: str) -> Any:
    # Lazy attributes (PEP 562): keep `import appsec_guard` from importing what it does not run.
    if name == "lambda_handler":
        from .aws_lambda import lambda_handler

        return lambda_handler
    if name == "assess":
        from .guard import assess

        return assess
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _imported_for_a_submodule() -> bool:
    """True when this package is being imported only as the parent of one of its submodules.

    ``import appsec_guard.cli`` (the ``appsec-guard`` command), ``python -m appsec_guard``,
    and the integrations (``appsec_guard.contrib.django``, ``appsec_guard.contrib.flask``,
    ``appsec_guard.aws_lambda``) all execute this file first, because Python imports a parent
    package before its submodule. Those entry points run the guard themselves, each its own
    way (the command prints JSON on a clean stdout; Django must raise ImproperlyConfigured
    from its AppConfig.ready(); Flask reads app.config), so the import-time run must not
    happen for them. Python does not tell a package why it is imported, but the import
    machinery's frames do: importlib's ``_find_and_load(name, ...)`` and runpy's
    ``_get_module_details(mod_name, ...)`` hold the full dotted name being imported. If one
    of them is ``appsec_guard.<something>``, this is a parent import.
    """
    prefix = __name__ + "."
    frame: Optional[FrameType]
    try:
        frame = sys._getframe(1)
    except (AttributeError, ValueError):  # an interpreter without frames: run the guard
        return False
    for _ in range(200):
        if frame is None:
            break
        filename = frame.f_code.co_filename
        if "importlib" in filename or "runpy" in filename:
            for var in ("name", "mod_name"):
                value = frame.f_locals.get(var)
                if isinstance(value, str) and value.startswith(prefix):
                    return True
        frame = frame.f_back
    return False


def _boot() -> None:
    try:
        submodule = _imported_for_a_submodule()
    except Exception:
        submodule = False
    if not submodule:
        from .session import boot

        boot()  # raises only GuardError (strict mode)


_boot()
