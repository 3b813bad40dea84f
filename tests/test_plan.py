"""plan: the smallest set of changes that makes the required capabilities work, verified by
judging the changed stack again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List

import pytest
from packaging.version import Version

from appsec_guard import matrix as m
from appsec_guard.cli import main
from appsec_guard.judge import judge
from appsec_guard.model import Framework, RemoteConfig, Runtime, Stack, Status
from appsec_guard.plan import plan


def stack(
    *,
    ddtrace: Any = "1.20.0",
    python: str = "3.11.4",
    framework: Any = ("django", "4.2"),
    deployment: str = "docker",
    remote_config: RemoteConfig = RemoteConfig.ENABLED,
) -> Stack:
    return Stack(
        runtime=Runtime("cpython", Version(python), "linux", "x86_64"),
        ddtrace=Version(ddtrace) if ddtrace else None,
        framework=Framework(framework[0], Version(framework[1])) if framework else None,
        deployment=deployment,
        remote_config=remote_config,
    )


def changes(p: Any) -> List[str]:
    return [s.change for s in p.steps]


def test_api_security_on_ddtrace_1_20_python_3_11() -> None:
    p = plan(stack(), m.load(), ["api_security"])
    # 2.6.0 is API Security's floor, but 2.x is end of life: the first line that is not
    assert changes(p) == ["ddtrace>=3.0.0"]
    assert "still supports CPython 3.11 on Linux x86_64" in p.steps[0].reason
    assert p.after.stack.ddtrace == Version("3.0.0")
    assert not [f for f in p.after.findings if f.id == "AG102" and "end of life" in f.message]
    assert p.after.verdict("api_security").status is Status.SUPPORTED
    assert p.ok


def test_user_tracking_on_django_3_0() -> None:
    p = plan(stack(framework=("django", "3.0")), m.load(), ["user_event_tracking"])
    assert changes(p) == ["django==3.2.*"]
    assert p.steps[0].action == "upgrade Django to 3.2"
    assert p.after.verdict("user_event_tracking").status is Status.SUPPORTED
    assert p.ok


def test_threat_protection_with_remote_configuration_off() -> None:
    p = plan(stack(remote_config=RemoteConfig.DISABLED), m.load(), ["threat_protection"])
    assert changes(p) == ["DD_REMOTE_CONFIGURATION_ENABLED=true"]
    assert p.steps[0].kind == "setting"
    assert p.after.verdict("threat_protection").status is Status.SUPPORTED
    assert p.ok


def test_sca_on_lambda_has_no_plan_within_lambda() -> None:
    p = plan(
        stack(deployment="lambda", framework=None, remote_config=RemoteConfig.UNAVAILABLE),
        m.load(),
        ["sca"],
    )
    assert not p.ok
    assert p.steps == ()
    assert [b.capability for b in p.blockers] == ["sca"]
    assert "is not available on AWS Lambda" in p.blockers[0].reason
    assert p.after.verdict("sca").status is Status.UNSUPPORTED
    alt = p.alternative
    assert alt is not None
    assert alt.steps[0].kind == "deployment"
    assert (
        alt.steps[0].action == "move the service to Docker, Kubernetes, Amazon ECS or AWS Fargate"
    )
    assert alt.verified
    assert alt.after.verdict("sca").status is Status.SUPPORTED


def test_threat_protection_on_lambda_is_blocked_by_remote_configuration() -> None:
    p = plan(stack(deployment="lambda", remote_config=RemoteConfig.UNAVAILABLE), m.load(),
             ["threat_protection"])  # fmt: skip
    assert "which AWS Lambda does not offer" in p.blockers[0].reason
    assert p.alternative is not None
    # after the move, Remote Configuration is the new platform's to check
    assert [s.kind for s in p.alternative.steps] == ["deployment", "verify"]
    assert p.alternative.verified


def test_python_too_new_for_the_minimum_ddtrace() -> None:
    p = plan(stack(python="3.13.1"), m.load(), ["api_security"])
    # 2.6.0 has no CPython 3.13 wheels; 2.19.0 has, but 2.x is end of life
    assert changes(p) == ["ddtrace>=3.0.0"]
    assert "first release on a line not in end of life that supports CPython 3.13" in (
        p.steps[0].reason
    )
    assert p.ok


def test_python_must_move_when_no_ddtrace_runs_it() -> None:
    p = plan(stack(ddtrace="4.0.0", python="3.4.10"), m.load(), ["threat_detection"])
    assert changes(p) == ["python=3.9"]
    assert p.after.verdict("threat_detection").status is Status.SUPPORTED


# Issue 13, case 6: the plan may move ddtrace down, and agrees with the judgement.
@pytest.mark.parametrize(
    ("python", "ddtrace", "pin"),
    [
        ("3.8.18", "4.16.0", "ddtrace>=3.16.0,<4"),
        ("3.8.18", "4.0.0", "ddtrace>=3.16.0,<4"),
        ("2.7.18", "2.6.0", "ddtrace>=1.9.0,<2"),
    ],
)
def test_an_older_release_line_is_a_way_out(python: str, ddtrace: str, pin: str) -> None:
    matrix = m.load()
    p = plan(stack(ddtrace=ddtrace, python=python), matrix, ["threat_detection"])
    assert changes(p) == [pin]
    assert p.steps[0].action.startswith("downgrade ddtrace to >=")
    assert p.ok
    # the judgement of the pinned release says the same
    low = Version(pin.split(">=")[1].split(",")[0])
    verdict = judge(stack(ddtrace=str(low), python=python), matrix, required=["threat_detection"])
    assert verdict.verdict("threat_detection").status is Status.SUPPORTED


def test_required_capability_brings_its_dependencies() -> None:
    p = plan(
        stack(ddtrace="1.12.0", remote_config=RemoteConfig.DISABLED),
        m.load(),
        ["custom_blocking_response"],
    )
    assert changes(p) == ["ddtrace>=1.19.0", "DD_REMOTE_CONFIGURATION_ENABLED=true"]
    assert p.ok


def test_nothing_to_change() -> None:
    p = plan(stack(ddtrace="2.6.0"), m.load(), ["api_security", "threat_detection"])
    assert p.steps == ()
    assert p.ok


def test_unknown_capability_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown required capability 'rasp'"):
        plan(stack(), m.load(), ["rasp"])


# --- the command ----------------------------------------------------------------------------

FACTS = ["--assume", "python=3.11.4", "--assume", "implementation=cpython", "--assume", "os=linux",
         "--assume", "arch=x86_64", "--assume", "ddtrace=1.20.0",
         "--assume", "remote_config=enabled"]  # fmt: skip


def test_cli_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", "--require", "api_security", *FACTS, "--assume", "framework=django==4.2",
            "--assume", "deployment=docker", "--format", "json"]  # fmt: skip
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True
    assert [s["change"] for s in doc["steps"]] == ["ddtrace>=3.0.0"]
    assert doc["after"] == {"api_security": "supported"}


def test_cli_plan_sca_on_lambda(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", "--require", "sca", *FACTS, "--assume", "framework=none",
            "--assume", "deployment=lambda"]  # fmt: skip
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "Cannot be satisfied on AWS Lambda:" in out
    assert "move the service to Docker, Kubernetes, Amazon ECS or AWS Fargate" in out
    assert "verified by judging the moved stack again: sca supported." in out


def test_cli_plan_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--require", "rasp", *FACTS]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--require 'rasp' is not a capability" in err
    assert main(["plan", *FACTS]) == 2
    assert "--require needs at least one capability" in capsys.readouterr().err
    assert main(["plan", "--require", "sca", "--assume", "ddtrace=latest"]) == 2
    assert "ddtrace='latest' is not a version" in capsys.readouterr().err


def test_a_release_that_switches_the_capability_off_on_lambda_is_not_a_way_out() -> None:
    # ddtrace 3.0-3.8 switch AppSec off on AWS Lambda, 3.9-3.10 API Security: only 3.11 on
    # clears both, and a pin below it would let an excluded release in again.
    lam = stack(
        ddtrace="3.5.0",
        framework=None,
        deployment="lambda",
        remote_config=RemoteConfig.UNAVAILABLE,
    )
    assert judge_status(lam, "api_security") is Status.UNSUPPORTED
    p = plan(lam, m.load(), ["api_security"])
    assert changes(p) == ["ddtrace>=3.11.0"]
    # API Security runs only inside AppSec, so the plan names Threat Detection too
    assert "ddtrace 3.5.0 switches Threat Detection and API Security off on AWS Lambda" in (
        p.steps[0].reason
    )
    assert p.after.verdict("api_security").status is Status.SUPPORTED
    assert p.ok and not p.unresolved


def test_installing_ddtrace_on_lambda_pins_past_every_exclusion() -> None:
    lam = stack(
        ddtrace=None, framework=None, deployment="lambda", remote_config=RemoteConfig.UNAVAILABLE
    )
    p = plan(lam, m.load(), ["api_security"])
    assert changes(p) == ["ddtrace>=3.11.0"]
    assert p.ok


def judge_status(s: Stack, cap: str) -> Status:
    from appsec_guard.judge import judge

    return judge(s, m.load(), required=[cap]).verdict(cap).status


# Issue 13, cases 1 and 6: plan reads the policy check reads (flags winning), one answer.
def test_plan_reads_the_environment_policy(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = str(Path(__file__).resolve().parent / "projects" / "api_security_needs_99.json")
    monkeypatch.setenv("APPSEC_GUARD_MATRIX", layer)
    monkeypatch.setenv("APPSEC_GUARD_REQUIRE", "api_security")
    main(["plan", "--format", "json", "--assume", "ddtrace=2.6.0"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["required"] == ["api_security"]
    assert doc["after"] == {"api_security": "unsupported"}  # the layer's minimum, as check says
    # --require wins over APPSEC_GUARD_REQUIRE
    main(["plan", "--format", "json", "--assume", "ddtrace=2.6.0", "--require", "sca"])
    assert json.loads(capsys.readouterr().out)["required"] == ["sca"]
    monkeypatch.setenv("APPSEC_GUARD_REQUIRE", "teleport")
    assert main(["plan", "--assume", "ddtrace=2.6.0"]) == 2
    assert "APPSEC_GUARD_REQUIRE 'teleport' is not a capability" in capsys.readouterr().err
