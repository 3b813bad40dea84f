"""Run inside a virtualenv that has one real ddtrace release: import ddtrace's own settings
objects (never done by the guard itself) and print, as JSON, what that release parsed from the
environment it was started with. tests/conformance/test_activation_real.py compares it with
appsec_guard.activation.state for the same settings.

Only attributes that exist in the release are read; a missing one is reported as null.
"""

from __future__ import annotations

import importlib
import json
import sys


def _first(*modules: str):  # type: ignore[no-untyped-def]
    for name in modules:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def main() -> None:
    out = {}
    asm = _first("ddtrace.internal.settings.asm", "ddtrace.settings.asm")
    cfg = getattr(asm, "config", None) if asm is not None else None
    for attr in (
        "_asm_enabled",
        "_asm_can_be_enabled",
        "_iast_enabled",
        "_api_security_enabled",
        "_api_security_sample_rate",
        "_auto_user_instrumentation_local_mode",
        "_auto_user_instrumentation_enabled",
    ):
        value = getattr(cfg, attr, None) if cfg is not None else None
        out[attr] = (
            value if isinstance(value, (bool, str, int, float)) or value is None else str(value)
        )
    api_active = getattr(cfg, "_api_security_feature_active", None) if cfg is not None else None
    out["_api_security_feature_active"] = api_active if isinstance(api_active, bool) else None
    mode = getattr(cfg, "_user_event_mode", None) if cfg is not None else None
    out["_user_event_mode"] = mode if isinstance(mode, str) else None
    telemetry = _first("ddtrace.internal.settings.appsec_telemetry")
    sca = None
    if telemetry is not None and hasattr(telemetry, "config"):
        sca = getattr(telemetry.config, "SCA_ENABLED", None)
    if sca is None:
        tracer_settings = _first("ddtrace.internal.settings._config", "ddtrace.settings.config")
        tracer_cfg = getattr(tracer_settings, "config", None)
        sca = getattr(tracer_cfg, "_sca_enabled", None)
    out["sca_enabled"] = sca
    # releases that keep these answers in functions rather than on the config object
    utils = _first("ddtrace.appsec._utils", "ddtrace.appsec.utils")
    if out["_asm_can_be_enabled"] is None and hasattr(utils, "_appsec_rc_features_is_enabled"):
        out["_asm_can_be_enabled"] = bool(utils._appsec_rc_features_is_enabled())  # type: ignore[union-attr]
    if out["_api_security_feature_active"] is None and hasattr(
        utils, "_appsec_apisec_features_is_active"
    ):
        out["_api_security_feature_active"] = bool(utils._appsec_apisec_features_is_active())  # type: ignore[union-attr]
    if "--preload" in sys.argv:
        # what ddtrace-run does at start: is Code Security's import hook installed?
        importlib.import_module("ddtrace.bootstrap.sitecustomize")
        out["iast_hook_installed"] = "ddtrace.appsec._iast._loader" in sys.modules
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
