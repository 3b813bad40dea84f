"""AWS Lambda: a decorator for a handler, and a redirect handler for zero code change.

Decorator::

    import appsec_guard

    @appsec_guard.lambda_handler
    def handler(event, context): ...

Redirect handler: set the function's handler to ``appsec_guard.aws_lambda.handler`` and
``APPSEC_GUARD_LAMBDA_HANDLER=app.handler`` (``module.function``, as datadog-lambda's
``DD_LAMBDA_HANDLER``).

Both run the guard once per cold start, while the runtime initialises the function (the
decorator when the handler module is imported, the redirect handler when the runtime looks the
handler up), so in strict mode GuardError fails the init and the runtime reports it as an init
error with the guard's message. Warm invocations run no guard code.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import Any, Callable, TypeVar

from . import session
from .errors import GuardError

HANDLER_VARIABLE = "APPSEC_GUARD_LAMBDA_HANDLER"
F = TypeVar("F", bound=Callable[..., Any])


def _cold_start() -> None:
    """The guard's run for this execution environment (cached: once per cold start)."""
    if session.STATE.report is None and not (
        session.STATE.policy is not None and session.STATE.policy.off
    ):
        session.run("lambda")


def lambda_handler(func: F) -> F:
    """Run the guard now (the cold start) and return ``func`` wrapped with no per-call work.

    Name, docstring, signature (through ``__wrapped__``) and return value are the handler's
    own. The wrapper is a plain closure, not a wrapt FunctionWrapper: measured here, wrapt
    2.x's C wrapper adds ~1.3 us per call, over the 1 us budget; the closure adds ~0.1 us.
    """
    _cold_start()

    @functools.wraps(func)
    def handler(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return handler  # type: ignore[return-value]


def _shown(target: str) -> str:
    from .redaction import redact_text

    return redact_text(repr(target[:120]))


def _redacted(message: str) -> str:
    """The whole message redacted: names taken from the target or the exception included."""
    from .redaction import redact_text

    return redact_text(message)


def _load_handler() -> Callable[..., Any]:
    target = os.environ.get(HANDLER_VARIABLE, "").strip()
    module_name, _, func_name = target.rpartition(".")
    module_name = module_name.replace("/", ".")
    if not all(p.isidentifier() for p in (*module_name.split("."), func_name)):
        raise GuardError(
            _redacted(
                f"{HANDLER_VARIABLE}={_shown(target)} is not 'module.function'; set it to the "
                "real handler, e.g. app.handler"
            )
        )
    # The app's module first: its logging configuration and framework imports are then in
    # place, so the guard logs where the app logs and judges what the app runs.
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # The named module itself is missing (bad input to the guard); a module the app's
        # code imports that is missing is the app's own error and is raised as it is.
        if exc.name is None or not (module_name + ".").startswith(exc.name + "."):
            raise
        raise GuardError(
            _redacted(
                f"{HANDLER_VARIABLE}={_shown(target)}: no module named {exc.name!r} "
                "(is it in the deployment package?)"
            )
        ) from None
    try:
        real: Callable[..., Any] = getattr(module, func_name)
    except AttributeError:
        raise GuardError(
            _redacted(
                f"{HANDLER_VARIABLE}={_shown(target)}: module {module_name!r} has no {func_name!r}"
            )
        ) from None
    _cold_start()
    return real


def __getattr__(name: str) -> Any:
    # The runtime looks ``handler`` up once, at init: resolve the real handler then, and bind
    # it in this module so warm invocations call it directly, through no wrapper at all.
    if name == "handler":
        real = _load_handler()
        globals()["handler"] = real
        return real
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
