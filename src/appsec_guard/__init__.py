"""appsec-guard: tells a Python app at boot which Datadog Application Security capabilities
its stack really supports.

``import appsec_guard`` runs the guard once for the process (see README, "Entry points");
``appsec_guard.check()`` returns its report.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

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
    return the same report. ``refresh=True`` judges again, detecting again the web framework
    and Remote Configuration, and logs only what changed. In off mode it still judges (it was
    asked to) but logs nothing and never raises.
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


#: Submodules that run the guard themselves, each its own way (the command prints on a clean
#: stdout and judges without logging; Django raises ImproperlyConfigured from ready(); Flask
#: reads app.config; the Lambda wrappers at the cold start; the matrix compiler judges
#: nothing). Importing one of them imports this package first, and that import must leave
#: the run to them. Every other import of the
#: package (``import appsec_guard``, ``from appsec_guard import testing``,
#: ``from appsec_guard.testing import make_stack``) runs the guard.
_RUN_THEMSELVES = ("cli", "__main__", "contrib", "aws_lambda", "_compile")


def _importing_an_entry_point() -> bool:
    """True when this package is being imported as the parent of one of ``_RUN_THEMSELVES``.

    The import system keeps a lock per module being imported, by full name, until that
    import is over (``importlib._bootstrap._module_locks``; the same module is
    ``_frozen_importlib``, built into every CPython 3): while ``import
    appsec_guard.contrib.django`` executes this file, it holds that name's lock. Asked here
    by name, not by walking stack frames or reading their locals.
    """
    bootstrap = sys.modules.get("_frozen_importlib")
    locks = getattr(bootstrap, "_module_locks", None)
    if not isinstance(locks, dict):  # another import system: the guard runs
        return False
    names = tuple(f"{__name__}.{name}" for name in _RUN_THEMSELVES)
    below = tuple(f"{name}." for name in names)
    held = [
        ref
        for name, ref in list(locks.items())
        if isinstance(name, str) and (name in names or name.startswith(below))
    ]
    # each value is a weak reference to the lock: a dead one is an import that is over
    return any((ref() if callable(ref) else ref) is not None for ref in held)


def _located_by_python_m() -> bool:
    """True while ``python -m appsec_guard[.cli]`` locates its module: runpy imports this
    package plainly then, with ``sys.argv[0] == "-m"`` (documented for ``-m``). Which module
    is run is in ``sys.orig_argv`` (3.10+); before 3.10 any ``-m`` run is taken as ours."""
    if sys.argv[:1] != ["-m"]:
        return False
    orig = getattr(sys, "orig_argv", None)
    if not isinstance(orig, list):
        return True
    target = ""
    for i, arg in enumerate(orig[1:], 1):
        if arg == "-m":
            target = orig[i + 1] if i + 1 < len(orig) else ""
            break
        if arg.startswith("-m"):
            target = arg[2:]
            break
    names = (__name__, *(f"{__name__}.{name}" for name in _RUN_THEMSELVES))
    return target in names or target.startswith(tuple(f"{n}." for n in names[1:]))


def _boot() -> None:
    try:
        entry_point = _importing_an_entry_point() or _located_by_python_m()
    except Exception:
        entry_point = False
    if not entry_point:
        from .session import boot

        boot()  # raises only GuardError (strict mode)


_boot()
