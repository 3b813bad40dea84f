"""ddtrace detection and verdicts against a real install of one ddtrace release.

``nox -s ddtrace`` installs one release per environment and sets APPSEC_GUARD_EXPECT_DDTRACE to
the version it installed. Without it (the default ``pytest`` run) these tests are skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _guard_cli import check_json, statuses

from appsec_guard.detect.distributions import Distributions

EXPECT = os.environ.get("APPSEC_GUARD_EXPECT_DDTRACE", "")
pytestmark = pytest.mark.skipif(
    not EXPECT, reason="run by `nox -s ddtrace` (needs APPSEC_GUARD_EXPECT_DDTRACE=VERSION)"
)

# Minimum ddtrace per capability, written out from Datadog's compatibility page (not read from
# the matrix, so that wrong matrix data fails these tests).
MINIMUM = {
    "threat_detection": "1.9.0",
    "threat_protection": "1.10.0",
    "custom_blocking_response": "1.19.0",
    "user_event_tracking": "1.17.0",
    "api_security": "2.6.0",
}

# Django 4.2 in a container with Remote Configuration: only ddtrace decides.
STACK = ("framework=django==4.2", "deployment=docker", "remote_config=enabled")


def test_version_read_from_metadata() -> None:
    dist = Distributions.scan().get("ddtrace")
    assert dist is not None, "ddtrace is not installed in this session"
    assert dist.version == Version(EXPECT)


def test_cli_reads_the_installed_version() -> None:
    report = check_json(*STACK)
    assert report["stack"]["ddtrace"] == EXPECT
    evidence = [e for e in report["stack"]["evidence"] if e["fact"] == "ddtrace"]
    assert evidence
    assert "ddtrace-" in evidence[0]["source"]


@pytest.mark.parametrize("capability", sorted(MINIMUM))
def test_verdict_follows_the_minimum_version(capability: str) -> None:
    report = check_json(*STACK)
    expected = "supported" if Version(EXPECT) >= Version(MINIMUM[capability]) else "unsupported"
    assert statuses(report)[capability] == expected, report["capabilities"][capability]


def test_guard_reads_ddtrace_without_importing_it() -> None:
    code = (
        "import sys\n"
        "from appsec_guard.detect import detect\n"
        "d = detect({}, assumed={'deployment': 'docker'})\n"
        "print(d.stack.ddtrace, 'ddtrace' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [EXPECT, "False"]
