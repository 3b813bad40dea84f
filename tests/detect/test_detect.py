"""ddtrace and framework from crafted sys.path entries, the AG900 boundary, the fresh-interpreter
check that detection imports none of ddtrace, Django or Flask."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
from packaging.version import Version

import appsec_guard.detect as detect_mod
from appsec_guard.detect import ProbeOptions, detect
from appsec_guard.detect.distributions import Distributions
from appsec_guard.model import Framework, RemoteConfig, Status
from helpers.env import without_machine_settings

SRC = Path(__file__).resolve().parents[2] / "src"
OFF = ProbeOptions(enabled=False)


def _dist(site: Path, dirname: str, metadata: bytes = b"") -> Path:
    d = site / dirname
    d.mkdir(parents=True)
    if metadata:
        (d / "METADATA").write_bytes(metadata)
    return d


@pytest.mark.parametrize(
    ("dirname", "expected"),
    [
        ("ddtrace-2.6.0rc1.dist-info", "2.6.0rc1"),
        ("ddtrace-1.20.5.dev3+g1a2b3c.dist-info", "1.20.5.dev3+g1a2b3c"),
        ("ddtrace-2.21.12.dist-info", "2.21.12"),
    ],
)
def test_ddtrace_versions(tmp_path: Path, dirname: str, expected: str) -> None:
    _dist(tmp_path, dirname)
    det = detect({}, root=tmp_path, distributions=Distributions.scan([str(tmp_path)]), probe=OFF)
    assert det.stack.ddtrace == Version(expected)
    assert Version("2.6.0rc1") < Version("2.6.0")


def test_ddtrace_not_installed(tmp_path: Path) -> None:
    dists = Distributions.scan([str(tmp_path)])
    det = detect({}, root=tmp_path, distributions=dists, probe=OFF)
    assert det.stack.ddtrace is None
    assert det.stack.ddtrace_version_unknown is False


def test_version_from_metadata_when_name_has_none(tmp_path: Path) -> None:
    _dist(tmp_path, "ddtrace.dist-info", b"Metadata-Version: 2.1\nName: ddtrace\nVersion: 2.9.1\n")
    assert Distributions.scan([str(tmp_path)]).get("ddtrace").version == Version("2.9.1")  # type: ignore[union-attr]


def test_metadata_without_version_is_unknown_not_missing(tmp_path: Path) -> None:
    _dist(tmp_path, "ddtrace.dist-info", b"Metadata-Version: 2.1\nName: ddtrace\n\n\xff\xfe")
    det = detect({}, root=tmp_path, distributions=Distributions.scan([str(tmp_path)]), probe=OFF)
    assert det.stack.ddtrace is None
    assert det.stack.ddtrace_version_unknown
    assert any("version unreadable" in e.detail for e in det.stack.evidence)


def test_version_unknown_is_judged_unknown(tmp_path: Path) -> None:
    from appsec_guard import matrix
    from appsec_guard.judge import judge

    _dist(tmp_path, "ddtrace-not.a.version.dist-info")
    det = detect({}, root=tmp_path, distributions=Distributions.scan([str(tmp_path)]), probe=OFF)
    assert det.stack.ddtrace_version_unknown
    report = judge(det.stack, matrix.load(), requested=["threat_detection"])
    assert report.verdict("threat_detection").status is Status.UNKNOWN
    assert "AG104" in [f.id for f in report.findings]
    assert "AG100" not in [f.id for f in report.findings]


def test_broken_metadata_dirs(tmp_path: Path) -> None:
    _dist(tmp_path, "ddtrace.dist-info")  # no METADATA at all
    (tmp_path / "flask.dist-info").mkdir()
    (tmp_path / "flask.dist-info" / "METADATA").mkdir()  # a directory, not a file
    os.mkfifo(tmp_path / "django.egg-info")  # opening it would block
    dists = Distributions.scan([str(tmp_path), str(tmp_path / "missing"), "/dev/null"])
    assert dists.get("ddtrace").version is None  # type: ignore[union-attr]
    assert dists.get("flask").version is None  # type: ignore[union-attr]


def test_framework_order_hint_then_modules_then_installed(tmp_path: Path) -> None:
    _dist(tmp_path, "Django-4.2.1.dist-info")
    _dist(tmp_path, "fastapi-0.110.0.dist-info")
    dists = Distributions.scan([str(tmp_path)])
    hint = Framework("flask", Version("3.0.0"))
    d1 = detect({}, root=tmp_path, modules={}, distributions=dists, framework_hint=hint, probe=OFF)
    assert d1.stack.framework == hint
    d2 = detect({}, root=tmp_path, modules={"fastapi": object()}, distributions=dists, probe=OFF)
    assert d2.stack.framework == Framework("fastapi", Version("0.110.0"))
    d3 = detect({}, root=tmp_path, modules={}, distributions=dists, probe=OFF)
    assert d3.stack.framework is None
    assert [f.id for f in d3.findings] == ["AG305"]


def test_unknown_framework_by_name_and_version(tmp_path: Path) -> None:
    _dist(tmp_path, "pyramid-2.0.2.dist-info")
    dists = Distributions.scan([str(tmp_path)])
    det = detect({}, root=tmp_path, modules={}, distributions=dists, probe=OFF)
    assert det.stack.framework == Framework("pyramid", Version("2.0.2"))


def test_requested_and_remote_config_flow_into_the_stack(tmp_path: Path) -> None:
    env: Dict[str, str] = {
        "DD_APPSEC_ENABLED": "true",
        "DD_REMOTE_CONFIGURATION_ENABLED": "false",
        "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
    }
    det = detect(env, root=tmp_path, distributions=Distributions.scan([]), probe=OFF)
    assert det.requested == {"threat_detection"}
    assert det.stack.deployment == "fargate"
    assert det.stack.remote_config is RemoteConfig.DISABLED


def test_assumed_facts_are_not_detected(tmp_path: Path) -> None:
    env = {"AWS_LAMBDA_FUNCTION_NAME": "fn"}
    det = detect(
        env,
        root=tmp_path,
        assumed={"deployment": "docker", "remote_config": RemoteConfig.ENABLED},
        distributions=Distributions.scan([]),
    )
    assert det.stack.deployment == "docker"
    assert det.stack.remote_config is RemoteConfig.ENABLED


def test_a_failing_detector_gives_ag900(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(env: object, root: object) -> None:
        raise RuntimeError("boom\nsecond line of a traceback")

    monkeypatch.setattr(detect_mod, "detect_deployment", broken)
    det = detect({}, root=tmp_path, distributions=Distributions.scan([]), probe=OFF)
    assert det.stack.deployment == "host"
    (finding,) = [f for f in det.findings if f.id == "AG900"]
    assert (
        finding.message
        == "the deployment detector failed (RuntimeError: boom); deployment is unknown"
    )


def test_cli_options_for_the_probe() -> None:
    from appsec_guard.cli import main

    assert main(["check", "--agent-timeout", "-1"]) == 2
    assert main(["check", "--agent-timeout", "nan"]) == 2


@pytest.mark.slow
def test_full_check_imports_no_framework_or_ddtrace(tmp_path: Path) -> None:
    script = (
        "import io, json, sys, contextlib\n"
        "from appsec_guard.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    main(['check', '--format', 'json', '--agent-timeout', '0.2'])\n"
        "print(json.dumps({'report': json.loads(out.getvalue()), 'modules': sorted(sys.modules)}))\n"
    )
    env = {**without_machine_settings(os.environ), "PYTHONPATH": str(SRC)}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    top = {m.split(".")[0] for m in data["modules"]}
    assert not top & {"ddtrace", "django", "flask"}
    facts = {e["fact"] for e in data["report"]["stack"]["evidence"]}
    assert {"python", "os", "arch", "ddtrace", "framework", "deployment", "remote_config"} <= facts
    assert data["report"]["stack"]["ddtrace"] is not None  # ddtrace is installed here
    if os.path.exists("/.dockerenv"):
        assert data["report"]["stack"]["deployment"] == "docker"


@pytest.mark.slow
def test_python_m_check_json_runs() -> None:
    env = {**without_machine_settings(os.environ), "PYTHONPATH": str(SRC)}
    proc = subprocess.run(
        [sys.executable, "-m", "appsec_guard", "check", "--format", "json", "--no-probe"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["stack"]["remote_config"] == "unknown"
