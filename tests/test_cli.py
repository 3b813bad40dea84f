"""The command, in-process and as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from appsec_guard.cli import main

SRC = str(Path(__file__).resolve().parents[1] / "src")
# A stack that needs no detection: every fact assumed.
BASE = [
    "--assume", "python=3.11.7", "--assume", "os=linux", "--assume", "arch=x86_64",
    "--assume", "implementation=cpython", "--assume", "ddtrace=2.6.0",
    "--assume", "framework=django==4.2.1", "--assume", "deployment=docker",
    "--assume", "remote_config=enabled",
]  # fmt: skip


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code = main(["check", "--format", "json", *BASE, *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_healthy_stack_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "--require", "threat_protection,api_security")
    assert code == 0
    assert doc["capabilities"]["threat_protection"]["status"] == "supported"
    assert doc["capabilities"]["threat_protection"]["required"] is True
    assert doc["stack"]["ddtrace"] == "2.6.0"


def test_later_assumptions_win(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "--assume", "deployment=lambda", "--require", "sca")
    assert code == 1
    assert doc["stack"]["deployment"] == "lambda"
    assert doc["capabilities"]["sca"]["status"] == "unsupported"
    (f,) = [f for f in doc["findings"] if f["capability"] == "sca" and f["id"] == "AG400"]
    assert f["severity"] == "error"
    assert {e["fact"] for e in doc["stack"]["evidence"] if e["source"] == "assumed"} >= {
        "deployment"
    }


def test_unsupported_but_not_wanted_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "--assume", "ddtrace=1.18.0")
    assert code == 0
    assert doc["capabilities"]["api_security"]["status"] == "unsupported"


def test_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["check", *BASE, "--assume", "ddtrace=1.18.3", "--require", "custom_blocking_response"]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "custom_blocking_response" in out and "unsupported" in out
    assert "fix: upgrade ddtrace to >=1.19.0" in out
    assert "FAIL: requested or required capabilities will not work: custom_blocking_response" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "--assume", "ddtrace=latest"], "ddtrace='latest' is not a version"),
        (["check", "--assume", "colour=blue"], "unknown key 'colour'"),
        (["check", "--require", "blocking"], "--require 'blocking' is not a capability"),
        (["check", "--format", "yaml"], "invalid choice: 'yaml'"),
        (["check", "--matrix", "/nonexistent/matrix.json"], "matrix.json: cannot read"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: List[str], message: str
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("appsec-guard: error: ")
    assert message in lines[0]


def test_broken_matrix_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "mine.json"
    bad.write_text('{"schema_version": 1, "runtimes": [{"os": "linux"}]}')
    assert main(["check", *BASE, "--matrix", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "mine.json: runtimes[0].python: expected a list, got null" in err


def test_matrix_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix"]) == 0
    text = capsys.readouterr().out
    assert "api_security" in text and "2.6.0" in text
    assert "AWS Lambda" in text and "Django" in text and "1.11, 2.2, 3.2, >=4.0" in text
    assert main(["matrix", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 1
    assert {c["id"] for c in doc["capabilities"]} >= {"sca", "api_security"}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env: Dict[str, str] = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-m", "appsec_guard", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_python_dash_m(tmp_path: Path) -> None:
    proc = _run(
        "check",
        "--format",
        "json",
        *BASE,
        "--assume",
        "framework=flask==0.9",
        "--require",
        "threat_detection",
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["capabilities"]["threat_detection"]["status"] == "unsupported"
    assert proc.stderr == ""


def test_python_dash_m_usage_error_has_no_traceback() -> None:
    proc = _run("check", "--assume", "python=three")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert (
        proc.stderr.strip()
        == "appsec-guard: error: python='three' is not a version; write e.g. python=3.12.1"
    )


def test_detects_this_interpreter_without_assumptions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--format", "json", "--assume", "remote_config=enabled"]) in (0, 1)
    doc = json.loads(capsys.readouterr().out)
    py = doc["stack"]["python"]
    assert py["version"].startswith(f"{sys.version_info[0]}.{sys.version_info[1]}.")
    assert py["implementation"] == sys.implementation.name
    assert any(e["fact"] == "python" for e in doc["stack"]["evidence"])
