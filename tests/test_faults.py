"""Fault injection: the guard never breaks the app it guards.

Each detector made to raise, the stdlib logging handler raising, unreadable files where the
guard expects one (as root chmod does not stop a read: directories, FIFOs, symlink loops), an
environment with thousands of variables, a broken user matrix, malformed APPSEC_GUARD_*
values. In warn mode each becomes a finding and the app boots; in strict mode an unknown does
not refuse the boot unless APPSEC_GUARD_FAIL_CLOSED=true; nothing but GuardError leaves.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, Iterator, List

import pytest

import appsec_guard.detect as detect_mod
from appsec_guard import GuardError, session
from appsec_guard.detect import ProbeOptions, detect
from appsec_guard.detect.distributions import Distributions
from appsec_guard.model import Report

from .integrations.conftest import child_env, guard_events, run_py

OFF = ProbeOptions(enabled=False)


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process where the guard has not run, logging through the stdlib (caplog, capfd),
    with no APPSEC_GUARD_* / DD_* settings of the machine and no network."""
    for name in list(os.environ):
        if name.startswith(("APPSEC_GUARD_", "DD_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DD_REMOTE_CONFIGURATION_ENABLED", "false")  # no probe
    if "structlog" in sys.modules:
        sys.modules["structlog"].reset_defaults()
    session.reset_for_tests()
    try:
        yield
    finally:
        session.reset_for_tests()


def _ids(report: Report) -> List[str]:
    return [f.id for f in report.findings]


# --- each detector made to raise -------------------------------------------------------------

DETECTORS = [
    ("detect_runtime", "runtime"),
    ("_ddtrace", "ddtrace"),
    ("detect_framework", "framework"),
    ("detect_deployment", "deployment"),
    ("read_settings", "settings"),
    ("detect_remote_config", "remote_config"),
]


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise OSError(5, "Input/output error\n  File 'x.py', line 1 (a traceback line)")


@pytest.mark.parametrize(("function", "name"), DETECTORS)
def test_each_detector_that_raises_gives_ag900(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, function: str, name: str
) -> None:
    monkeypatch.setattr(detect_mod, function, _boom)
    det = detect(
        {"DD_APPSEC_ENABLED": "true"},
        root=tmp_path,
        distributions=Distributions.scan([]),
        probe=OFF,
    )
    [finding] = [f for f in det.findings if f.id == "AG900"]
    assert finding.message == (
        f"the {name} detector failed (OSError: [Errno 5] Input/output error); {name} is unknown"
    )
    assert "\n" not in finding.message


def test_scanning_distributions_that_raises_gives_ag900(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Distributions, "scan", classmethod(lambda cls, paths=None: _boom()))
    det = detect({}, root=tmp_path, probe=OFF)
    assert [f.message for f in det.findings if f.id == "AG900"] == [
        "the distributions detector failed (OSError: [Errno 5] Input/output error); "
        "distributions is unknown"
    ]
    assert det.stack.ddtrace is None


@pytest.mark.parametrize(("function", "name"), DETECTORS)
def test_warn_mode_boots_with_a_finding_and_no_traceback(
    guard: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    function: str,
    name: str,
) -> None:
    caplog.set_level(logging.INFO, logger="appsec_guard")
    monkeypatch.setattr(detect_mod, function, _boom)
    report = session.run("import")
    assert report is not None
    assert "AG900" in _ids(report)
    events = [r.appsec_guard for r in caplog.records if hasattr(r, "appsec_guard")]
    [logged] = [e for e in events if e.get("finding_id") == "AG900"]
    assert f"the {name} detector failed (OSError" in logged["message"]
    assert events[-1]["event"] == "appsec_guard.summary"
    captured = capfd.readouterr()
    assert "Traceback" not in captured.out + captured.err


def test_strict_mode_does_not_refuse_on_an_unknown(
    guard: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(detect_mod, "detect_deployment", _boom)
    monkeypatch.setenv("APPSEC_GUARD_MODE", "strict")
    report = session.run("import")  # no GuardError: a failed detector is not a verdict
    assert report is not None
    assert "AG900" in _ids(report)


def test_strict_mode_fails_closed_when_asked(guard: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(detect_mod, "detect_deployment", _boom)
    monkeypatch.setenv("APPSEC_GUARD_MODE", "strict")
    monkeypatch.setenv("APPSEC_GUARD_FAIL_CLOSED", "true")
    with pytest.raises(GuardError) as err:
        session.run("import")
    assert "[AG900] the deployment detector failed (OSError" in str(err.value)
    assert err.value.report is not None


def test_the_whole_detection_raising_is_contained(
    guard: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import appsec_guard.guard as guard_mod

    monkeypatch.setattr(guard_mod, "detect", _boom)
    report = session.run("import")
    assert report is not None
    [finding] = [f for f in report.findings if f.id == "AG900"]
    assert finding.message.startswith("detection failed: OSError:")
    assert {v.status.value for v in report.verdicts} == {"unknown"}


# --- the emitters ----------------------------------------------------------------------------


class _RaisingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        raise RuntimeError("handler down")

    def handle(self, record: logging.LogRecord) -> bool:  # not through handleError
        self.emit(record)
        return True


@pytest.fixture
def raising_handler() -> Iterator[None]:
    logger = logging.getLogger("appsec_guard")
    handler = _RaisingHandler()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_a_raising_logging_handler_never_breaks_warn_mode(
    guard: None, raising_handler: None, capfd: pytest.CaptureFixture[str]
) -> None:
    report = session.run("import")
    assert report is not None
    [ag901] = [f for f in report.findings if f.id == "AG901"]
    assert "RuntimeError: handler down" in ag901.message
    err = capfd.readouterr().err
    assert err.count("appsec_guard: the guard could not log") == 1
    assert "Traceback" not in err


def test_a_raising_logging_handler_fails_closed_only_when_asked(
    guard: None, raising_handler: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPSEC_GUARD_MODE", "strict")
    assert session.run("import") is not None
    session.reset_for_tests()
    monkeypatch.setenv("APPSEC_GUARD_FAIL_CLOSED", "true")
    with pytest.raises(GuardError, match=r"\[AG901\] the guard could not log"):
        session.run("import")


@pytest.mark.parametrize(("level", "logged"), [(logging.WARNING, 1), (logging.INFO, 3)])
def test_an_event_nobody_logs_is_neither_redacted_nor_rendered(
    level: int, logged: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from appsec_guard import _emit
    from appsec_guard.model import Finding, Severity
    from appsec_guard.testing import make_stack

    built: List[str] = []
    real = _emit.redact
    monkeypatch.setattr(
        _emit, "redact", lambda event, secrets: built.append(event) or real(event, secrets)
    )
    caplog.set_level(level, logger="appsec_guard")
    findings = (
        Finding("AG303", Severity.WARNING, None, "a caveat"),
        Finding("AG110", Severity.INFO, None, "a beta"),
    )
    report = Report(stack=make_stack(), verdicts=(), findings=findings)
    assert _emit.emit(report, findings, mode="warn", entry="import") is None
    records = [r for r in caplog.records if r.name == "appsec_guard"]
    assert len(records) == len(built) == logged  # the summary is info: logged only at INFO
    assert records[0].appsec_guard["finding_id"] == "AG303"


def test_events_are_built_only_for_what_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from appsec_guard import _emit, tags
    from appsec_guard.model import Finding, Severity
    from appsec_guard.testing import make_stack

    findings = (
        Finding("AG303", Severity.WARNING, None, "a caveat"),
        Finding("AG110", Severity.INFO, None, "a beta"),
    )
    report = Report(stack=make_stack(), verdicts=(), findings=findings)

    def built(*levels: Severity) -> List[Any]:
        out = _emit.events(
            report, findings, mode="warn", entry="import", logged=levels.__contains__
        )
        return [event.get("finding_id", event["event"]) for _, event in out]

    assert built(Severity.WARNING) == ["AG303"]
    assert built(Severity.INFO) == ["AG110", _emit.SUMMARY_EVENT]
    assert built(Severity.WARNING, Severity.INFO) == ["AG303", "AG110", _emit.SUMMARY_EVENT]

    def broken(environ: Any = None) -> Any:
        raise AssertionError("the service tags were read for events nobody logs")

    monkeypatch.setattr(tags, "unified_service_tags", broken)
    assert built() == []
    caplog.set_level(logging.ERROR, logger="appsec_guard")
    assert _emit.emit(report, findings, mode="warn", entry="import") is None  # nothing at ERROR


@pytest.mark.slow
def test_a_raising_structlog_chain_in_a_framework_app() -> None:
    """The app configured structlog and a processor raises: the Flask app is still created."""
    code = (
        "import structlog\n"
        "def boom(logger, method, event): raise ValueError('chain down')\n"
        "structlog.configure(processors=[boom])\n"
        "from flask import Flask\n"
        "from appsec_guard.contrib.flask import AppSecGuard\n"
        "app = Flask('x'); AppSecGuard(app)\n"
        "print('CREATED', [f.id for f in app.extensions['appsec_guard'].findings if f.id == 'AG901'])\n"
    )
    res = run_py(["-c", code], child_env())
    assert res.returncode == 0, res.stderr
    assert "CREATED ['AG901']" in res.stdout
    assert "Traceback" not in res.stderr


# --- files that cannot be read -------------------------------------------------------------


def _unreadable(path: Path, kind: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "dir":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # opening it would block the boot
    elif kind == "loop":
        os.symlink(path.name, path)


@pytest.mark.parametrize("kind", ["dir", "fifo", "loop", "missing"])
def test_user_matrix_that_cannot_be_read_is_ag701(
    guard: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    path = tmp_path / "layer.json"
    _unreadable(path, kind)
    monkeypatch.setenv("APPSEC_GUARD_MATRIX", str(path))
    report = session.run("import")
    assert report is not None
    [ag701] = [f for f in report.findings if f.id == "AG701"]
    assert ag701.message.startswith(f"APPSEC_GUARD_MATRIX: {path}: cannot read")
    assert ag701.message.endswith("; using the shipped matrix")
    assert "unset APPSEC_GUARD_MATRIX" in (ag701.remediation or "")
    assert report.verdict("threat_detection").status.value != "unknown"


@pytest.mark.parametrize("kind", ["dir", "fifo", "loop"])
def test_distribution_metadata_that_cannot_be_read(tmp_path: Path, kind: str) -> None:
    d = tmp_path / "ddtrace.dist-info"
    d.mkdir()
    _unreadable(d / "METADATA", kind)
    os.symlink("loop", tmp_path / "loop")  # a sys.path entry that is a symlink loop
    dists = Distributions.scan([str(tmp_path), str(tmp_path / "loop")])
    dist = dists.get("ddtrace")
    assert dist is not None and dist.version is None
    det = detect({}, root=tmp_path, distributions=dists, probe=OFF)
    assert det.stack.ddtrace_version_unknown
    assert not [f for f in det.findings if f.id == "AG900"]


# --- thousands of variables --------------------------------------------------------------


@pytest.mark.slow
def test_an_environment_with_thousands_of_variables() -> None:
    env = {f"APP_SETTING_{i}": f"value-{i}" for i in range(3000)}
    env.update({f"SERVICE_{i}_TOKEN": f"planted-token-{i:05d}" for i in range(2000)})
    env["DD_IAST_ENABLED"] = "planted-token-01999"  # a secret pasted in the wrong place
    res = run_py(["-c", "import structlog_json; import appsec_guard"], child_env(env))
    assert res.returncode == 0, res.stderr
    assert len(guard_events(res.stdout, "appsec_guard.summary")) == 1
    [ag601] = [
        e for e in guard_events(res.stdout, "appsec_guard.finding") if e["finding_id"] == "AG601"
    ]
    assert ag601["message"].startswith("DD_IAST_ENABLED='***' is not a boolean")
    assert "planted-token" not in res.stdout + res.stderr


# --- bad APPSEC_GUARD_* values: the variable, the value, what is accepted ----------------------


@pytest.mark.parametrize(
    ("name", "value", "message", "accepted"),
    [
        ("APPSEC_GUARD_MODE", "loud", "APPSEC_GUARD_MODE: 'loud' is not a mode; using warn",
         "set APPSEC_GUARD_MODE to warn or strict or off"),
        ("APPSEC_GUARD_REQUIRE", "sca,telepathy",
         "APPSEC_GUARD_REQUIRE: 'telepathy' is not a capability; ignored",
         "set APPSEC_GUARD_REQUIRE to one of threat_detection, "),
        ("APPSEC_GUARD_SILENCE", "AG101,loud",
         "APPSEC_GUARD_SILENCE: 'LOUD' is not a finding id; ignored",
         "set APPSEC_GUARD_SILENCE to ids from the README's table"),
        ("APPSEC_GUARD_FAIL_CLOSED", "maybe",
         "APPSEC_GUARD_FAIL_CLOSED: 'maybe' is not a boolean; using false",
         "set APPSEC_GUARD_FAIL_CLOSED to true or false"),
        ("APPSEC_GUARD_LOG_IN_CHILDREN", "sometimes",
         "APPSEC_GUARD_LOG_IN_CHILDREN: 'sometimes' is not a boolean; using false",
         "set APPSEC_GUARD_LOG_IN_CHILDREN to true or false"),
        # secret-looking tokens are masked: an AWS key id and a 40-hex token
        ("APPSEC_GUARD_REQUIRE", "sca,AKIAPLANTEDPLANTED00",
         "APPSEC_GUARD_REQUIRE: '***' is not a capability; ignored", "set APPSEC_GUARD_REQUIRE"),
        ("APPSEC_GUARD_MODE", "d" * 40, "APPSEC_GUARD_MODE: '***' is not a mode; using warn",
         "set APPSEC_GUARD_MODE to warn"),
    ],
)  # fmt: skip
def test_bad_guard_values_say_where_what_and_what_is_accepted(
    guard: None,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    message: str,
    accepted: str,
) -> None:
    monkeypatch.setenv(name, value)
    report = session.run("import")
    assert report is not None
    ag700 = [f for f in report.findings if f.id == "AG700"]
    assert [f.message for f in ag700] == [message]
    assert (ag700[0].remediation or "").startswith(accepted)


def test_a_secret_value_in_a_guard_variable_is_masked(
    guard: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DD_API_KEY", "plantedapikeyvalue")
    monkeypatch.setenv("APPSEC_GUARD_REQUIRE", "plantedapikeyvalue")
    report = session.run("import")
    assert report is not None
    assert "APPSEC_GUARD_REQUIRE: '***' is not a capability; ignored" in [
        f.message for f in report.findings
    ]


def test_broken_matrix_with_strict_and_fail_closed_names_the_file_and_line(
    guard: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "mine.json"
    bad.write_text('{"schema_version": 1,\n\n  "runtimes": [}\n')
    monkeypatch.setenv("APPSEC_GUARD_MATRIX", str(bad))
    monkeypatch.setenv("APPSEC_GUARD_MODE", "strict")
    assert session.run("import") is not None  # an unreadable layer alone does not refuse
    session.reset_for_tests()
    monkeypatch.setenv("APPSEC_GUARD_FAIL_CLOSED", "true")
    with pytest.raises(GuardError) as err:
        session.run("import")
    assert f"[AG701] APPSEC_GUARD_MATRIX: {bad}:3:" in str(err.value)


# --- the integrations: odd settings, a bad Lambda target ----------------------------------------


@pytest.mark.slow
def test_django_with_odd_silence_settings_boots() -> None:
    from .integrations.conftest import PROJECTS

    project = PROJECTS / "djangoproj"
    env = child_env({"TEST_APPSEC_GUARD": '{"silence": 5}', "TEST_SILENCED": "AG101"}, project)
    res = run_py(["manage.py", "check"], env, cwd=project)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert any(
        "settings.APPSEC_GUARD['silence']: '5' is not a list of finding ids" in e["message"]
        for e in guard_events(res.stdout, "appsec_guard.finding")
    )


def test_flask_config_with_a_non_string_key(guard: None) -> None:
    from flask import Flask

    from appsec_guard.contrib.flask import AppSecGuard

    app = Flask("x")
    app.config[42] = "not a string key"  # type: ignore[index]
    app.config["APPSEC_GUARD_MODE"] = "warn"
    assert AppSecGuard(app).report is not None


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("..handler", "APPSEC_GUARD_LAMBDA_HANDLER='..handler' is not 'module.function'"),
        ("app.", "APPSEC_GUARD_LAMBDA_HANDLER='app.' is not 'module.function'"),
        ("a b.handler", "APPSEC_GUARD_LAMBDA_HANDLER='a b.handler' is not 'module.function'"),
        (
            "no_such_module_here.handler",
            "APPSEC_GUARD_LAMBDA_HANDLER='no_such_module_here.handler': no module named "
            "'no_such_module_here'",
        ),
        ("json.no_such_function", "module 'json' has no 'no_such_function'"),
    ],
)
def test_bad_lambda_redirect_targets_are_guard_errors(
    guard: None, monkeypatch: pytest.MonkeyPatch, target: str, message: str
) -> None:
    from appsec_guard import aws_lambda

    monkeypatch.setenv("APPSEC_GUARD_LAMBDA_HANDLER", target)
    with pytest.raises(GuardError) as err:
        aws_lambda._load_handler()
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_missing_import_inside_the_handler_module_is_the_apps_own_error(
    guard: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from appsec_guard import aws_lambda

    (tmp_path / "fn_with_missing_dep.py").write_text("import no_such_dependency_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("APPSEC_GUARD_LAMBDA_HANDLER", "fn_with_missing_dep.handler")
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_here"):
        aws_lambda._load_handler()
