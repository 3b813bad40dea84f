"""The activation model against real ddtrace releases.

For each case a virtualenv holding one ddtrace release (under $CONFORMANCE_CACHE, default
.nox/conformance-envs) runs activation_probe.py with the case's environment: ddtrace imports
its own settings objects and prints what it parsed (AppSec on, can it be switched on remotely,
SCA, API Security, the user-tracking mode, whether Code Security's import hook is installed).
That is compared with ``appsec_guard.activation.state`` for the same release and settings.

Runs with the conformance suite (APPSEC_GUARD_CONFORMANCE=1). The newest release always; the
older ones when APPSEC_GUARD_ACTIVATION_RELEASES=all (or a comma-separated list of releases),
so that the CI slice does not install six more virtualenvs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from packaging.version import Version

sys.path.insert(0, str(Path(__file__).resolve().parent))

import confkit

from appsec_guard import activation
from appsec_guard.model import RemoteConfig

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(not confkit.ENABLED, reason=confkit.SKIP_REASON),
]

PROBE = Path(__file__).resolve().parent / "activation_probe.py"
TD, SCA, API, USER, IAST = (
    "threat_detection",
    "sca",
    "api_security",
    "user_event_tracking",
    "code_security",
)

# (ddtrace, environment, capabilities to compare, run ddtrace's start-up code too)
CASES: List[Tuple[str, Dict[str, str], Tuple[str, ...], bool]] = [
    ("4.16.0", {"DD_APPSEC_ENABLED": "false"}, (TD, API, USER), False),
    ("4.16.0", {}, (TD, API, SCA), False),
    ("4.16.0", {"DD_REMOTE_CONFIGURATION_ENABLED": "false"}, (TD, API, USER), False),
    ("4.16.0", {"DD_APPSEC_ENABLED": "yes", "DD_APPSEC_SCA_ENABLED": "yes"}, (TD, SCA), False),
    ("4.16.0", {"DD_APPSEC_ENABLED": "true", "DD_API_SECURITY_ENABLED": "false"}, (API,), False),
    (
        "4.16.0",
        {"DD_APPSEC_ENABLED": "1", "DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING_ENABLED": "no"},
        (USER,),
        False,
    ),
    ("4.12.0", {"DD_APPSEC_SCA_ENABLED": "yes"}, (SCA,), False),
    ("4.12.0", {"DD_APPSEC_SCA_ENABLED": "true"}, (SCA,), False),
    (
        "2.11.0",
        {"DD_APPSEC_ENABLED": "true", "DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING": "safe"},
        (USER,),
        False,
    ),
    (
        "2.11.0",
        {"DD_APPSEC_ENABLED": "true", "DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING": "disabled"},
        (USER,),
        False,
    ),
    (
        "2.19.4",
        {"DD_APPSEC_ENABLED": "true", "DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING": "disabled"},
        (USER,),
        False,
    ),
    ("2.6.0", {"DD_IAST_ENABLED": "on"}, (IAST,), True),
    ("2.6.0", {"DD_IAST_ENABLED": "true"}, (IAST,), True),
    (
        "2.6.0",
        {"DD_APPSEC_ENABLED": "true", "DD_API_SECURITY_REQUEST_SAMPLE_RATE": "0"},
        (API,),
        False,
    ),
    ("2.6.0", {"DD_APPSEC_ENABLED": "yes"}, (TD,), False),
    ("2.16.0", {"DD_IAST_ENABLED": "yes"}, (IAST,), True),
    ("1.20.0", {"DD_APPSEC_ENABLED": "yes"}, (TD,), False),
]


def _releases() -> Optional[List[str]]:
    """The releases to run; None for all."""
    wanted = os.environ.get("APPSEC_GUARD_ACTIVATION_RELEASES", "")
    if wanted == "all":
        return None
    return [confkit.NEWEST, *[v for v in wanted.split(",") if v]]


def _observed(cap: str, seen: Dict[str, Any]) -> str:
    """What the release's own settings objects say, in the model's words."""
    appsec_on = bool(seen["_asm_enabled"])
    remote = not appsec_on and bool(seen["_asm_can_be_enabled"])
    if cap == TD:
        return "on" if appsec_on else "remote" if remote else "off"
    if cap == SCA:
        return "on" if seen["sca_enabled"] else "off"
    if cap == API:
        if seen["_api_security_feature_active"]:
            return "on"
        rate = seen["_api_security_sample_rate"]
        api_on = seen["_api_security_enabled"] and (rate is None or rate > 0)
        return "remote" if remote and api_on else "off"
    if cap == USER:
        local = seen["_auto_user_instrumentation_local_mode"]
        enabled = seen["_auto_user_instrumentation_enabled"]
        if not appsec_on:
            return "remote" if remote and enabled else "off"
        if seen["_user_event_mode"] not in (None, "disabled"):
            return "on"
        # a local "disabled" mode can still be replaced by a mode sent remotely
        return "remote" if enabled and local == "disabled" else "off"
    if cap == IAST:
        installed = seen.get("iast_hook_installed", seen["_iast_enabled"])
        return "on" if seen["_iast_enabled"] and installed else "off"
    raise AssertionError(cap)


def _probe(version: str, env: Dict[str, str], preload: bool) -> Dict[str, Any]:
    try:
        venv = confkit.ensure_venv(
            f"activation-ddtrace-{version}",
            ("3.11", "3.10", "3.12"),
            [f"ddtrace=={version}", *(["wrapt"] if version.startswith("2.") else [])],
        )
    except confkit.SetupError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    cmd = [str(venv.path / "bin" / "python"), str(PROBE), *(["--preload"] if preload else [])]
    # only the case's settings: none of this machine's DD_* variables
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **env}
    res = subprocess.run(cmd, env=clean, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    seen: Dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    return seen


@pytest.mark.parametrize(
    ("version", "env", "caps", "preload"),
    CASES,
    ids=[f"{v}-{'-'.join(f'{k}={x}' for k, x in e.items()) or 'unset'}" for v, e, _, _ in CASES],
)
def test_activation_agrees_with_real_ddtrace(
    version: str, env: Dict[str, str], caps: Tuple[str, ...], preload: bool
) -> None:
    releases = _releases()
    if releases is not None and version not in releases:
        pytest.skip(f"ddtrace {version}: set APPSEC_GUARD_ACTIVATION_RELEASES=all to run it")
    seen = _probe(version, env, preload)
    for cap in caps:
        predicted = activation.state(cap, Version(version), env, RemoteConfig.ENABLED, "host")
        assert predicted.state.value == _observed(cap, seen), (cap, predicted, seen)
