"""Framework detection and version verdicts against a real install of one framework version.

``nox -s frameworks`` installs one Django or Flask release per environment and sets
APPSEC_GUARD_EXPECT_FRAMEWORK (``django==3.2``: the name and the release series it installed).
Without it (the default ``pytest`` run) these tests are skipped.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _guard_cli import check_json, statuses

from appsec_guard.detect.distributions import Distributions
from appsec_guard.detect.framework import detect_framework

EXPECT = os.environ.get("APPSEC_GUARD_EXPECT_FRAMEWORK", "")
pytestmark = pytest.mark.skipif(
    not EXPECT,
    reason="run by `nox -s frameworks` (needs APPSEC_GUARD_EXPECT_FRAMEWORK=name==series)",
)
NAME, _, SERIES = EXPECT.partition("==")

# Written out here, not read from the matrix, so that wrong matrix data fails these tests.
# Datadog's page: automatic user activity tracking covers Django 1.11, 2.2, 3.2 and >= 4.0,
# no other framework; threat detection/protection cover Django >= 1.8 and Flask >= 0.10.
USER_TRACKING_DJANGO_SERIES = {(1, 11), (2, 2), (3, 2)}

# A stack on which nothing but the framework stands in the way: a ddtrace whose runtime rows
# cover every Python 3.8-3.13 that the sessions use, in a container with Remote Configuration.
STACK = ("ddtrace=2.21.12", "deployment=docker", "remote_config=enabled")


def _series_matches(version: Version) -> bool:
    want = tuple(int(p) for p in SERIES.split("."))
    return version.release[: len(want)] == want


def _expected_user_tracking(version: Version) -> str:
    if NAME != "django":
        return "unsupported"
    ok = version.release[:2] in USER_TRACKING_DJANGO_SERIES or version.major >= 4
    return "supported" if ok else "unsupported"


def test_version_read_from_metadata() -> None:
    dist = Distributions.scan().get(NAME)
    assert dist is not None, f"{NAME} is not installed in this session"
    assert dist.version is not None
    assert _series_matches(dist.version), f"{dist.version} is not in series {SERIES}"
    assert dist.location.endswith((".dist-info", ".egg-info"))


def test_installed_framework_is_detected_before_import() -> None:
    modules = {k: v for k, v in sys.modules.items() if k.split(".")[0] != NAME}
    fact = detect_framework(modules, Distributions.scan())
    framework, evidence, findings = fact.value, list(fact.evidence), list(fact.findings)
    assert framework is not None
    assert framework.name == NAME
    assert framework.version is not None
    assert _series_matches(framework.version)
    assert evidence[0].source == "installed distributions"
    assert not findings


def test_imported_framework_is_detected_from_sys_modules() -> None:
    importlib.import_module(NAME)
    assert NAME in sys.modules
    fact = detect_framework(sys.modules, Distributions.scan())
    framework, evidence, _ = fact.value, list(fact.evidence), list(fact.findings)
    assert framework is not None
    assert framework.name == NAME
    assert framework.version is not None
    assert _series_matches(framework.version)
    assert evidence[0].source == "sys.modules"


def test_cli_detects_the_framework_and_judges_its_version() -> None:
    report = check_json(*STACK)
    fw = report["stack"]["framework"]
    assert fw["name"] == NAME
    version = Version(fw["version"])
    assert _series_matches(version)
    got = statuses(report)
    assert got["threat_detection"] == "supported"
    assert got["threat_protection"] == "supported"
    assert got["user_event_tracking"] == _expected_user_tracking(version), report["capabilities"][
        "user_event_tracking"
    ]
    if got["user_event_tracking"] == "unsupported":
        assert report["capabilities"]["user_event_tracking"]["reasons"]


@pytest.mark.skipif(NAME != "django", reason="the Django app")
def test_the_django_app_runs_on_this_django() -> None:
    """`manage.py check` of a real project with the guard's app lists the guard's findings as
    system checks on every Django release (before 3.2 that needs default_app_config): AG304
    exactly where user tracking does not cover this Django."""
    root = Path(__file__).resolve().parents[1]
    project = root / "projects" / "djangoproj"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(project), str(root / "projects")]),
        "APPSEC_GUARD_PROBE": "off",
    }
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=project, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "AG100" in out  # the guard ran in ready(): no ddtrace in this environment
    version = Distributions.scan().get("django").version  # type: ignore[union-attr]
    assert version is not None
    assert ("AG304" in out) == (_expected_user_tracking(version) == "unsupported"), out


@pytest.mark.skipif(NAME != "flask", reason="the Flask extension")
def test_the_flask_extension_runs_on_this_flask(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppSecGuard on a real app of this Flask release: the report, the caveat, the command."""
    monkeypatch.setenv("APPSEC_GUARD_PROBE", "off")
    from flask import Flask

    from appsec_guard import session
    from appsec_guard.contrib.flask import AppSecGuard

    session.reset_for_tests()
    app = Flask("guarded")
    AppSecGuard(app)
    report = app.extensions["appsec_guard"]
    assert report.stack.framework is not None
    assert report.stack.framework.name == "flask"
    assert _series_matches(report.stack.framework.version)
    assert "AG303" in {f.id for f in report.findings}  # Flask's query-string caveat
    result = app.test_cli_runner().invoke(args=["appsec-guard", "check", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"name": "flask"' in result.output
