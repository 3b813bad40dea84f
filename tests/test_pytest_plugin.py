"""The pytest plugin (entry point pytest11), in real pytest sessions run by pytester."""

from __future__ import annotations

import os
import socket

import pytest

from tests.helpers.env import is_machine_setting

# ddtrace's own pytest plugins (installed with it) import ddtrace: not what these sessions test
NO_DDTRACE = (
    "-p",
    "no:ddtrace",
    "-p",
    "no:ddtrace.pytest_bdd",
    "-p",
    "no:ddtrace.pytest_benchmark",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner sessions see a plain host: none of this machine's DD_*/AWS_* settings, the
    Agent at an address where nothing listens, and the guard's own probe off."""
    for name in list(os.environ):
        if is_machine_setting(name):
            monkeypatch.delenv(name)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("DD_TRACE_AGENT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("APPSEC_GUARD_PROBE", "off")


def test_not_asked_it_imports_nothing_of_the_guard(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_untouched(pytestconfig):
            assert pytestconfig.pluginmanager.has_plugin("appsec_guard")
            assert "appsec_guard" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess(*NO_DDTRACE)
    result.assert_outcomes(passed=1)
    assert "appsec-guard:" not in result.stdout.str()


def test_it_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest(
        *NO_DDTRACE, "-p", "no:appsec_guard", "--appsec-guard-require", "sca"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unrecognized arguments: --appsec-guard-require*"])


def test_require_fails_the_session_on_a_stack_that_cannot(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "checkout")
    pytester.makepyfile("def test_never_runs(): raise AssertionError('ran')")
    result = pytester.runpytest(*NO_DDTRACE, "--appsec-guard-require", "threat_detection,sca")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*appsec-guard: the test stack cannot run the required capabilities (sca: *Lambda*"]
    )
    assert "test_never_runs" not in result.stdout.str()


def test_require_passes_where_the_stack_can_and_shows_it_in_the_header(
    pytester: pytest.Pytester,
) -> None:
    # The stack of this test run: the ddtrace the test extra installs, on this host.
    pytester.makepyfile("def test_runs(): pass")
    result = pytester.runpytest(*NO_DDTRACE, "--appsec-guard-require", "threat_detection")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["appsec-guard: threat_detection supported (ddtrace *)"])


def test_require_from_the_ini_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "checkout")
    pytester.makeini("[pytest]\nappsec_guard_require = sca\n")
    pytester.makepyfile("def test_never_runs(): pass")
    result = pytester.runpytest(*NO_DDTRACE)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*cannot run the required capabilities (sca: *"])


def test_an_unknown_capability_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest(*NO_DDTRACE, "--appsec-guard-require", "blocking")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --appsec-guard-require: 'blocking' is not a capability; choose from *sca*"]
    )


def test_what_if_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_lambda(appsec_guard_what_if):
            report = appsec_guard_what_if(deployment="lambda", request=["sca"])
            assert report.verdict("sca").status.value == "unsupported"
            assert [v.capability for v in report.failed] == ["sca"]

        def test_upgrade(appsec_guard_what_if):
            old = appsec_guard_what_if(ddtrace="1.18.3", require=["api_security"])
            new = appsec_guard_what_if(ddtrace="2.6.0", require=["api_security"])
            assert (old.ok, new.ok) == (False, True)
        """
    )
    pytester.runpytest(*NO_DDTRACE).assert_outcomes(passed=2)


def test_report_fixture_is_the_process_report(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DD_APPSEC_ENABLED", "true")
    monkeypatch.setenv("DD_APPSEC_SCA_ENABLED", "true")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "checkout")
    monkeypatch.setenv("APPSEC_GUARD_MODE", "strict")  # refuses: the fixture still gives the report
    pytester.makepyfile(
        """
        def test_report(appsec_guard_report):
            import appsec_guard.model as model

            assert appsec_guard_report.stack.deployment == "lambda"
            sca = appsec_guard_report.verdict("sca")
            assert sca.requested and sca.status is model.Status.UNSUPPORTED
        """
    )
    result = pytester.runpytest_subprocess(*NO_DDTRACE)
    result.assert_outcomes(passed=1)


def test_what_if_works_where_the_guard_refuses_this_process(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh interpreter in strict mode on a stack that refuses: importing the package for a
    # what-if judgement must not run (and fail) the guard for the real stack.
    monkeypatch.setenv("DD_APPSEC_ENABLED", "true")
    monkeypatch.setenv("DD_APPSEC_SCA_ENABLED", "true")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "checkout")
    monkeypatch.setenv("APPSEC_GUARD_MODE", "strict")
    pytester.makepyfile(
        """
        def test_container(appsec_guard_what_if):
            report = appsec_guard_what_if(deployment="kubernetes", request=["sca"])
            assert report.ok

        def test_then_the_report(appsec_guard_report):
            assert [v.capability for v in appsec_guard_report.failed] == ["sca"]
        """
    )
    result = pytester.runpytest_subprocess(*NO_DDTRACE)
    result.assert_outcomes(passed=2)
