from __future__ import annotations

from typing import Any

import pytest
from packaging.version import Version

from appsec_guard.assume import AssumptionError, parse_assumption, parse_assumptions
from appsec_guard.model import Framework, RemoteConfig


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("python=3.12.1", ("python", Version("3.12.1"))),
        ("python=3.12", ("python", Version("3.12"))),
        ("implementation=PyPy", ("implementation", "pypy")),
        ("os=darwin", ("os", "macos")),
        ("os=Windows", ("os", "windows")),
        ("arch=amd64", ("arch", "x86_64")),
        ("arch=x86", ("arch", "i686")),
        ("arch=arm64", ("arch", "aarch64")),
        ("arch=ppc64le", ("arch", "ppc64le")),
        ("ddtrace=2.6.0rc1", ("ddtrace", Version("2.6.0rc1"))),
        ("ddtrace=none", ("ddtrace", None)),
        ("framework=Django==4.2.1", ("framework", Framework("django", Version("4.2.1")))),
        ("framework=none", ("framework", None)),
        ("deployment=k8s", ("deployment", "kubernetes")),
        ("deployment=fargate", ("deployment", "fargate")),
        ("remote_config=unavailable", ("remote_config", RemoteConfig.UNAVAILABLE)),
        (" ddtrace = 1.9.0 ", ("ddtrace", Version("1.9.0"))),
    ],
)
def test_accepted_forms(text: str, expected: Any) -> None:
    assert parse_assumption(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ddtrace", "'ddtrace' is not KEY=VALUE"),
        ("colour=blue", "unknown key 'colour'"),
        ("ddtrace=", "ddtrace= needs a value"),
        ("ddtrace=latest", "ddtrace='latest' is not a version; write e.g. ddtrace=1.19.0"),
        ("python=3", "python='3' needs major.minor"),
        ("os=beos", "os='beos' is not one of linux, macos, windows"),
        ("implementation=jython", "implementation='jython' is not one of cpython, pypy"),
        ("arch=x 86", "arch='x 86' is not a CPU name"),
        ("framework=django==", "framework='django==' is not NAME==VERSION"),
        ("framework=django==four", "framework='four' is not a version"),
        # issue 13, case 7: a framework without its version cannot be judged
        ("framework=flask", "framework='flask' needs a version; write e.g. framework=flask==X.Y"),
        ("deployment=moon", "deployment='moon' is not one of lambda, fargate"),
        (
            "remote_config=maybe",
            "remote_config='maybe' is not one of enabled, disabled, unavailable, unknown",
        ),
    ],
)
def test_refused_forms(text: str, message: str) -> None:
    with pytest.raises(AssumptionError) as err:
        parse_assumption(text)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


# Issue 13, case 7: what one assumption implies is completed, or a contradiction refused.


def test_another_os_than_linux_implies_a_host_deployment() -> None:
    assumed = parse_assumptions(["os=macos"])
    assert assumed.facts()["deployment"] == "host"
    assert assumed.implied == (("deployment", "host, implied by os=macos"),)


@pytest.mark.parametrize("deployment", ["docker", "lambda", "kubernetes"])
def test_another_os_on_a_linux_only_deployment_is_refused(deployment: str) -> None:
    with pytest.raises(AssumptionError) as err:
        parse_assumptions(["os=windows", f"deployment={deployment}"])
    assert str(err.value) == (
        f"os=windows contradicts deployment={deployment}: containers and AWS Lambda run Linux; "
        "assume os=linux, or deployment=host"
    )


def test_the_command_completes_os_macos_even_inside_a_container(tmp_path: Any) -> None:
    """The machine's Docker marker (/.dockerenv) is not a macOS fact: judged on a host."""
    import json
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    out = subprocess.run(
        [sys.executable, "-m", "appsec_guard", "check", "--format", "json", "--no-probe",
         "--assume", "os=macos", "--assume", "ddtrace=2.6.0"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    stack = json.loads(out.stdout)["stack"]
    assert stack["deployment"] == "host"
    assert {"fact": "deployment", "source": "assumed", "detail": "host, implied by os=macos"} in (
        stack["evidence"]
    )
    refused = subprocess.run(
        [sys.executable, "-m", "appsec_guard", "check", "--assume", "framework=flask"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "framework='flask' needs a version" in refused.stderr
