"""Property-based tests (hypothesis): the guard's promises over inputs nobody wrote down.

- any environment mapping and any fake filesystem give a report, never an exception;
- within one ddtrace release branch, a newer ddtrace never turns a supported capability
  unsupported, except where the matrix records a deployment exclusion;
- ``--assume`` accepts exactly its documented forms, and junk only ever gives AssumptionError;
- the command, given junk arguments, answers with one line and exit 2, never a traceback;
- a log line quotes exactly the values that are empty or hold whitespace, a quote or ``=``;
- a distribution name is normalised as PEP 503 says, whichever path normalises it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import string
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from appsec_guard import _emit
from appsec_guard import matrix as matrix_mod
from appsec_guard.assume import _DEPLOYMENT_ALIASES, _OS_ALIASES, AssumptionError, parse_assumption
from appsec_guard.detect import ProbeOptions
from appsec_guard.detect.agent import AddressError, agent_address, interpret
from appsec_guard.detect.distributions import Distributions
from appsec_guard.detect.runtime import ARCH_ALIASES
from appsec_guard.judge import judge
from appsec_guard.model import DEPLOYMENTS, Framework, RemoteConfig, Report, Status
from appsec_guard.render import report_text
from appsec_guard.testing import make_stack

MATRIX = matrix_mod.load()
OFF = ProbeOptions(enabled=False)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- any environment, any filesystem ---------------------------------------------------------

KNOWN_VARS = [
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT", "AWS_REGION",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "ECS_CONTAINER_METADATA_URI_V4", "ECS_CONTAINER_METADATA_URI", "KUBERNETES_SERVICE_HOST",
    "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_SITE_NAME",
    "K_SERVICE", "K_REVISION", "K_CONFIGURATION",
    "DD_APPSEC_ENABLED", "DD_IAST_ENABLED", "DD_APPSEC_SCA_ENABLED", "DD_API_SECURITY_ENABLED",
    "DD_EXPERIMENTAL_API_SECURITY_ENABLED", "DD_APPSEC_HTTP_BLOCKED_TEMPLATE_HTML",
    "DD_APPSEC_HTTP_BLOCKED_TEMPLATE_JSON", "DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE",
    "DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING",
    "DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING_ENABLED", "DD_REMOTE_CONFIGURATION_ENABLED",
    "DD_TRACE_AGENT_URL", "DD_AGENT_HOST", "DD_TRACE_AGENT_HOSTNAME", "DD_TRACE_AGENT_PORT",
    "DD_AGENT_PORT", "DD_API_KEY",
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(
        ["", "true", "false", "1", "0", "yes", "TRUE", " on ", "identification", "anon",
         "safe", "extended", "AWS_Lambda_python3.11", "AWS_ECS_FARGATE", "AWS_ECS_EC2",
         "AWS_ECS_", "http://127.0.0.1:1", "unix:///nonexistent.sock", "http://u:p@h:99999",
         "ftp://x", "http://[::1", "8126", "-1", "70000", "\x00", "é"]
    ),
    st.text(max_size=40),
)  # fmt: skip
ENVIRONS = st.dictionaries(
    st.one_of(st.sampled_from(KNOWN_VARS), st.text(min_size=1, max_size=20)),
    VALUES,
    max_size=25,
)

MARKERS = [
    "/.dockerenv",
    "/run/.containerenv",
    "/proc/self/cgroup",
    "/proc/self/mountinfo",
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "/var/run/datadog/apm.socket",
]
CGROUP_LINES = st.sampled_from(
    [
        b"0::/\n",
        b"12:pids:/docker/" + b"a" * 64 + b"\n",
        b"0::/kubepods/besteffort/pod1/" + b"b" * 64 + b"\n",
        b"1:name=systemd:/ecs/" + b"c" * 32 + b"-1234\n",
        b"2:cpu:/libpod-" + b"d" * 64 + b".scope\n",
        b"972 10 0:1 / / rw - overlay overlay rw,lowerdir=/docker/containers/" + b"e" * 64 + b"/\n",
    ]
)
CONTENT = st.one_of(
    st.binary(max_size=300),
    st.lists(st.one_of(CGROUP_LINES, st.binary(max_size=40)), max_size=6).map(b"".join),
)
# What stands where a marker file is expected.
NODES = st.one_of(
    st.just(("absent", b"")),
    st.tuples(st.just("file"), CONTENT),
    st.just(("dir", b"")),
    st.just(("fifo", b"")),
    st.just(("loop", b"")),
    st.just(("dangling", b"")),
)
DIST_NAMES = st.sampled_from(
    ["ddtrace", "Django", "flask", "fastapi", "starlette", "aiohttp", "tornado", "pyramid"]
)
DIST_VERSIONS = st.one_of(
    st.sampled_from(["", "2.6.0", "1.20.5.dev3+g1", "3.9.0rc1", "not.a.version", "4.2.1"]),
    st.text(alphabet=string.ascii_letters + string.digits + "._+!", max_size=12),
)
DISTS = st.lists(
    st.tuples(DIST_NAMES, DIST_VERSIONS, st.sampled_from(["dist-info", "egg-info"]), CONTENT),
    max_size=5,
)


def _plant(root: Path, marker: str, node: Tuple[str, bytes]) -> None:
    kind, data = node
    path = root / marker.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "file":
        path.write_bytes(data)
    elif kind == "dir":
        path.mkdir()
    elif kind == "fifo" and hasattr(os, "mkfifo"):
        os.mkfifo(path)
    elif kind == "loop":
        os.symlink(path.name, path)  # a link to itself
    elif kind == "dangling":
        os.symlink(str(root / "nowhere"), path)


def _plant_dists(site: Path, dists: List[Tuple[str, str, str, bytes]]) -> None:
    site.mkdir(parents=True, exist_ok=True)
    for name, version, suffix, metadata in dists:
        dirname = f"{name}-{version}.{suffix}" if version else f"{name}.{suffix}"
        d = site / dirname.replace("/", "_")
        if d.exists():
            continue
        d.mkdir()
        (d / ("METADATA" if suffix == "dist-info" else "PKG-INFO")).write_bytes(
            b"Metadata-Version: 2.1\nName: " + name.encode() + b"\n" + metadata
        )


def _check_report(report: Report) -> None:
    assert {v.capability for v in report.verdicts} == set(MATRIX.capability_ids)
    report.to_dict()
    report_text(report, verbose=True)
    assert report.stack.deployment in DEPLOYMENTS


@SETTINGS
@given(
    env=ENVIRONS,
    nodes=st.fixed_dictionaries(dict.fromkeys(MARKERS, NODES)),
    dists=DISTS,
    required=st.lists(st.sampled_from(MATRIX.capability_ids), max_size=3),
)
def test_any_environment_and_filesystem_give_a_report(
    env: Dict[str, str],
    nodes: Dict[str, Tuple[str, bytes]],
    dists: List[Tuple[str, str, str, bytes]],
    required: List[str],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for marker, node in nodes.items():
            _plant(root, marker, node)
        site = root / "site-packages"
        _plant_dists(site, dists)
        report = _assess_with_site(env, root, site, required)
    _check_report(report)
    assert not [f for f in report.findings if f.id == "AG900"], report.findings


def _assess_with_site(env: Dict[str, str], root: Path, site: Path, required: List[str]) -> Report:
    from appsec_guard.detect import detect

    detection = detect(
        env, root=root, modules={}, distributions=Distributions.scan([str(site)]), probe=OFF
    )
    report = judge(detection.stack, MATRIX, requested=detection.requested, required=required)
    return report.with_findings(detection.findings + report.findings)


@SETTINGS
@given(env=ENVIRONS)
@example(env={"DD_AGENT_HOST": "http://u:p@h:99999"})  # found by hypothesis: a URL as the host
def test_agent_address_raises_only_address_error(env: Dict[str, str]) -> None:
    try:
        address = agent_address(env, Path("/nonexistent-root"))
    except AddressError as exc:
        message = str(exc)
    else:
        message = ""
        assert address.scheme in ("http", "https", "unix")
        assert "@" not in address.display
    assert "\n" not in message


@SETTINGS
@given(
    raw=st.one_of(
        st.binary(max_size=300),
        st.tuples(
            st.sampled_from(
                [b"HTTP/1.0 200 OK", b"HTTP/1.1 404 x", b"HTTP/1.1 302 x", b"HTTP/9 x"]
            ),
            st.binary(max_size=200),
        ).map(lambda t: t[0] + b"\r\n\r\n" + t[1]),
    )
)
def test_any_agent_answer_is_interpreted_without_raising(raw: bytes) -> None:
    result = interpret(raw)
    assert result.status in RemoteConfig


# --- within one release branch, newer never breaks (except deployment exclusions) ----------

BRANCHES = [(1, 2), (2, 3), (3, 4), (4, 5)]


@st.composite
def same_branch_versions(draw: Any) -> Tuple[Version, Version]:
    major = draw(st.sampled_from([b[0] for b in BRANCHES]))
    releases = st.tuples(st.integers(0, 40), st.integers(0, 12))
    a, b = sorted([draw(releases), draw(releases)])
    return Version(f"{major}.{a[0]}.{a[1]}"), Version(f"{major}.{b[0]}.{b[1]}")


@SETTINGS
@given(
    versions=same_branch_versions(),
    python=st.sampled_from(["3.7.17", "3.8.18", "3.9.19", "3.11.7", "3.12.3", "3.13.1"]),
    os_name=st.sampled_from(["linux", "macos", "windows"]),
    arch=st.sampled_from(["x86_64", "i686", "aarch64"]),
    framework=st.sampled_from(
        [None, "django==4.2.1", "django==1.11", "flask==2.3.0", "flask==1.0", "fastapi==0.110.0"]
    ),
    deployment=st.sampled_from(DEPLOYMENTS),
    rc=st.sampled_from(list(RemoteConfig)),
    requested=st.lists(st.sampled_from(MATRIX.capability_ids), max_size=4),
)
def test_newer_ddtrace_in_the_same_branch_never_breaks_a_capability(
    versions: Tuple[Version, Version],
    python: str,
    os_name: str,
    arch: str,
    framework: Optional[str],
    deployment: str,
    rc: RemoteConfig,
    requested: List[str],
) -> None:
    """Stated exception: ``matrix.exclusions`` (deployment_exclusions in supplement.json), e.g.
    ddtrace 2.19.4-3.8 switch AppSec off on AWS Lambda, 3.9+ switches IAST off there. A newer
    release inside such a range turns the capability unsupported with finding AG402. And
    ``matrix.integration_limits`` (framework_integrations): from 3.10 on ddtrace declares
    Flask>=1.1.4 and Django>=2.2.8 for its integrations, finding AG307."""
    old, new = versions

    def run(version: Version) -> Report:
        stack = make_stack(
            python=python, os=os_name, arch=arch, ddtrace=str(version),
            framework=framework, deployment=deployment, remote_config=rc,
        )  # fmt: skip
        return judge(stack, MATRIX, requested=requested)

    before, after = run(old), run(new)
    for v in before.verdicts:
        if v.status is not Status.SUPPORTED:
            continue
        now = after.verdict(v.capability)
        if now.status is Status.UNSUPPORTED:
            mine = [f.id for f in after.findings if f.capability == v.capability]
            if "AG307" in mine:  # the release declares a narrower range for its integration
                assert framework is not None
                name, version = framework.split("==")
                assert any(
                    lim.framework == name
                    and v.capability in lim.capabilities
                    and lim.matching(new)
                    and not lim.runs.contains(version, prereleases=True)
                    for lim in MATRIX.integration_limits
                ), (old, new, v.capability, now.reasons)
                continue
            assert "AG402" in mine, (old, new, v.capability, now.reasons)
            assert any(
                e.deployment == deployment and v.capability in e.capabilities and e.matching(new)
                for e in MATRIX.exclusions
            )


# --- --assume: exactly the documented forms -------------------------------------------------


def _case(draw: Any, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if f else c for c, f in zip(text, flips))


TOKEN = st.from_regex(r"\A[a-z][a-z0-9_.-]{0,12}\Z")
VERSION_TEXT = st.tuples(
    st.integers(0, 30), st.integers(0, 30), st.one_of(st.none(), st.integers(0, 30))
).map(lambda t: ".".join(str(x) for x in t if x is not None))


@st.composite
def valid_assumption(draw: Any) -> Tuple[str, str, Any]:
    key = draw(st.sampled_from(
        ["python", "implementation", "os", "arch", "ddtrace", "framework", "deployment",
         "remote_config"]
    ))  # fmt: skip
    value: str
    expected: Any
    if key == "python":
        value = draw(VERSION_TEXT)
        expected = Version(value)
    elif key == "implementation":
        word = draw(st.sampled_from(["cpython", "pypy"]))
        value, expected = _case(draw, word), word
    elif key == "os":
        alias = draw(st.sampled_from(sorted(_OS_ALIASES)))
        value, expected = _case(draw, alias), _OS_ALIASES[alias]
    elif key == "arch":
        alias = draw(st.one_of(st.sampled_from(sorted(ARCH_ALIASES)), TOKEN))
        value, expected = _case(draw, alias), ARCH_ALIASES.get(alias, alias)
    elif key == "ddtrace":
        if draw(st.booleans()):
            value, expected = _case(draw, "none"), None
        else:
            value = draw(VERSION_TEXT)
            expected = Version(value)
    elif key == "framework":
        # a name without its version is refused (test_assume.py), not a documented form
        choice = draw(st.integers(0, 1))
        name = draw(TOKEN)
        if choice == 0:
            value, expected = _case(draw, "none"), None
        else:
            version = draw(VERSION_TEXT)
            value, expected = f"{name}=={version}", Framework(_norm(name), Version(version))
    elif key == "deployment":
        word = draw(st.sampled_from([*DEPLOYMENTS, *_DEPLOYMENT_ALIASES]))
        value, expected = _case(draw, word), _DEPLOYMENT_ALIASES.get(word, word)
    else:
        state = draw(st.sampled_from(list(RemoteConfig)))
        value, expected = _case(draw, state.value), state
    space = st.sampled_from(["", " ", "  ", "\t"])
    text = f"{draw(space)}{_case(draw, key)}{draw(space)}={draw(space)}{value}{draw(space)}"
    return text, key, expected


def _norm(name: str) -> str:
    from appsec_guard.detect.distributions import normalize

    return normalize(name)


@SETTINGS
@given(valid_assumption())
def test_documented_assume_forms_are_accepted(case: Tuple[str, str, Any]) -> None:
    text, key, expected = case
    assert parse_assumption(text) == (key, expected)


_DOMAINS = {
    "python": lambda v: isinstance(v, Version) and len(v.release) >= 2,
    "implementation": lambda v: v in ("cpython", "pypy"),
    "os": lambda v: v in ("linux", "macos", "windows"),
    "arch": lambda v: isinstance(v, str) and v == v.lower() and " " not in v and v != "",
    "ddtrace": lambda v: v is None or isinstance(v, Version),
    "framework": lambda v: v is None or isinstance(v, Framework),
    "deployment": lambda v: v in DEPLOYMENTS,
    "remote_config": lambda v: isinstance(v, RemoteConfig),
}


@SETTINGS
@given(
    st.one_of(
        st.text(max_size=40),
        st.tuples(st.sampled_from(sorted(_DOMAINS)), st.text(max_size=30)).map(
            lambda t: f"{t[0]}={t[1]}"
        ),
    )
)
def test_junk_assumptions_give_assumption_error_or_a_documented_value(text: str) -> None:
    try:
        key, value = parse_assumption(text)
    except AssumptionError:
        return  # the one exception it may raise (anything else fails the test)
    assert key in _DOMAINS
    assert _DOMAINS[key](value), (text, value)


# --- the command: junk arguments never give a traceback ------------------------------------

WORDS = st.sampled_from(
    ["check", "plan", "matrix", "import", "diff", "shipped", "--format", "json", "text",
     "yaml", "--require", "sca", "api_security", "threat_protection", "nope", "--assume",
     "ddtrace=2.6.0", "ddtrace=x", "python=3", "deployment=lambda", "--matrix",
     "missing.json", "--agent-timeout", "0.1", "nan", "-1", "inf", "1e309", "--no-probe",
     "-v", "--verbose", "--strict", "--output", "-o", "--source-id", "--url", "-", "--", "=",
     "", "\x00", "é"]
)  # fmt: skip
ARGV = st.lists(st.one_of(WORDS, st.text(max_size=15)), max_size=8)


@pytest.fixture(scope="module")
def cli_sandbox() -> Any:
    """A scratch working directory and an Agent address nothing listens on (loopback)."""
    from .helpers.agent import refused_port

    old = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "page.md").write_text("# not a compatibility page\n")
        (Path(tmp) / "bad.json").write_text('{"schema_version": 1, "runtimes": [}')
        os.chdir(tmp)
        try:
            with mock.patch.dict(
                os.environ, {"DD_TRACE_AGENT_URL": f"http://127.0.0.1:{refused_port()}"}
            ):
                yield tmp
        finally:
            os.chdir(old)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(argv=ARGV)
@example(argv=["check", "\r"])  # found by hypothesis: a control character echoed in the error
@example(argv=["check", "--matrix", "\x00"])  # found by hypothesis: ValueError from the path
@example(argv=["matrix", "--matrix", "."])  # a directory where a file is expected
def test_junk_command_lines_never_give_a_traceback(cli_sandbox: Any, argv: List[str]) -> None:
    from appsec_guard.cli import main

    assume(not {"-h", "--help"} & set(argv))  # argparse's help exits 0 after printing
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code in (0, 1, 2)
    if code == 2:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1, err.getvalue()
        assert lines[0].startswith("appsec-guard: error: ")


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
@settings(max_examples=500, deadline=None)
def test_a_value_is_quoted_when_it_is_empty_or_holds_whitespace_a_quote_or_equals(
    text: str,
) -> None:
    quoted = not text or any(c.isspace() or c in "\"'=" for c in text)
    line = _emit._render({"event": "e", "k": text})
    assert line == f"e k={json.dumps(text) if quoted else text}"


@given(st.text(alphabet="aZ9-_.Ä", max_size=12))
@settings(max_examples=500, deadline=None)
def test_a_distribution_name_is_normalised_as_pep_503_says(name: str) -> None:
    # the shortcut for names without "_", "." or "--" gives what the expression gives
    import re

    from appsec_guard.detect.distributions import normalize

    assert normalize(name) == re.sub(r"[-_.]+", "-", name).lower()
