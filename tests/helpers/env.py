"""The machine's own settings, kept out of the environments tests and demos build: a CI runner
inside Kubernetes, ECS or Lambda, or one with DD_* / APPSEC_GUARD_* set, must not change what
the guard detects in them."""

from __future__ import annotations

from typing import Dict, Mapping

MACHINE_PREFIXES = (
    "DD_", "APPSEC_GUARD_", "AWS_", "ECS_", "KUBERNETES_", "LAMBDA_", "DJANGO_", "FLASK_",
)  # fmt: skip
MACHINE_NAMES = frozenset(
    {"K_SERVICE", "K_REVISION", "K_CONFIGURATION", "FUNCTIONS_WORKER_RUNTIME",
     "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_SITE_NAME"}
)  # fmt: skip


def is_machine_setting(name: str) -> bool:
    return name.startswith(MACHINE_PREFIXES) or name in MACHINE_NAMES


def without_machine_settings(environ: Mapping[str, str]) -> Dict[str, str]:
    return {k: v for k, v in environ.items() if not is_machine_setting(k)}
