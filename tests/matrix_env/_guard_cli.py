"""Run ``appsec-guard check --format json`` in a fresh interpreter of the session's env."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Dict


def check_json(*assume: str) -> Dict[str, Any]:
    cmd = [sys.executable, "-m", "appsec_guard", "check", "--format", "json"]
    for fact in assume:
        cmd += ["--assume", fact]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    report: Dict[str, Any] = json.loads(proc.stdout)
    return report


def statuses(report: Dict[str, Any]) -> Dict[str, str]:
    return {cap: v["status"] for cap, v in report["capabilities"].items()}
