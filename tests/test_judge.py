"""The judgement, row by row of the compatibility page, on both sides of every boundary."""

from __future__ import annotations

import ast
import inspect
from typing import Any, Dict, List

import pytest
from packaging.version import Version

from appsec_guard import judge as judge_mod
from appsec_guard.judge import judge
from appsec_guard.matrix import Matrix
from appsec_guard.model import RemoteConfig, Severity, Status
from appsec_guard.testing import make_stack

ALL = (
    "threat_detection",
    "threat_protection",
    "custom_blocking_response",
    "sca",
    "code_security",
    "user_event_tracking",
    "api_security",
)


def statuses(matrix: Matrix, **stack: Any) -> Dict[str, Status]:
    report = judge(make_stack(**stack), matrix)
    return {v.capability: v.status for v in report.verdicts}


def ids(matrix: Matrix, capability: str, **stack: Any) -> List[str]:
    report = judge(make_stack(**stack), matrix, required=[capability])
    return [f.id for f in report.findings if f.capability == capability]


def test_the_baseline_stack_supports_everything(matrix: Matrix) -> None:
    got = statuses(matrix)
    assert got == {c: Status.BETA if c == "code_security" else Status.SUPPORTED for c in ALL}


@pytest.mark.parametrize(
    ("capability", "below", "at"),
    [
        ("threat_detection", "1.8.9", "1.9.0"),
        ("threat_protection", "1.9.9", "1.10.0"),
        ("custom_blocking_response", "1.18.3", "1.19.0"),
        ("sca", "1.4.9", "1.5.0"),
        ("user_event_tracking", "1.16.2", "1.17.0"),
        ("api_security", "2.5.9", "2.6.0"),
        ("api_security", "2.6.0rc1", "2.6.0"),
        ("api_security", "2.6.0.dev3+g1a2b3c", "2.6.0.post1"),
    ],
)
def test_minimum_ddtrace_version(matrix: Matrix, capability: str, below: str, at: str) -> None:
    assert statuses(matrix, ddtrace=below)[capability] is Status.UNSUPPORTED
    assert "AG101" in ids(matrix, capability, ddtrace=below)
    assert statuses(matrix, ddtrace=at)[capability] is Status.SUPPORTED


def test_remediation_names_the_minimum(matrix: Matrix) -> None:
    report = judge(make_stack(ddtrace="1.18.3"), matrix, required=["custom_blocking_response"])
    (f,) = [
        f for f in report.findings if f.id == "AG101" and f.capability == "custom_blocking_response"
    ]
    assert f.remediation == "upgrade ddtrace to >=1.19.0"
    assert f.severity is Severity.ERROR
    assert "compatibility" in f.source.lower()


def test_no_ddtrace_makes_everything_unsupported(matrix: Matrix) -> None:
    got = statuses(matrix, ddtrace=None)
    assert set(got.values()) == {Status.UNSUPPORTED}
    report = judge(make_stack(ddtrace=None), matrix, required=["sca"])
    (f,) = [f for f in report.findings if f.capability == "sca"]
    assert f.id == "AG100" and "ddtrace>=1.5.0" in f.remediation


def test_code_security_is_beta_where_it_would_be_supported(matrix: Matrix) -> None:
    assert statuses(matrix)["code_security"] is Status.BETA
    assert statuses(matrix, ddtrace="1.0.0")["code_security"] is Status.BETA  # no minimum
    assert (
        statuses(matrix, python="3.13")["code_security"] is Status.UNSUPPORTED
    )  # not on ddtrace 2.6
    assert "AG110" in ids(matrix, "code_security")


# --- runtimes ---------------------------------------------------------------------------------

V1_ROWS = [
    ("linux", ["x86_64", "i686", "aarch64"]),
    ("macos", ["x86_64", "aarch64"]),
    ("windows", ["x86_64", "i686"]),
]


@pytest.mark.parametrize(("os", "cpus"), V1_ROWS)
@pytest.mark.parametrize(
    ("python", "expected"),
    [
        ("2.7.18", Status.SUPPORTED),
        ("3.4.10", Status.UNSUPPORTED),
        ("3.5.0", Status.SUPPORTED),
        ("3.8.18", Status.SUPPORTED),
        ("3.11.7", Status.SUPPORTED),
        ("3.12.0", Status.UNSUPPORTED),
    ],
)
def test_ddtrace_1_runtimes(
    matrix: Matrix, os: str, cpus: List[str], python: str, expected: Status
) -> None:
    for cpu in cpus:
        got = statuses(matrix, ddtrace="1.20.0", os=os, arch=cpu, python=python)
        assert got["threat_detection"] is expected, (os, cpu, python)


@pytest.mark.parametrize(
    ("os", "cpu"),
    [("macos", "i686"), ("windows", "aarch64"), ("linux", "ppc64le"), ("freebsd", "x86_64")],
)
def test_cpu_or_os_outside_the_rows(matrix: Matrix, os: str, cpu: str) -> None:
    got = statuses(matrix, ddtrace="1.20.0", os=os, arch=cpu)
    assert set(got.values()) == {Status.UNSUPPORTED}
    assert "AG200" in ids(matrix, "sca", ddtrace="1.20.0", os=os, arch=cpu)


def test_pypy_is_not_supported(matrix: Matrix) -> None:
    got = statuses(matrix, ddtrace="1.20.0", implementation="pypy", python="3.9.18")
    assert set(got.values()) == {Status.UNSUPPORTED}
    report = judge(
        make_stack(ddtrace="1.20.0", implementation="pypy", python="3.9"), matrix, required=["sca"]
    )
    (f,) = [f for f in report.findings if f.id == "AG200" and f.capability == "sca"]
    assert f.remediation == "run on CPython"


def test_python_3_12_on_ddtrace_1_points_to_a_newer_line(matrix: Matrix) -> None:
    report = judge(make_stack(ddtrace="1.20.0", python="3.12.1"), matrix, required=["sca"])
    (f,) = [f for f in report.findings if f.id == "AG200" and f.capability == "sca"]
    assert f.message == "ddtrace 1.20.0 does not support CPython 3.12 on Linux x86_64"
    # 2.x would run here, but the report calls it end of life: the supported 3.x is named
    assert "move ddtrace to <3.9,>=3" in f.remediation
    assert "run on CPython 2.7, 3.5-3.11" in f.remediation


@pytest.mark.parametrize(
    ("ddtrace", "python", "arch", "os", "expected"),
    [
        ("2.6.0", "3.12.1", "x86_64", "linux", Status.SUPPORTED),
        ("2.6.0", "3.13.0", "x86_64", "linux", Status.UNSUPPORTED),
        ("2.19.0", "3.13.0", "x86_64", "linux", Status.SUPPORTED),
        ("2.19.0", "3.13.0", "x86_64", "windows", Status.UNSUPPORTED),
        ("3.0.0", "3.7.17", "x86_64", "linux", Status.UNSUPPORTED),
        ("3.0.0", "3.8.18", "i686", "linux", Status.SUPPORTED),
        ("4.0.0", "3.8.18", "x86_64", "linux", Status.UNSUPPORTED),
        ("4.0.0", "3.9.18", "i686", "linux", Status.UNSUPPORTED),
        ("4.16.0", "3.13.0", "aarch64", "macos", Status.SUPPORTED),
    ],
)
def test_later_release_lines(
    matrix: Matrix, ddtrace: str, python: str, arch: str, os: str, expected: Status
) -> None:
    assert statuses(matrix, ddtrace=ddtrace, python=python, arch=arch, os=os)["sca"] is expected


def test_a_release_line_without_runtime_rows_is_unknown(matrix: Matrix) -> None:
    got = statuses(matrix, ddtrace="5.0.0")
    assert got["sca"] is Status.UNKNOWN
    assert "AG201" in ids(matrix, "sca", ddtrace="5.0.0")


def test_release_line_support_levels(matrix: Matrix) -> None:
    def stack_ids(ddtrace: str) -> List[str]:
        return [
            f.id
            for f in judge(make_stack(ddtrace=ddtrace), matrix).findings
            if f.capability is None
        ]

    assert "AG102" in stack_ids("0.61.0")  # <1: maintenance
    assert "AG102" not in stack_ids("1.20.0")  # >=1,<2: general availability
    assert "AG102" in stack_ids("2.6.0")  # end of life per the tracing page
    assert "AG102" not in stack_ids("4.16.0")
    assert "AG103" in stack_ids("5.0.0")


# --- deployments and remote configuration ----------------------------------------------------


@pytest.mark.parametrize("deployment", ["docker", "kubernetes", "ecs", "fargate"])
def test_container_deployments_support_detection_and_sca(matrix: Matrix, deployment: str) -> None:
    got = statuses(matrix, deployment=deployment)
    assert got["threat_detection"] is Status.SUPPORTED
    assert got["sca"] is Status.SUPPORTED


def test_lambda_has_threat_detection_but_no_sca_and_no_blocking(matrix: Matrix) -> None:
    got = statuses(matrix, deployment="lambda", framework=None)
    assert got["threat_detection"] is Status.SUPPORTED
    assert got["sca"] is Status.UNSUPPORTED
    assert got["threat_protection"] is Status.UNSUPPORTED  # no Remote Configuration on Lambda
    assert got["custom_blocking_response"] is Status.UNSUPPORTED  # needs threat_protection
    report = judge(make_stack(deployment="lambda"), matrix, requested=["sca"])
    (f,) = [f for f in report.findings if f.capability == "sca"]
    assert f.id == "AG400" and f.severity is Severity.ERROR
    assert "SCA" in f.remediation and "DD_APPSEC_SCA_ENABLED" in f.remediation
    assert "container" not in f.remediation or "Docker" in f.remediation


@pytest.mark.parametrize("deployment", ["host", "cloud_run", "azure_app_service"])
def test_unlisted_deployment_is_an_info_not_a_verdict(matrix: Matrix, deployment: str) -> None:
    report = judge(make_stack(deployment=deployment), matrix)
    assert report.verdict("sca").status is Status.SUPPORTED
    (f,) = [f for f in report.findings if f.id == "AG401"]
    assert f.severity is Severity.INFO and f.capability is None


@pytest.mark.parametrize(
    ("rc", "status", "finding"),
    [
        (RemoteConfig.ENABLED, Status.SUPPORTED, None),
        (RemoteConfig.DISABLED, Status.UNSUPPORTED, "AG500"),
        (RemoteConfig.UNAVAILABLE, Status.UNSUPPORTED, "AG501"),
        (RemoteConfig.UNKNOWN, Status.UNKNOWN, "AG502"),
    ],
)
def test_threat_protection_needs_remote_config(
    matrix: Matrix, rc: RemoteConfig, status: Status, finding: Any
) -> None:
    got = statuses(matrix, remote_config=rc)
    assert got["threat_protection"] is status
    assert got["custom_blocking_response"] is status  # follows what it needs
    assert got["threat_detection"] is Status.SUPPORTED  # no Remote Configuration needed
    found = ids(matrix, "threat_protection", remote_config=rc)
    assert found == ([finding] if finding else [])


def test_disabled_remote_config_remediation(matrix: Matrix) -> None:
    report = judge(
        make_stack(remote_config=RemoteConfig.DISABLED), matrix, required=["threat_protection"]
    )
    (f,) = [f for f in report.findings if f.capability == "threat_protection"]
    assert "DD_REMOTE_CONFIGURATION_ENABLED=true" in f.remediation
    dep = [f for f in report.findings if f.capability == "custom_blocking_response"]
    assert [f.id for f in dep] == ["AG111"]


# --- frameworks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("framework", "expected"),
    [
        ("django==1.7.11", Status.UNSUPPORTED),
        ("django==1.8", Status.SUPPORTED),
        ("django==5.1.2", Status.SUPPORTED),
        ("flask==0.9", Status.UNSUPPORTED),
        ("flask==0.10", Status.SUPPORTED),
        ("flask==0.10.1", Status.SUPPORTED),
        ("flask==3.1.0", Status.SUPPORTED),
    ],
)
def test_web_framework_minimums(matrix: Matrix, framework: str, expected: Status) -> None:
    got = statuses(matrix, framework=framework)
    assert got["threat_detection"] is expected
    assert got["threat_protection"] is expected
    assert got["sca"] is Status.SUPPORTED  # SCA works on every framework


def test_framework_remediation(matrix: Matrix) -> None:
    report = judge(make_stack(framework="flask==0.9"), matrix, required=["threat_detection"])
    (f,) = [f for f in report.findings if f.capability == "threat_detection"]
    assert (f.id, f.remediation) == ("AG300", "upgrade Flask to >=0.10")


def test_unlisted_framework_is_unknown_and_named(matrix: Matrix) -> None:
    report = judge(make_stack(framework="fastapi==0.110.0"), matrix, required=["threat_detection"])
    assert report.verdict("threat_detection").status is Status.UNKNOWN
    assert report.verdict("threat_protection").status is Status.UNKNOWN
    assert report.verdict("sca").status is Status.SUPPORTED
    (f,) = [f for f in report.findings if f.capability == "threat_detection"]
    assert f.id == "AG301" and "fastapi==0.110.0" in f.message
    assert f.severity is Severity.WARNING


def test_no_framework_lifts_the_framework_rules(matrix: Matrix) -> None:
    got = statuses(matrix, framework=None, deployment="lambda")
    assert got["threat_detection"] is Status.SUPPORTED


def test_framework_without_version_is_unknown(matrix: Matrix) -> None:
    assert statuses(matrix, framework="flask")["threat_detection"] is Status.UNKNOWN


def test_flask_query_string_caveat(matrix: Matrix) -> None:
    report = judge(make_stack(framework="flask==2.3.0"), matrix)
    caveats = [f for f in report.findings if f.id == "AG303"]
    assert len(caveats) == 1 and "query string" in caveats[0].message
    assert not [f for f in judge(make_stack(), matrix).findings if f.id == "AG303"]


@pytest.mark.parametrize(
    ("django", "expected", "move_to"),
    [
        ("1.10.8", Status.UNSUPPORTED, "1.11"),
        ("1.11.29", Status.SUPPORTED, None),
        ("2.0.13", Status.UNSUPPORTED, "2.2"),
        ("2.1.15", Status.UNSUPPORTED, "2.2"),
        ("2.2.28", Status.SUPPORTED, None),
        ("3.0.14", Status.UNSUPPORTED, "3.2"),
        ("3.1.14", Status.UNSUPPORTED, "3.2"),
        ("3.2.25", Status.SUPPORTED, None),
        ("4.0", Status.SUPPORTED, None),
        ("5.1.2", Status.SUPPORTED, None),
    ],
)
def test_user_tracking_django_versions(
    matrix: Matrix, django: str, expected: Status, move_to: Any
) -> None:
    report = judge(
        make_stack(framework=f"django=={django}"), matrix, required=["user_event_tracking"]
    )
    assert report.verdict("user_event_tracking").status is expected
    if move_to:
        (f,) = [f for f in report.findings if f.capability == "user_event_tracking"]
        assert (f.id, f.remediation) == ("AG304", f"move Django to {move_to}")


@pytest.mark.parametrize("framework", ["flask==3.0.0", "fastapi==0.110.0", None])
def test_user_tracking_needs_a_listed_auth_framework(matrix: Matrix, framework: Any) -> None:
    assert statuses(matrix, framework=framework)["user_event_tracking"] is Status.UNSUPPORTED


# --- the report ------------------------------------------------------------------------------


def test_every_reason_is_kept(matrix: Matrix) -> None:
    report = judge(
        make_stack(ddtrace="1.9.0", deployment="lambda", remote_config=RemoteConfig.DISABLED),
        matrix,
        required=["custom_blocking_response"],
    )
    found = sorted(f.id for f in report.findings if f.capability == "custom_blocking_response")
    assert found == ["AG101", "AG111"]
    assert len(report.verdict("custom_blocking_response").reasons) == 2


def test_severity_follows_what_the_team_asked_for(matrix: Matrix) -> None:
    stack = make_stack(ddtrace="1.18.0")
    quiet = judge(stack, matrix)
    loud = judge(stack, matrix, requested=["custom_blocking_response"])
    assert {f.severity for f in quiet.findings if f.capability == "custom_blocking_response"} == {
        Severity.INFO
    }
    assert {f.severity for f in loud.findings if f.capability == "custom_blocking_response"} == {
        Severity.ERROR
    }
    assert quiet.ok and not loud.ok
    assert [v.capability for v in loud.failed] == ["custom_blocking_response"]


def test_unknown_capability_names_are_refused(matrix: Matrix) -> None:
    with pytest.raises(ValueError, match="unknown required capability 'blocking'"):
        judge(make_stack(), matrix, required=["blocking"])


def test_report_json_shape(matrix: Matrix) -> None:
    doc = judge(make_stack(), matrix, requested=["sca"]).to_dict()
    assert doc["schema_version"] == 2
    assert set(doc) == {"schema_version", "stack", "capabilities", "findings"}
    assert list(doc["capabilities"]) == list(ALL)
    assert doc["capabilities"]["sca"] == {
        "status": "supported",
        "active": None,  # no settings given: what ddtrace switches on is not judged
        "requested": True,
        "required": False,
        "opportunistic": False,
        "reasons": [],
    }
    assert doc["stack"]["python"] == {
        "implementation": "cpython",
        "version": "3.11.7",
        "os": "linux",
        "arch": "x86_64",
    }


def test_judgement_module_does_no_io() -> None:
    """judge.py may import only value layers: no os, io, socket, importlib, logging. The
    activation model reads its shipped data file once, as the matrix does; nothing else."""
    tree = ast.parse(inspect.getsource(judge_mod))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add("." * node.level + (node.module or ""))
    assert modules == {
        "__future__",
        "dataclasses",
        "._frozen",
        "._versions",
        ".",
        ".activation",
        "typing",
        "packaging.version",
        ".matrix",
        ".model",
    }
    assert "open(" not in inspect.getsource(judge_mod)


@pytest.mark.parametrize(
    ("ddtrace", "expected"),
    [
        ("2.19.3", Status.SUPPORTED),
        ("2.19.4", Status.UNSUPPORTED),
        ("2.20.1", Status.SUPPORTED),
        ("2.21.12", Status.UNSUPPORTED),
        ("3.8.0", Status.UNSUPPORTED),
        ("3.9.0", Status.SUPPORTED),
        ("4.16.0", Status.SUPPORTED),
    ],
)
def test_ddtrace_releases_that_switch_appsec_off_on_lambda(
    matrix: Matrix, ddtrace: str, expected: Status
) -> None:
    stack: Dict[str, Any] = {
        "ddtrace": ddtrace,
        "deployment": "lambda",
        "framework": None,
        "python": "3.11.7",
    }
    assert statuses(matrix, **stack)["threat_detection"] is expected
    assert (
        statuses(matrix, **{**stack, "deployment": "docker"})["threat_detection"]
        is Status.SUPPORTED
    )
    if expected is Status.UNSUPPORTED:
        report = judge(make_stack(**stack), matrix, required=["threat_detection"])
        (f,) = [f for f in report.findings if f.capability == "threat_detection"]
        assert f.id == "AG402"
        assert f.remediation in (
            "upgrade ddtrace to >=2.20",
            "upgrade ddtrace to >=3",
            "upgrade ddtrace to >=3.9",
        )


def test_code_security_is_off_on_lambda_from_3_9(matrix: Matrix) -> None:
    got = statuses(matrix, ddtrace="4.16.0", deployment="lambda", framework=None)
    assert got["code_security"] is Status.UNSUPPORTED
    assert got["threat_detection"] is Status.SUPPORTED
    report = judge(
        make_stack(ddtrace="4.16.0", deployment="lambda"), matrix, required=["code_security"]
    )
    (f,) = [f for f in report.findings if f.id == "AG402"]
    assert f.remediation == "run Code Security on another deployment type than AWS Lambda"


def test_make_stack_reads_the_framework_as_assume_does(matrix: Matrix) -> None:
    from appsec_guard.assume import AssumptionError

    fw = make_stack(framework="Django==4.2").framework
    assert fw is not None and (fw.name, fw.version) == ("django", Version("4.2"))
    report = judge(make_stack(framework="Django==4.2"), matrix, required=["user_event_tracking"])
    assert report.verdict("user_event_tracking").status is Status.SUPPORTED
    with pytest.raises(AssumptionError, match="is not NAME==VERSION"):
        make_stack(framework="django==")


def test_remote_config_off_says_local_rules_still_block(matrix: Matrix) -> None:
    # Conformance: with DD_REMOTE_CONFIGURATION_ENABLED=false a DD_APPSEC_RULES block still
    # answers 403, so the finding speaks of what Datadog sends, not of all blocking.
    for stack in (
        make_stack(remote_config=RemoteConfig.DISABLED),
        make_stack(remote_config=RemoteConfig.UNAVAILABLE),
        make_stack(deployment="lambda", ddtrace="3.11.0"),
    ):
        report = judge(stack, matrix)
        verdict = report.verdict("threat_protection")
        assert verdict.status is Status.UNSUPPORTED
        assert any("DD_APPSEC_RULES" in r and "Datadog UI" in r for r in verdict.reasons)
