"""What will really be active in this process (issue "Truth"): each numbered case of the issue,
through the command and the judgement as a user meets them. Each failed before the activation
model: the guard judged only what the stack supports.

The ddtrace facts behind them are in src/appsec_guard/data/activation.json (release + file per
row); tests/conformance/test_activation_real.py checks them against real ddtrace releases.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from packaging.version import Version

from appsec_guard import activation
from appsec_guard.cli import main
from appsec_guard.detect.agent import ProbeOptions
from appsec_guard.detect.deployment import detect_deployment
from appsec_guard.guard import assess
from appsec_guard.model import Active, RemoteConfig

SRC = str(Path(__file__).resolve().parents[1] / "src")
DJANGO_42 = ["--assume", "ddtrace=4.16.0", "--assume", "framework=django==4.2"]
LINUX = [
    "--assume", "python=3.11.7", "--assume", "os=linux", "--assume", "arch=x86_64",
    "--assume", "implementation=cpython",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command reads os.environ: start each case from none of the settings it reads."""
    for name in list(os.environ):
        if name.startswith(("DD_", "APPSEC_GUARD_", "AWS_", "FUNCTIONS_", "WEBSITE_", "K_")):
            monkeypatch.delenv(name)
        if name in ("KUBERNETES_SERVICE_HOST", "ECS_CONTAINER_METADATA_URI_V4"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("APPSEC_GUARD_PROBE", "off")


def check(capsys: pytest.CaptureFixture[str], *args: str) -> Tuple[int, Dict[str, Any]]:
    code = main(["check", "--format", "json", "--no-probe", *LINUX, *args])
    return code, json.loads(capsys.readouterr().out)


def of(doc: Dict[str, Any], capability: str) -> List[Dict[str, Any]]:
    return [f for f in doc["findings"] if f["capability"] == capability]


# --- 1. a required capability the settings leave off is an error ---------------------------------


def test_1_explicit_false_cannot_come_on_remotely(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DD_APPSEC_ENABLED", "false")
    code, doc = check(
        capsys, "--require", "threat_protection", *DJANGO_42, "--assume", "remote_config=enabled"
    )
    assert code == 1
    tp = doc["capabilities"]["threat_protection"]
    assert (tp["status"], tp["active"], tp["required"]) == ("supported", "off", True)
    (f,) = [f for f in of(doc, "threat_protection") if f["id"] == "AG610"]
    assert f["severity"] == "error"
    assert "DD_APPSEC_ENABLED='false' is set" in f["message"]
    assert f["remediation"] == "set DD_APPSEC_ENABLED=true"
    assert f["source"].startswith("ddtrace 2.2.0: ddtrace/settings/asm.py")


def test_1_no_remote_configuration_and_appsec_unset(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DD_REMOTE_CONFIGURATION_ENABLED", "false")
    code, doc = check(capsys, "--require", "threat_detection,sca,api_security", *DJANGO_42)
    assert code == 1
    for cap in ("threat_detection", "sca", "api_security"):
        assert doc["capabilities"][cap]["active"] == "off", cap
        (f,) = [f for f in of(doc, cap) if f["id"] == "AG610"]
        assert f["severity"] == "error"
    (td,) = [f for f in of(doc, "threat_detection") if f["id"] == "AG610"]
    assert "DD_REMOTE_CONFIGURATION_ENABLED='false' turns Remote Configuration off" in td["message"]
    assert td["remediation"] == "set DD_APPSEC_ENABLED=true"
    (sca,) = [f for f in of(doc, "sca") if f["id"] == "AG610"]
    assert sca["remediation"] == "set DD_APPSEC_SCA_ENABLED=true"


def test_1_left_to_remote_configuration_is_a_warning_not_a_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, doc = check(
        capsys, "--require", "threat_protection", *DJANGO_42, "--assume", "remote_config=enabled"
    )
    assert code == 0
    assert doc["capabilities"]["threat_protection"]["active"] == "remote"
    (f,) = of(doc, "threat_protection")
    assert (f["id"], f["severity"]) == ("AG611", "warning")
    assert f["remediation"] == "set DD_APPSEC_ENABLED=true to switch it on at boot"


# --- 2. DD_APPSEC_ENABLED=true on Lambda: detection requested, blocking opportunistic ------------


def test_2_lambda_with_appsec_on_is_not_an_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    monkeypatch.setenv("DD_APPSEC_ENABLED", "true")
    code, doc = check(capsys, "--require", "threat_detection", "--assume", "ddtrace=4.16.0")
    assert code == 0
    assert doc["stack"]["deployment"] == "lambda"
    assert doc["schema_version"] == 2
    td, tp = doc["capabilities"]["threat_detection"], doc["capabilities"]["threat_protection"]
    assert (td["requested"], td["required"], td["active"]) == (True, True, "on")
    assert (tp["requested"], tp["required"], tp["status"]) == (False, False, "unsupported")
    assert not [f for f in doc["findings"] if f["severity"] == "error"]
    # what blocking needs is still said, at info
    (f,) = [f for f in of(doc, "threat_protection") if f["id"] == "AG501"]
    assert f["severity"] == "info"


def test_2_blocking_on_lambda_is_an_error_only_when_required(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    monkeypatch.setenv("DD_APPSEC_ENABLED", "true")
    code, doc = check(capsys, "--require", "threat_protection", "--assume", "ddtrace=4.16.0")
    assert code == 1
    (f,) = [f for f in of(doc, "threat_protection") if f["id"] == "AG501"]
    assert f["severity"] == "error"


def test_2_opportunistic_blocking_is_visible(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DD_APPSEC_ENABLED", "true")
    code, doc = check(capsys, *DJANGO_42, "--assume", "remote_config=enabled")
    assert code == 0
    tp = doc["capabilities"]["threat_protection"]
    assert (tp["requested"], tp["opportunistic"], tp["active"]) == (False, True, "on")
    api = doc["capabilities"]["api_security"]  # on by default with AppSec from 2.6.0
    assert (api["requested"], api["opportunistic"]) == (False, True)


def test_2_strict_lambda_cold_start_boots(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": SRC,
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "DD_APPSEC_ENABLED": "true",
        "APPSEC_GUARD_MODE": "strict",
        "APPSEC_GUARD_REQUIRE": "threat_detection",
        "APPSEC_GUARD_PROBE": "off",
    }
    code = "import appsec_guard; print(appsec_guard.check().ok)"
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "True"
    assert "run the service in a container" not in res.stderr


@pytest.mark.parametrize(
    ("extra", "refused"),
    [
        ({"DD_APPSEC_ENABLED": "false"}, True),  # AG610: the settings leave it off
        ({"DD_APPSEC_ENABLED": "false", "APPSEC_GUARD_SILENCE": "AG610"}, False),
        ({}, False),  # AG611: left to Remote Configuration, a warning
        ({"APPSEC_GUARD_FAIL_CLOSED": "true"}, True),
    ],
)
def test_1_strict_mode_refuses_what_the_settings_leave_off(
    extra: Dict[str, str], refused: bool
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": SRC,
        "APPSEC_GUARD_MODE": "strict",
        "APPSEC_GUARD_REQUIRE": "threat_detection",
        "APPSEC_GUARD_PROBE": "off",
        **extra,
    }
    res = subprocess.run(
        [sys.executable, "-c", "import appsec_guard"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (res.returncode != 0) is refused, res.stderr
    if refused:
        assert "threat_detection (required)" in res.stderr
        assert "[AG61" in res.stderr


# --- 3. features that run only inside AppSec ------------------------------------------------------


@pytest.mark.parametrize("framework", ["django==1.7", "flask==0.9"])
@pytest.mark.parametrize("capability", ["api_security", "user_event_tracking"])
def test_3_features_inside_appsec_follow_it(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    framework: str,
    capability: str,
) -> None:
    monkeypatch.setenv("DD_APPSEC_ENABLED", "true")
    code, doc = check(
        capsys,
        "--require",
        capability,
        "--assume",
        "ddtrace=4.16.0",
        "--assume",
        f"framework={framework}",
        "--assume",
        "remote_config=enabled",
    )
    assert doc["capabilities"]["threat_detection"]["status"] == "unsupported"
    assert doc["capabilities"][capability]["status"] == "unsupported"
    assert code == 1
    assert "AG111" in {f["id"] for f in of(doc, capability)}


# --- 4. settings read as each release reads them --------------------------------------------------


@pytest.mark.parametrize(
    ("ddtrace", "value", "active", "requested"),
    [
        ("4.16.0", "yes", "on", True),  # envier from 4.13.0
        ("4.13.0", "on", "on", True),
        ("4.12.0", "yes", "off", False),  # asbool before
        ("2.9.0", "yes", "off", False),
        ("4.12.0", "true", "on", True),
    ],
)
def test_4_sca_switch_per_release(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    ddtrace: str,
    value: str,
    active: str,
    requested: bool,
) -> None:
    monkeypatch.setenv("DD_APPSEC_SCA_ENABLED", value)
    code, doc = check(
        capsys,
        "--require",
        "sca",
        "--assume",
        f"ddtrace={ddtrace}",
        "--assume",
        "deployment=docker",
    )
    sca = doc["capabilities"]["sca"]
    assert (sca["active"], sca["requested"]) == (active, requested)
    assert code == (0 if active == "on" else 1)


@pytest.mark.parametrize(
    ("ddtrace", "legacy", "active", "message"),
    [
        ("2.11.0", "safe", "on", "logins are tracked without anonymisation"),
        ("2.11.0", "disabled", "remote", ""),
        ("2.19.3", "extended", "on", "as the tracking mode itself"),
        ("2.19.4", "disabled", "on", "ignored from 2.19.4"),
        ("2.20.1", "disabled", "remote", ""),
        ("2.20.2", "disabled", "on", "ignored from 2.19.4"),
        ("2.21.0", "safe", "on", "without anonymisation"),
        ("2.21.1", "disabled", "on", "ignored from 2.19.4"),
        ("3.0.0", "disabled", "on", "dropped in 3.0.0"),
    ],
)
def test_4_old_user_tracking_variable(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    ddtrace: str,
    legacy: str,
    active: str,
    message: str,
) -> None:
    monkeypatch.setenv("DD_APPSEC_ENABLED", "true")
    monkeypatch.setenv("DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING", legacy)
    _code, doc = check(
        capsys,
        "--require",
        "user_event_tracking",
        "--assume",
        f"ddtrace={ddtrace}",
        "--assume",
        "framework=django==4.2",
        "--assume",
        "remote_config=enabled",
    )
    assert doc["capabilities"]["user_event_tracking"]["active"] == active
    texts = [f["message"] for f in doc["findings"] if f["id"] == "AG600"]
    if message:
        assert any(message in t for t in texts), texts
    else:
        assert texts == []


@pytest.mark.parametrize(
    ("ddtrace", "value", "active"),
    [
        ("2.1.0", "yes", "off"),  # asbool: the flag itself is false
        ("2.2.0", "yes", "off"),  # envier sets the flag, taint tracking installed on asbool only
        ("2.15.0", "on", "off"),
        ("2.15.0", "true", "on"),
        ("2.16.0", "yes", "on"),
    ],
)
def test_4_iast_switch_per_release(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    ddtrace: str,
    value: str,
    active: str,
) -> None:
    monkeypatch.setenv("DD_IAST_ENABLED", value)
    code, doc = check(capsys, "--require", "code_security", "--assume", f"ddtrace={ddtrace}")
    assert doc["capabilities"]["code_security"]["active"] == active
    assert code == (0 if active == "on" else 1)


@pytest.mark.parametrize(
    ("ddtrace", "rate", "active"),
    [("2.6.0", "0", "off"), ("2.7.0", "0.0", "off"), ("2.7.0", "0.5", "on"), ("2.8.0", "0", "on")],
)
def test_4_api_security_sample_rate(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    ddtrace: str,
    rate: str,
    active: str,
) -> None:
    monkeypatch.setenv("DD_APPSEC_ENABLED", "true")
    monkeypatch.setenv("DD_API_SECURITY_REQUEST_SAMPLE_RATE", rate)
    code, doc = check(
        capsys,
        "--require",
        "api_security",
        "--assume",
        f"ddtrace={ddtrace}",
        "--assume",
        "framework=django==4.2",
    )
    assert doc["capabilities"]["api_security"]["active"] == active
    assert code == (0 if active == "on" else 1)


def test_4_azure_functions_needs_both_variables(tmp_path: Path) -> None:
    both = {"FUNCTIONS_WORKER_RUNTIME": "python", "FUNCTIONS_EXTENSION_VERSION": "~4"}
    assert detect_deployment(both, tmp_path).value == "azure_functions"
    for name in both:
        one = {name: both[name]}
        assert detect_deployment(one, tmp_path).value == "host"
        assert detect_deployment({**one, "WEBSITE_SITE_NAME": "s"}, tmp_path).value == (
            "azure_app_service"
        )


# --- 5. platform facts ----------------------------------------------------------------------------


def test_5_code_security_never_on_windows(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DD_IAST_ENABLED", "true")
    code = main(
        ["check", "--format", "json", "--no-probe", "--require", "code_security",
         "--assume", "os=windows", "--assume", "python=3.11.7", "--assume", "arch=x86_64",
         "--assume", "implementation=cpython", "--assume", "ddtrace=4.16.0"]
    )  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert doc["capabilities"]["code_security"]["status"] == "unsupported"
    (f,) = [f for f in of(doc, "code_security") if f["id"] == "AG202"]
    assert f["message"] == "ddtrace never runs Code Security on Windows"


@pytest.mark.parametrize(
    ("ddtrace", "ok_below", "first_no"),
    [
        ("2.3.0", "3.11", "3.12"),
        ("2.4.0", "3.12", "3.13"),
        ("2.18.0", "3.12", "3.13"),
        ("2.19.0", "3.13", "3.14"),
        ("4.0.5", "3.13", "3.14"),
        ("4.1.0", "3.14", "3.15"),
        ("4.14.0", "3.14", "3.15"),
        ("4.15.0", "3.15", "3.16"),
    ],
)
def test_5_code_security_python_caps(ddtrace: str, ok_below: str, first_no: str) -> None:
    v = Version(ddtrace)
    ok = tuple(int(p) for p in ok_below.split("."))
    no = tuple(int(p) for p in first_no.split("."))
    assert activation.platform_problem("code_security", v, "linux", ok) is None  # type: ignore[arg-type]
    problem = activation.platform_problem("code_security", v, "linux", no)  # type: ignore[arg-type]
    assert problem is not None
    assert f"only on Python below {first_no}" in problem[0]
    assert problem[2].startswith("ddtrace ")


@pytest.mark.parametrize(
    "off", ["DD_INSTRUMENTATION_TELEMETRY_ENABLED", "DD_TELEMETRY_DEPENDENCY_COLLECTION_ENABLED"]
)
def test_5_sca_needs_telemetry_and_dependencies(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, off: str
) -> None:
    monkeypatch.setenv("DD_APPSEC_SCA_ENABLED", "true")
    monkeypatch.setenv(off, "false")
    code, doc = check(capsys, "--assume", "ddtrace=4.16.0", "--assume", "deployment=docker")
    assert code == 1  # requested by DD_APPSEC_SCA_ENABLED, and silently stopped
    (f,) = [f for f in of(doc, "sca") if f["id"] == "AG610"]
    assert off in f["message"]
    assert f["remediation"] == f"unset {off} (or set it to true)"


def test_5_unreadable_blocked_template(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DD_APPSEC_ENABLED", "true")
    monkeypatch.setenv("DD_APPSEC_HTTP_BLOCKED_TEMPLATE_JSON", str(tmp_path / "missing.json"))
    args = [
        "--require",
        "custom_blocking_response",
        *DJANGO_42,
        "--assume",
        "remote_config=enabled",
    ]
    code, doc = check(capsys, *args)
    assert code == 1
    assert doc["capabilities"]["custom_blocking_response"]["active"] == "off"
    (f,) = [f for f in of(doc, "custom_blocking_response") if f["id"] == "AG610"]
    assert "cannot read: ddtrace serves its default page" in f["message"]

    good = tmp_path / "blocked.json"
    good.write_text('{"blocked": true}')
    monkeypatch.setenv("DD_APPSEC_HTTP_BLOCKED_TEMPLATE_JSON", str(good))
    code, doc = check(capsys, *args)
    assert code == 0
    assert doc["capabilities"]["custom_blocking_response"]["active"] == "on"


@pytest.mark.parametrize(
    ("ddtrace", "unknown"), [("3.1.0", False), ("3.2.0", True), ("4.16.0", True)]
)
@pytest.mark.parametrize(
    "path",
    [
        "etc/datadog-agent/managed/datadog-agent/stable/application_monitoring.yaml",
        "etc/datadog-agent/application_monitoring.yaml",
    ],
)
def test_5_stable_configuration_file_makes_the_verdict_unknown(
    tmp_path: Path, ddtrace: str, unknown: bool, path: str
) -> None:
    f = tmp_path / path
    f.parent.mkdir(parents=True)
    f.write_text("apm_configuration_default:\n  DD_APPSEC_ENABLED: false\n")
    report = assess(
        environ={"DD_APPSEC_ENABLED": "true"},
        assumed={
            "ddtrace": Version(ddtrace),
            "framework": None,
            "deployment": "docker",
            "remote_config": RemoteConfig.ENABLED,
            "os": "linux",
            "python": Version("3.11.7"),
            "implementation": "cpython",
            "arch": "x86_64",
        },
        required=["threat_detection"],
        root=tmp_path,
        probe=ProbeOptions(enabled=False),
    )
    v = report.verdict("threat_detection")
    assert v.active is (Active.UNKNOWN if unknown else Active.ON)
    ids = {f.id for f in report.findings if f.capability == "threat_detection"}
    assert ("AG612" in ids) is unknown
    assert report.ok  # unknown is a warning, never a failure
    assert any(e.source == "/" + path for e in report.stack.evidence)


# --- 6. release lines ------------------------------------------------------------------------------


def test_6_three_x_is_in_maintenance_not_end_of_life(capsys: pytest.CaptureFixture[str]) -> None:
    _code, doc = check(capsys, "--assume", "ddtrace=3.5.0")
    (f,) = [f for f in doc["findings"] if f["id"] == "AG102"]
    assert "maintenance (until 2026-05-31)" in f["message"]
    assert "end of life" not in f["message"]


def test_6_never_suggest_an_end_of_life_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["check", "--format", "json", "--no-probe", "--require", "sca",
         "--assume", "python=3.12", "--assume", "ddtrace=1.20.0", "--assume", "os=linux",
         "--assume", "arch=x86_64", "--assume", "implementation=cpython"]
    )  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    (f,) = [f for f in of(doc, "sca") if f["id"] == "AG200"]
    assert ">=2,<2.19" not in f["remediation"]
    assert "<2.19,>=2" not in f["remediation"]
    assert "move ddtrace to <3.9,>=3" in f["remediation"]


def test_6_the_plan_never_suggests_an_end_of_life_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["plan", "--format", "json", "--require", "threat_detection",
         "--assume", "python=3.12", "--assume", "ddtrace=1.20.0", "--assume", "os=linux",
         "--assume", "arch=x86_64", "--assume", "implementation=cpython"]
    )  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    # 2.0.0 is the first release that runs CPython 3.12, on a line the guard calls end of life
    assert [s["change"] for s in doc["steps"]] == ["ddtrace>=3.0.0"]
    assert doc["after"] == {"threat_detection": "supported"}


def test_6_code_security_upgrade_skips_end_of_life(monkeypatch: pytest.MonkeyPatch) -> None:
    # Python 3.13 on ddtrace 2.6: 2.19 would run it, but 2.x is end of life
    from appsec_guard import matrix as matrix_mod
    from appsec_guard.judge import is_end_of_life

    m = matrix_mod.load()
    problem = activation.platform_problem(
        "code_security",
        Version("2.6.0"),
        "linux",
        (3, 13),
        avoid=lambda v: is_end_of_life(m, v),
    )
    assert problem is not None
    assert "upgrade ddtrace to >=2.19" not in problem[1]
    assert problem[1].startswith("upgrade ddtrace to >=4.1")
