"""Helpers for testing code that uses appsec-guard: build stacks without detecting them.

>>> from appsec_guard.testing import make_stack
>>> from appsec_guard.judge import judge
>>> from appsec_guard.matrix import load
>>> judge(make_stack(deployment="lambda"), load()).verdict("sca").status.value
'unsupported'
"""

from __future__ import annotations

from typing import Optional

from packaging.version import Version

from .assume import PARSERS
from .model import Framework, RemoteConfig, Runtime, Stack


def make_stack(
    *,
    python: str = "3.11.7",
    implementation: str = "cpython",
    os: str = "linux",
    arch: str = "x86_64",
    ddtrace: Optional[str] = "2.6.0",
    framework: Optional[str] = "django==4.2.1",
    deployment: str = "docker",
    remote_config: RemoteConfig = RemoteConfig.ENABLED,
) -> Stack:
    """A stack on which every capability is supported, unless a keyword changes that.

    ``framework`` is ``"name==version"``, ``"name"`` (version unknown) or None (no framework),
    read as ``--assume framework=...`` reads it: the name normalised (``"Django==4.2"`` is
    django), a malformed one refused with an ``AssumptionError`` (a ValueError).
    """
    fw: Optional[Framework] = None
    if framework is not None:
        fw = PARSERS["framework"](framework)
    return Stack(
        runtime=Runtime(implementation, Version(python), os, arch),
        ddtrace=None if ddtrace is None else Version(ddtrace),
        framework=fw,
        deployment=deployment,
        remote_config=remote_config,
    )
