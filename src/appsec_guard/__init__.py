"""appsec-guard: tells a Python app at boot which Datadog Application Security capabilities
its stack really supports."""

from __future__ import annotations

from .guard import assess
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

__all__ = [
    "Evidence",
    "Finding",
    "Framework",
    "RemoteConfig",
    "Report",
    "Runtime",
    "Severity",
    "Stack",
    "Status",
    "Verdict",
    "assess",
]
__version__ = "0.1.0"
