"""Conformance harness: real ddtrace releases, real apps, Datadog's real test agent.

For one ddtrace release and one framework it boots the app under ``ddtrace-run`` (twice: once
with the default rules, once with a custom rules file), sends the requests each capability should
act on, reads what ddtrace reported to ``ddapm-test-agent`` and asks ``appsec-guard check`` for
its verdict on the same stack. Everything listens on 127.0.0.1 only, every wait is bounded,
and every process it starts is stopped in a ``finally``.

Used by ``run_conformance.py`` (the whole table) and ``test_conformance.py`` (the CI slice).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
APPS = HERE / "apps"
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from appsec_guard.detect.distributions import Distributions  # noqa: E402

#: The suite's pytest modules run only when asked (they build virtualenvs and boot real apps).
ENABLED = os.environ.get("APPSEC_GUARD_CONFORMANCE") == "1"
SKIP_REASON = (
    "conformance suite: run it with `nox -s conformance -- --newest-only` "
    "(or set APPSEC_GUARD_CONFORMANCE=1)"
)

# --- what is tested ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """A ddtrace release, the Pythons to try for it (first found wins), and framework pins
    old enough for it (a ddtrace release patches the framework APIs of its time)."""

    ddtrace: str
    pythons: Tuple[str, ...]
    flask: Tuple[str, ...]
    django: Tuple[str, ...]


_FLASK_22 = ("flask==2.2.5", "werkzeug==2.2.3")
_FLASK_23 = ("flask==2.3.3", "werkzeug==2.3.8")
_FLASK_30 = ("flask==3.0.3", "werkzeug==3.0.6")
# ddtrace 2.5.x/2.6.0 import wrapt (ddtrace/internal/tracemethods.py, v2.6.0) without listing it
# in their Requires-Dist: without it ddtrace-run logs "error configuring Datadog tracing".
_DDTRACE_2_EXTRA = ("wrapt",)

#: The newest ddtrace when this list was last updated; bump it with the matrix.
NEWEST = "4.16.0"

RELEASES: Tuple[Release, ...] = (
    Release("1.9.0", ("3.10", "3.11", "3.9"), _FLASK_22, ("django==4.1.13",)),
    Release("1.10.0", ("3.10", "3.11", "3.9"), _FLASK_22, ("django==4.1.13",)),
    Release("1.17.0", ("3.11", "3.10", "3.9"), _FLASK_23, ("django==4.2.16",)),
    Release("1.19.0", ("3.11", "3.10", "3.9"), _FLASK_23, ("django==4.2.16",)),
    Release("2.5.6", ("3.11", "3.12", "3.10"), _FLASK_30, ("django==4.2.16", *_DDTRACE_2_EXTRA)),
    Release("2.6.0", ("3.12", "3.11", "3.10"), _FLASK_30, ("django==5.0.9", *_DDTRACE_2_EXTRA)),
    Release(NEWEST, ("3.12", "3.13", "3.11", "3.10", "3.9"), ("flask",), ("django",)),
)

FRAMEWORKS = ("flask", "django")

#: Rows of the table: (capability id in the matrix, how it is exercised).
CHECKS: Tuple[Tuple[str, str], ...] = (
    ("threat_detection", "scanner user agent, default rules"),
    ("threat_protection", "custom rules file (DD_APPSEC_RULES), on_match block"),
    ("threat_protection", "Remote Configuration: ASM_DATA blocked IP from the test agent"),
    ("custom_blocking_response", "DD_APPSEC_HTTP_BLOCKED_TEMPLATE_JSON on the rules-file block"),
    ("api_security", "DD_API_SECURITY_ENABLED, every request sampled"),
    ("user_event_tracking", "django.contrib.auth login"),
)

SCANNER_UA = "Arachni/v1"
BLOCK_UA = "conformance-block-me/1.0"
BLOCKED_IP = "1.2.3.4"
DJANGO_LOGIN = ("conformance-user", "conformance-pass-1")  # created by apps/django_app.py
CUSTOM_BODY = json.loads((APPS / "blocked.json").read_text())
DEPLOYMENT = "docker"  # what the suite simulates: a containerised app with an Agent beside it


#: The endpoints of a Datadog Agent 7.5x ``/info`` without Remote Configuration.
NO_RC_ENDPOINTS = [
    "/v0.4/traces", "/v0.5/traces", "/v0.6/stats", "/v0.7/traces", "/telemetry/proxy/",
    "/evp_proxy/v2/", "/evp_proxy/v4/", "/debugger/v1/input", "/debugger/v1/diagnostics",
    "/symdb/v1/input", "/tracer_flare/v1", "/info",
]  # fmt: skip


class SetupError(Exception):
    """An environment could not be built (no interpreter, an install failed)."""


# --- interpreters and virtualenvs --------------------------------------------------------------


def find_python(minor: str) -> Optional[str]:
    """CPython ``minor`` under ~/.pyenv/versions/ or on PATH (pyenv's shims skipped), else None."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    pattern = os.path.join(root, "versions", f"{minor}.*", "bin", "python3")
    for cand in sorted(glob.glob(pattern), reverse=True):
        if os.access(cand, os.X_OK):
            return cand
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        cand = os.path.join(directory, f"python{minor}")
        if "shims" not in directory and os.access(cand, os.X_OK):
            return cand
    return None


def cache_dir() -> Path:
    path = Path(os.environ.get("CONFORMANCE_CACHE", str(REPO / ".nox" / "conformance-envs")))
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Venv:
    path: Path
    python_minor: str

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    @property
    def site_packages(self) -> str:
        return str(self.path / "lib" / f"python{self.python_minor}" / "site-packages")

    def version_of(self, dist: str) -> str:
        """Read by the guard's own metadata scanner, as the guard would read it in the app."""
        found = Distributions.scan([self.site_packages]).get(dist)
        return str(found.version) if found and found.version else "?"


def ensure_venv(name: str, pythons: Sequence[str], requirements: Sequence[str]) -> Venv:
    """Create (or reuse) a virtualenv with ``requirements`` on the first Python found."""
    for minor in pythons:
        exe = find_python(minor)
        if exe:
            break
    else:
        raise SetupError(f"no interpreter among Python {', '.join(pythons)} for {name}")
    path = cache_dir() / f"{name}-py{minor}"
    marker = path / "conformance-requirements.json"
    wanted = json.dumps(sorted(requirements))
    if marker.exists() and marker.read_text() == wanted:
        return Venv(path, minor)
    if path.exists():
        shutil.rmtree(path)
    steps = [
        [exe, "-m", "venv", str(path)],
        [
            str(path / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--only-binary=ddtrace",
            *requirements,
        ],
    ]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise SetupError(f"{' '.join(cmd[:4])} ... failed: {' | '.join(tail)}")
    marker.write_text(wanted)
    return Venv(path, minor)


def release_venv(release: Release) -> Venv:
    reqs = [f"ddtrace=={release.ddtrace}", *release.flask, *release.django]
    return ensure_venv(f"ddtrace-{release.ddtrace}", release.pythons, reqs)


def agent_venv() -> Venv:
    return ensure_venv("test-agent", ("3.11", "3.12", "3.10", "3.13", "3.9"), ["ddapm-test-agent"])


# --- loopback plumbing -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: Dict[str, str]

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8", "replace"))
        except ValueError:
            return None


def http(
    method: str,
    url: str,
    *,
    headers: Optional[Dict[str, str]] = None,
    body: Optional[bytes] = None,
    timeout: float = 10.0,
) -> Response:
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Response(resp.status, resp.read(), dict(resp.headers))
    except urllib.error.HTTPError as err:
        return Response(err.code, err.read(), dict(err.headers or {}))
    except (urllib.error.URLError, ConnectionError) as err:
        # the app died on the request (a crash in the tracer's native code): status 0
        return Response(0, str(err).encode(), {})


def _wait_port(port: int, proc: subprocess.Popen[bytes], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SetupError(f"{what} exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise SetupError(f"{what} did not listen on 127.0.0.1:{port} within {seconds:.0f}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # lets ddtrace's atexit flush run
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --- the test agent ----------------------------------------------------------------------------


class TestAgent:
    __test__ = False  # not a pytest class

    def __init__(self, venv: Venv, log_dir: Path, *, remote_config: bool = True) -> None:
        self.venv = venv
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.remote_config = remote_config
        name = "test-agent" if remote_config else "test-agent-no-rc"
        self.log_path = log_dir / f"{name}.log"
        self._proc: Optional[subprocess.Popen[bytes]] = None

    @property
    def version(self) -> str:
        return self.venv.version_of("ddapm-test-agent")

    def __enter__(self) -> TestAgent:
        cmd = [
            str(self.venv.bin / "ddapm-test-agent"),
            "--host=127.0.0.1",
            f"--port={self.port}",
            f"--otlp-http-port={free_port()}",
            f"--otlp-grpc-port={free_port()}",
            "--disable-error-responses=true",
            "--log-level=WARNING",
        ]
        # Without the machine's DD_* settings (the test agent forwards to DD_TRACE_AGENT_URL).
        env = {k: v for k, v in os.environ.items() if not k.startswith("DD_")}
        if not self.remote_config:
            # An Agent without Remote Configuration: /info lists no /v0.7/config, so a tracer
            # never polls it (ddapm_test_agent/agent.py merges DD_AGENT_EXTRA_INFO into /info).
            env["DD_AGENT_EXTRA_INFO"] = json.dumps({"endpoints": NO_RC_ENDPOINTS})
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_port(self.port, self._proc, 60, "ddapm-test-agent")
        except BaseException:
            _stop(self._proc)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            _stop(self._proc)

    def spans(self, service: str) -> List[Dict[str, Any]]:
        traces = http("GET", f"{self.url}/test/traces").json() or []
        return [s for trace in traces for s in trace if s.get("service") == service]

    def telemetry(self, service: str) -> List[Dict[str, Any]]:
        """The instrumentation telemetry events ``service`` sent (message-batch unpacked)."""
        raw = http("GET", f"{self.url}/test/session/apmtelemetry").json() or []
        out: List[Dict[str, Any]] = []
        for event in raw:
            if (event.get("application") or {}).get("service_name") != service:
                continue
            if event.get("request_type") == "message-batch":
                out.extend(p for p in event.get("payload") or [] if isinstance(p, dict))
            else:
                out.append(event)
        return out

    def set_remote_config(self, path: str, msg: Any) -> None:
        body = json.dumps({"path": path, "msg": msg}).encode()
        resp = http("POST", f"{self.url}/test/session/responses/config/path", body=body)
        if resp.status >= 300:
            raise SetupError(f"test agent refused the Remote Configuration payload: {resp.status}")

    def clear_remote_config(self) -> None:
        http("POST", f"{self.url}/test/session/responses/config", body=b"{}")

    def clear(self) -> None:
        http("GET", f"{self.url}/test/session/clear")


# --- one app boot ------------------------------------------------------------------------------

# Telemetry stays on (it goes to the test agent): ddtrace 2.6.0 raises NameError on
# `telemetry` in ddtrace/internal/processor/trace.py when DD_INSTRUMENTATION_TELEMETRY_ENABLED=false.
_QUIET = {
    "DD_TRACE_STARTUP_LOGS": "false",
    "DD_RUNTIME_METRICS_ENABLED": "false",
    "DD_PROFILING_ENABLED": "false",
    "DD_TRACE_WRITER_INTERVAL_SECONDS": "0.5",
    "DD_REMOTE_CONFIG_POLL_INTERVAL_SECONDS": "0.5",
    "DD_ENV": "conformance",
    "DD_VERSION": "1",
}


@contextlib.contextmanager
def booted_app(
    venv: Venv,
    framework: str,
    agent: TestAgent,
    service: str,
    extra_env: Mapping[str, Optional[str]],
) -> Iterator[str]:
    """Run ``ddtrace-run python apps/<framework>_app.py``; yield its base URL.
    A None value in ``extra_env`` unsets that variable (``DD_APPSEC_ENABLED`` unset)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    work = Path(tempfile.mkdtemp(prefix=f"conformance-{service}-"))
    env.update(_QUIET)
    env.update(
        {
            "DD_TRACE_AGENT_URL": agent.url,
            "DD_SERVICE": service,
            "DD_APPSEC_ENABLED": "true",
            "CONFORMANCE_PORT": str(port),
            "CONFORMANCE_DB": str(work / "db.sqlite3"),
            "CONFORMANCE_MAX_SECONDS": "120",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    _apply(env, extra_env)
    cmd = [
        str(venv.bin / "ddtrace-run"),
        str(venv.bin / "python"),
        str(APPS / f"{framework}_app.py"),
    ]
    log_path = agent.log_path.parent / f"{service}.log"
    with open(log_path, "wb") as log:
        # The app's directory is the working directory, as in a deployed app: ddtrace's IAST
        # instruments first-party modules only, and tells them by it (ddtrace 4.16.0 left
        # apps/vulnerable.py uninstrumented when started from another directory).
        proc = subprocess.Popen(cmd, env=env, cwd=str(APPS), stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            _wait_port(port, proc, 90, f"{framework} app ({service})")
        except SetupError as exc:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-4:]
            raise SetupError(f"{exc}: {' | '.join(tail)}") from None
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)
        shutil.rmtree(work, ignore_errors=True)


def _apply(env: Dict[str, str], extra: Mapping[str, Optional[str]]) -> None:
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value


def log_tail(agent: TestAgent, service: str, lines: int = 3) -> str:
    path = agent.log_path.parent / f"{service}.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return " | ".join(text.strip().splitlines()[-lines:])


def _root_span(spans: List[Dict[str, Any]], path: str) -> Optional[Dict[str, Any]]:
    for span in spans:
        if span.get("parent_id") in (0, None) and str(
            span.get("meta", {}).get("http.url", "")
        ).split("?")[0].endswith(path):
            return span
    return None


def wait_root_spans(
    agent: TestAgent, service: str, paths: Sequence[str], seconds: float = 15.0
) -> Dict[str, Optional[Dict[str, Any]]]:
    """The root span of the request to each path, once the tracer has flushed them all."""
    deadline = time.monotonic() + seconds
    found: Dict[str, Optional[Dict[str, Any]]] = {}
    while True:
        spans = agent.spans(service)
        found = {p: _root_span(spans, p) for p in paths}
        if all(found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def _tags(span: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    if not span:
        return {}
    return {**span.get("metrics", {}), **span.get("meta", {})}


def appsec_triggers(span: Optional[Dict[str, Any]]) -> Tuple[List[str], str]:
    """Rule ids of the AppSec event on a span: the ``_dd.appsec.json`` tag (older tracers) or
    the ``appsec`` entry of ``meta_struct`` (newer ones)."""
    if not span:
        return [], ""
    raw = span.get("meta", {}).get("_dd.appsec.json")
    where = "_dd.appsec.json"
    event: Any = None
    if raw:
        try:
            event = json.loads(raw)
        except ValueError:
            event = None
    if event is None:
        event, where = (span.get("meta_struct") or {}).get("appsec"), "meta_struct.appsec"
    if not isinstance(event, dict):
        return [], ""
    rules = [
        str(t.get("rule", {}).get("id")) for t in event.get("triggers", []) if isinstance(t, dict)
    ]
    return sorted(set(rules)), where


# --- observations ------------------------------------------------------------------------------


@dataclass
class Observation:
    capability: str
    mechanism: str
    observed: Optional[bool]  # None: not exercised
    evidence: str
    guard: Optional[str] = (
        None  # the guard's verdict under this boot's own settings, if they differ
    )


@dataclass
class Outcome:
    release: str
    framework: str
    python: str
    framework_version: str
    ddtrace_version: str
    guard: Dict[str, str] = field(default_factory=dict)
    observations: List[Observation] = field(default_factory=list)
    section: str = "docker"

    def rows(self) -> List[Dict[str, Any]]:
        out = []
        for obs in self.observations:
            verdict = obs.guard or self.guard.get(obs.capability, "?")
            out.append(
                {
                    "section": self.section,
                    "release": self.release,
                    "python": self.python,
                    "framework": f"{self.framework}=={self.framework_version}",
                    "capability": obs.capability,
                    "mechanism": obs.mechanism,
                    "guard": verdict,
                    "observed": obs.observed,
                    "agreement": agreement(verdict, obs.observed),
                    "evidence": obs.evidence,
                }
            )
        return out


def verdict_of(capability: Mapping[str, Any]) -> str:
    """One word for the guard's answer on a capability: its ``status``, and, where the report
    says what ddtrace will really switch on with the settings (``active``), that too:
    ``supported`` (on), ``supported (remote)`` (off at boot, Remote Configuration can switch it
    on), ``supported (off)`` (the settings leave it off)."""
    status = str(capability["status"])
    active = capability.get("active")
    if status in ("supported", "beta") and active in ("remote", "off", "unknown"):
        return f"{status} ({active})"
    return status


def agreement(verdict: str, observed: Optional[bool]) -> str:
    if observed is None:
        return "not exercised"
    if verdict in ("supported", "supported (remote)"):
        # remote: the test agent serves the activation wherever it offers Remote Configuration
        return "yes" if observed else "NO: supported but not observed"
    if verdict in ("unsupported", "supported (off)", "beta (off)"):
        return "observed anyway" if observed else "yes"
    if verdict == "beta":  # it would be supported, but is not generally available: no promise
        return "yes (beta)" if observed else "beta, not observed"
    return f"n/a ({verdict})"


def guard_check(
    release: str,
    framework: Optional[str],
    python: str,
    *,
    deployment: str = DEPLOYMENT,
    remote_config: Optional[str] = "enabled",
    env: Optional[Mapping[str, Optional[str]]] = None,
) -> Dict[str, Dict[str, Any]]:
    """``appsec-guard check --format json`` for the simulated stack, as a CI job would run it,
    with the run's own ``DD_*`` settings in its environment. ``remote_config=None`` lets the
    guard ask the Agent (``DD_TRACE_AGENT_URL`` in ``env``) as it would at boot."""
    cmd = [sys.executable, "-m", "appsec_guard", "check", "--format", "json"]
    facts = {"ddtrace": release, "python": python, "deployment": deployment}
    facts["framework"] = framework or "none"
    if remote_config is not None:
        facts["remote_config"] = remote_config
    for key, value in facts.items():
        cmd += ["--assume", f"{key}={value}"]
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DD_", "APPSEC_GUARD_", "AWS_", "KUBERNETES_", "ECS_"))
    }
    _apply(base, env or {})
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), base.get("PYTHONPATH")]))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=base, timeout=60)
    if proc.returncode not in (0, 1):
        raise SetupError(f"appsec-guard check failed ({proc.returncode}): {proc.stderr.strip()}")
    report = json.loads(proc.stdout)
    return dict(report["capabilities"])


def guard_verdicts(release: str, framework: str, fw_version: str, python: str) -> Dict[str, str]:
    """The verdicts of the Docker rows: Remote Configuration enabled, AppSec on."""
    caps = guard_check(
        release, f"{framework}=={fw_version}", python, env={"DD_APPSEC_ENABLED": "true"}
    )
    return {cap: verdict_of(v) for cap, v in caps.items()}


def _api_security_env() -> Dict[str, str]:
    return {
        "DD_API_SECURITY_ENABLED": "true",  # ddtrace/appsec/_constants.py (v2.6.0): API_SECURITY
        "DD_EXPERIMENTAL_API_SECURITY_ENABLED": "true",  # the name before 2.6
        "DD_API_SECURITY_REQUEST_SAMPLE_RATE": "1.0",  # 2.x: sample every request
        "DD_API_SECURITY_SAMPLE_DELAY": "0",  # 3.x/4.x: no per-endpoint delay
    }


def run_release_framework(
    release: Release, venv: Venv, framework: str, agent: TestAgent
) -> Outcome:
    fw_version = venv.version_of(framework)
    outcome = Outcome(
        release=release.ddtrace,
        framework=framework,
        python=venv.python_minor,
        framework_version=fw_version,
        ddtrace_version=venv.version_of("ddtrace"),
    )
    boot_env = {
        **_api_security_env(),
        "DD_REMOTE_CONFIGURATION_ENABLED": "true",
        "DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING": "safe",  # 1.17-2.x name
        "DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE": "identification",  # 2.11+ name
    }
    # The guard is asked with the settings of both boots (the blocked-response template of the
    # second), Remote Configuration enabled; the second boot's own verdict is rc_off_local_rules.
    caps = guard_check(
        outcome.ddtrace_version,
        f"{framework}=={fw_version}",
        venv.python_minor,
        env={
            "DD_APPSEC_ENABLED": "true",
            **boot_env,
            "DD_APPSEC_HTTP_BLOCKED_TEMPLATE_JSON": str(APPS / "blocked.json"),
        },
    )
    outcome.guard = {cap: verdict_of(v) for cap, v in caps.items()}
    tag = f"{release.ddtrace.replace('.', '-')}-{framework}"

    # Boot 1: default rules + API Security + user tracking + Remote Configuration blocking.
    service = f"conf-{tag}-default"
    agent.set_remote_config(
        "datadog/2/ASM_DATA/conformance-blocked-ips/config",
        {
            "rules_data": [
                {
                    "id": "blocked_ips",
                    "type": "ip_with_expiration",
                    "data": [{"value": BLOCKED_IP, "expiration": 0}],
                }
            ]
        },
    )
    try:
        with booted_app(venv, framework, agent, service, boot_env) as base:
            detect = http("GET", f"{base}/probe/detect", headers={"User-Agent": SCANNER_UA})
            api = http(
                "POST",
                f"{base}/api/items",
                headers={"Content-Type": "application/json", "User-Agent": "conformance/1"},
                body=json.dumps({"name": "widget", "count": 3}).encode(),
            )
            login = None
            if framework == "django":
                user, password = DJANGO_LOGIN
                login = http(
                    "POST",
                    f"{base}/login",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    body=f"username={user}&password={password}".encode(),
                )
            control = http("GET", f"{base}/probe/control", headers={"User-Agent": "conformance/1"})
            # Remote Configuration arrives on the tracer's poll: retry for a bounded time.
            rc = None
            deadline = time.monotonic() + 12
            while time.monotonic() < deadline:
                rc = http(
                    "GET",
                    f"{base}/probe/rc",
                    headers={"X-Forwarded-For": BLOCKED_IP, "User-Agent": "conformance/1"},
                )
                if rc.status == 403:
                    break
                time.sleep(0.5)
            paths = ["/probe/detect", "/api/items", "/probe/control"]
            if login is not None:
                paths.append("/login")
            roots = wait_root_spans(agent, service, paths)
    finally:
        agent.clear_remote_config()

    span = roots["/probe/detect"]
    rules, where = appsec_triggers(span)
    event = str(_tags(span).get("appsec.event", "")).lower() == "true"
    outcome.observations.append(
        Observation(
            "threat_detection",
            CHECKS[0][1],
            event and bool(rules),
            f"HTTP {detect.status}; appsec.event={'true' if event else 'absent'}; "
            + (f"rules {', '.join(rules)} in {where}" if rules else "no trigger")
            + ("" if span else " (no trace)"),
        )
    )
    assert rc is not None
    outcome.observations.append(
        Observation(
            "threat_protection",
            CHECKS[2][1],
            rc.status == 403 and control.status == 200,
            f"HTTP {rc.status} for X-Forwarded-For {BLOCKED_IP}, {control.status} without",
        )
    )
    a = _tags(roots["/api/items"])
    schema = sorted(k for k in a if k.startswith("_dd.appsec.s.req."))
    outcome.observations.append(
        Observation(
            "api_security",
            CHECKS[4][1],
            bool(schema),
            f"HTTP {api.status}; "
            + (", ".join(schema) if schema else "no _dd.appsec.s.req.* tag")
            + ("" if roots["/api/items"] else " (no trace)"),
        )
    )
    if login is not None:
        lg = _tags(roots["/login"])
        keys = sorted(
            k
            for k in lg
            if k.startswith(("appsec.events.users.login.", "_dd.appsec.events.users.login."))
        )
        outcome.observations.append(
            Observation(
                "user_event_tracking",
                CHECKS[5][1],
                any(".success." in k for k in keys),
                f"HTTP {login.status}; "
                + (", ".join(keys) if keys else "no appsec.events.users.login.* tag"),
            )
        )
    else:
        outcome.observations.append(
            Observation("user_event_tracking", "no automatic login tracking in Flask", None, "")
        )

    # Boot 2: a custom rules file with a blocking rule, and a custom blocked response.
    service = f"conf-{tag}-rules"
    env = {
        "DD_APPSEC_RULES": str(APPS / "rules.json"),
        "DD_APPSEC_HTTP_BLOCKED_TEMPLATE_JSON": str(APPS / "blocked.json"),
        "DD_REMOTE_CONFIGURATION_ENABLED": "false",
    }
    with booted_app(venv, framework, agent, service, env) as base:
        blocked = http(
            "GET",
            f"{base}/probe/block",
            headers={"User-Agent": BLOCK_UA, "Accept": "application/json"},
        )
        passed = http("GET", f"{base}/probe/pass", headers={"User-Agent": "conformance/1"})
    outcome.observations.insert(
        1,
        Observation(
            "threat_protection",
            CHECKS[1][1],
            blocked.status == 403 and passed.status == 200,
            f"HTTP {blocked.status} for the marked user agent, {passed.status} without",
        ),
    )
    rc_off_local_rules(outcome, blocked, passed)
    custom = blocked.status == 403 and blocked.json() == CUSTOM_BODY
    outcome.observations.insert(
        3,
        Observation(
            "custom_blocking_response",
            CHECKS[3][1],
            custom,
            f"HTTP {blocked.status}, body {blocked.body[:60].decode('utf-8', 'replace')!r}",
        ),
    )
    return outcome


def run_release(
    release: Release, agent: TestAgent, frameworks: Sequence[str] = FRAMEWORKS
) -> List[Outcome]:
    venv = release_venv(release)
    return [run_release_framework(release, venv, fw, agent) for fw in frameworks]


# --- the widened rows: Remote Configuration off, activation, SCA, Code Security, Lambda, edges --

#: Releases on both sides of each AWS Lambda exclusion of the supplement (deployment_exclusions),
#: and the newest.
LAMBDA_RELEASES = ("2.19.3", "2.19.4", "3.8.1", "3.9.0", "3.10.4", "3.11.0", NEWEST)
#: Releases whose DD_APPSEC_ENABLED x Remote Configuration matrix is run (Flask).
ACTIVATION_RELEASES = ("1.19.0", "2.6.0", NEWEST)
#: (ddtrace, framework==version, DD_TRACE_SAFE_INSTRUMENTATION_ENABLED) at the edges of
#: framework_integrations in the supplement, both sides of each.
EDGES = (
    ("1.9.0", "flask==2.3.3", False),
    ("1.9.7", "flask==2.3.3", False),
    (NEWEST, "flask==1.1.2", True),
    (NEWEST, "flask==1.1.4", True),
    (NEWEST, "flask==1.1.2", False),
    (NEWEST, "django==2.2.7", True),
    (NEWEST, "django==2.2.8", True),
)
#: (ddtrace, Python) for Code Security on both sides of a Python limit: ddtrace before 2.4
#: runs IAST below Python 3.12 only (ddtrace 2.3.0: ddtrace/appsec/_iast/_utils.py).
IAST_STACKS = (("2.3.0", "3.11"), ("2.3.0", "3.12"))
_OLD_FLASK = ("werkzeug<2", "jinja2<3", "itsdangerous<2", "markupsafe<2.1", "click<8")

RC_OFF_LOCAL = (
    "local rules file (DD_APPSEC_RULES), on_match block, "
    "Remote Configuration off (DD_REMOTE_CONFIGURATION_ENABLED=false)"
)


def lambda_venv(release: str) -> Venv:
    reqs = [f"ddtrace=={release}", "flask==3.0.3", "werkzeug==3.0.6", "awslambdaric"]
    return ensure_venv(f"lambda-ddtrace-{release}", ("3.12", "3.11"), reqs)


def iast_venv(release: str, python: str) -> Venv:
    reqs = [f"ddtrace=={release}", "flask==3.0.3", "werkzeug==3.0.6", "wrapt"]
    return ensure_venv(f"iast-ddtrace-{release}", (python,), reqs)


def edge_venv(release: str, spec: str) -> Venv:
    name, version = spec.split("==")
    if name == "django":  # Django 2.2 runs up to Python 3.9
        reqs = [f"ddtrace=={release}", spec]
        return ensure_venv(f"edge-ddtrace-{release}-django-{version}", ("3.9",), reqs)
    if version.startswith("1."):  # Flask 1.x with the dependencies of its time, on Python 3.9
        reqs = [f"ddtrace=={release}", spec, *_OLD_FLASK]
        return ensure_venv(f"edge-ddtrace-{release}-flask-{version}", ("3.9",), reqs)
    reqs = [f"ddtrace=={release}", spec, "werkzeug==2.3.8"]
    return ensure_venv(f"edge-ddtrace-{release}-flask-{version}", ("3.10", "3.11"), reqs)


def _outcome(release: Release, venv: Venv, framework: str, section: str) -> Outcome:
    return Outcome(
        release=release.ddtrace if isinstance(release, Release) else str(release),
        framework=framework,
        python=venv.python_minor,
        framework_version=venv.version_of(framework),
        ddtrace_version=venv.version_of("ddtrace"),
        section=section,
    )


def rc_off_local_rules(outcome: Outcome, blocked: Response, passed: Response) -> None:
    """The rules-file boot runs with Remote Configuration off: the guard's verdict for that."""
    caps = guard_check(
        outcome.ddtrace_version,
        f"{outcome.framework}=={outcome.framework_version}",
        outcome.python,
        remote_config="disabled",
        env={
            "DD_APPSEC_ENABLED": "true",
            "DD_REMOTE_CONFIGURATION_ENABLED": "false",
            "DD_APPSEC_RULES": str(APPS / "rules.json"),
        },
    )
    outcome.observations.append(
        Observation(
            "threat_protection",
            RC_OFF_LOCAL,
            blocked.status == 403 and passed.status == 200,
            f"HTTP {blocked.status} for the marked user agent, {passed.status} without",
            guard=verdict_of(caps["threat_protection"]),
        )
    )


def _event_seen(agent: TestAgent, service: str) -> Tuple[bool, str]:
    for span in agent.spans(service):
        if span.get("parent_id") not in (0, None):
            continue
        rules, where = appsec_triggers(span)
        if rules:
            return True, f"rules {', '.join(rules)} in {where}"
    return False, "no AppSec event"


def run_activation(release: str, venv: Venv, agent: TestAgent, agent_no_rc: TestAgent) -> Outcome:
    """DD_APPSEC_ENABLED unset/false/true x an Agent with and without Remote Configuration.
    With it, the test agent serves ASM_FEATURES ``asm.enabled=true`` (remote activation)."""
    outcome = _outcome(Release(release, (), (), ()), venv, "flask", "activation")
    tag = release.replace(".", "-")
    for appsec in (None, "false", "true"):
        for rc_agent in (agent, agent_no_rc):
            rc = rc_agent.remote_config
            service = f"conf-{tag}-act-{appsec or 'unset'}-{'rc' if rc else 'norc'}"
            env: Dict[str, Optional[str]] = {"DD_APPSEC_ENABLED": appsec}
            if rc:
                rc_agent.set_remote_config(
                    "datadog/2/ASM_FEATURES/conformance-activation/config",
                    {"asm": {"enabled": True}},
                )
            try:
                with booted_app(venv, "flask", rc_agent, service, env) as base:
                    # Remote activation comes on the tracer's poll: retry for a bounded time.
                    deadline = time.monotonic() + (10 if rc else 3)
                    seen, detail, sent = False, "", 0
                    while not seen:
                        sent += 1
                        http("GET", f"{base}/probe/act{sent}", headers={"User-Agent": SCANNER_UA})
                        time.sleep(0.7)
                        seen, detail = _event_seen(rc_agent, service)
                        if time.monotonic() > deadline:
                            break
            finally:
                if rc:
                    rc_agent.clear_remote_config()
            guard = guard_check(
                outcome.ddtrace_version,
                f"flask=={outcome.framework_version}",
                outcome.python,
                remote_config=None,
                env={"DD_APPSEC_ENABLED": appsec, "DD_TRACE_AGENT_URL": rc_agent.url},
            )
            how = f"DD_APPSEC_ENABLED={appsec or 'unset'}; Agent " + (
                "with Remote Configuration, ASM_FEATURES asm.enabled=true served"
                if rc
                else "without Remote Configuration (/v0.7/config not in /info)"
            )
            td = guard["threat_detection"]
            outcome.observations.append(
                Observation(
                    "threat_detection",
                    how,
                    seen,
                    f"{sent} scanner requests; {detail}; the guard: "
                    + ("requested" if td.get("requested") else "not requested"),
                    guard=verdict_of(td),
                )
            )
    return outcome


def _dependencies(events: List[Dict[str, Any]]) -> Tuple[Dict[str, str], Dict[str, Any]]:
    deps: Dict[str, str] = {}
    config: Dict[str, Any] = {}
    for event in events:
        payload = event.get("payload") or {}
        if not isinstance(payload, dict):
            continue
        for dep in payload.get("dependencies") or []:
            if isinstance(dep, dict) and dep.get("name"):
                deps[str(dep["name"]).lower()] = str(dep.get("version", ""))
        for item in payload.get("configuration") or []:
            name = str(item.get("name", "")) if isinstance(item, dict) else ""
            if name.upper() in ("DD_APPSEC_SCA_ENABLED", "APPSEC_SCA_ENABLED"):
                config[str(item["name"])] = item.get("value")
    return deps, config


def run_sca(release: Release, venv: Venv, agent: TestAgent) -> Outcome:
    """DD_APPSEC_SCA_ENABLED=true with instrumentation telemetry on, then off: SCA is the
    dependency list ddtrace reports in its telemetry (app-started / app-dependencies-loaded)."""
    outcome = _outcome(release, venv, "flask", "sca")
    tag = release.ddtrace.replace(".", "-")
    for telemetry in (None, "false"):
        service = f"conf-{tag}-sca-{'off' if telemetry else 'on'}"
        env = {
            "DD_APPSEC_SCA_ENABLED": "true",
            "DD_INSTRUMENTATION_TELEMETRY_ENABLED": telemetry,
            "DD_TELEMETRY_HEARTBEAT_INTERVAL": "1",
        }
        how = "DD_APPSEC_SCA_ENABLED=true, telemetry " + (
            "off (DD_INSTRUMENTATION_TELEMETRY_ENABLED=false)" if telemetry else "on (default)"
        )
        guard = verdict_of(
            guard_check(
                outcome.ddtrace_version,
                f"flask=={outcome.framework_version}",
                outcome.python,
                env={"DD_APPSEC_ENABLED": "true", **env},
            )["sca"]
        )
        try:
            with booted_app(venv, "flask", agent, service, env) as base:
                http("GET", f"{base}/probe/sca")
                time.sleep(2.5)  # two heartbeats
        except SetupError as exc:
            outcome.observations.append(
                Observation("sca", how, None, f"the app did not start: {exc}", guard=guard)
            )
            continue
        deps, config = _dependencies(agent.telemetry(service))
        seen = "flask" in deps
        detail = (
            f"{len(deps)} dependencies in telemetry, flask {deps['flask']} among them"
            if seen
            else f"{len(deps)} dependencies in telemetry"
        )
        if config:
            detail += "; " + ", ".join(f"{k}={v}" for k, v in sorted(config.items()))
        outcome.observations.append(Observation("sca", how, seen, detail, guard=guard))
    return outcome


def iast_vulnerabilities(span: Optional[Dict[str, Any]]) -> List[str]:
    """Vulnerability types of the IAST report on a span: the ``_dd.iast.json`` tag, or the
    ``iast`` entry of ``meta_struct``."""
    if not span:
        return []
    report: Any = None
    raw = span.get("meta", {}).get("_dd.iast.json")
    if raw:
        try:
            report = json.loads(raw)
        except ValueError:
            report = None
    if report is None:
        report = (span.get("meta_struct") or {}).get("iast")
    if not isinstance(report, dict):
        return []
    return sorted(
        {str(v.get("type")) for v in report.get("vulnerabilities", []) if isinstance(v, dict)}
    )


def run_code_security(release: Release, venv: Venv, agent: TestAgent) -> Outcome:
    """DD_IAST_ENABLED=true and the deliberately vulnerable views (apps/vulnerable.py)."""
    outcome = _outcome(release, venv, "flask", "code_security")
    service = f"conf-{release.ddtrace.replace('.', '-')}-iast"
    env = {
        "DD_IAST_ENABLED": "true",
        "DD_IAST_REQUEST_SAMPLING": "100",
        "DD_IAST_DEDUPLICATION_ENABLED": "false",
        "DD_IAST_VULNERABILITIES_PER_REQUEST": "10",
    }
    guard = verdict_of(
        guard_check(
            outcome.ddtrace_version,
            f"flask=={outcome.framework_version}",
            outcome.python,
            env={"DD_APPSEC_ENABLED": "true", **env},
        )["code_security"]
    )
    how = "DD_IAST_ENABLED=true; query parameter into sqlite3 SQL and a shell command"
    try:
        with booted_app(venv, "flask", agent, service, env) as base:
            sqli = http("GET", f"{base}/iast/sqli?name=widget")
            cmdi = http("GET", f"{base}/iast/cmdi?word=hello")
            roots = wait_root_spans(agent, service, ["/iast/sqli", "/iast/cmdi"])
    except SetupError as exc:
        outcome.observations.append(
            Observation("code_security", how, False, f"the app did not start: {exc}", guard=guard)
        )
        return outcome
    found = sorted(
        set(iast_vulnerabilities(roots["/iast/sqli"]))
        | set(iast_vulnerabilities(roots["/iast/cmdi"]))
    )
    outcome.observations.append(
        Observation(
            "code_security",
            how,
            # working means reported while the app still answers (ddtrace 2.3.0 on Python 3.12
            # reports the SQL injection but breaks every response: HTTP 500, a TypeError)
            bool({"SQL_INJECTION", "COMMAND_INJECTION"} & set(found))
            and sqli.status == 200
            and cmdi.status == 200,
            (
                f"HTTP {sqli.status}/{cmdi.status}; "
                if sqli.status and cmdi.status
                else "the app died on the request (no answer, no trace); "
            )
            + (f"vulnerabilities {', '.join(found)}" if found else "no IAST report")
            + ("" if all(roots.values()) else " (no trace)"),
            guard=guard,
        )
    )
    return outcome


def run_edge(release: str, spec: str, safe: bool, agent: TestAgent) -> Outcome:
    """Threat detection at an edge of framework_integrations: the app boots, or fails."""
    framework, version = spec.split("==")
    venv = edge_venv(release, spec)
    outcome = _outcome(Release(release, (), (), ()), venv, framework, "framework edge")
    env = {"DD_TRACE_SAFE_INSTRUMENTATION_ENABLED": "true"} if safe else {}
    caps = guard_check(
        outcome.ddtrace_version,
        spec,
        venv.python_minor,
        env={"DD_APPSEC_ENABLED": "true", **env},
    )
    outcome.guard = {cap: verdict_of(v) for cap, v in caps.items()}
    service = (
        f"conf-{release.replace('.', '-')}-edge-{framework}-{version.replace('.', '-')}-{int(safe)}"
    )
    how = f"ddtrace-run with this {framework.capitalize()}" + (
        ", DD_TRACE_SAFE_INSTRUMENTATION_ENABLED=true" if safe else ""
    )
    how += "; scanner user agent, default rules"
    try:
        with booted_app(venv, framework, agent, service, env) as base:
            resp = http("GET", f"{base}/probe/detect", headers={"User-Agent": SCANNER_UA})
            span = wait_root_spans(agent, service, ["/probe/detect"])["/probe/detect"]
    except SetupError:
        outcome.observations.append(
            Observation(
                "threat_detection", how, False, "the app failed: " + log_tail(agent, service, 1)
            )
        )
        return outcome
    rules, where = appsec_triggers(span)
    outcome.observations.append(
        Observation(
            "threat_detection",
            how,
            bool(rules),
            f"app booted; HTTP {resp.status}; "
            + (f"rules {', '.join(rules)} in {where}" if rules else "no trigger"),
        )
    )
    return outcome


def _apigw(
    path: str,
    *,
    method: str = "GET",
    headers: Optional[Dict[str, str]] = None,
    body: Optional[str] = None,
    query: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    """An API Gateway REST (payload 1.0) proxy event."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Host": "conformance.example", **(headers or {})},
        "queryStringParameters": query,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {
            "identity": {"sourceIp": "203.0.113.9"},
            "httpMethod": method,
            "path": path,
            "stage": "prod",
        },
    }


def invoke_lambda(
    venv: Venv,
    agent: TestAgent,
    service: str,
    extra_env: Mapping[str, Optional[str]],
    events: List[Dict[str, Any]],
) -> List[Optional[Dict[str, Any]]]:
    """Run ``ddtrace-run python -m awslambdaric lambda_app.handler`` against the loopback
    Runtime API, invoke it once per event; the handler's answers (None where none came)."""
    from helpers.lambda_runtime_api import RuntimeAPI

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "PYTHON", "AWS_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(_QUIET)
    log_path = agent.log_path.parent / f"{service}.log"
    with RuntimeAPI(events, idle_timeout=60) as api:
        env.update(
            {
                "DD_TRACE_AGENT_URL": agent.url,  # the test agent stands in for the extension
                "DD_SERVICE": service,
                "DD_APPSEC_ENABLED": "true",
                "AWS_LAMBDA_FUNCTION_NAME": service,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
                "AWS_REGION": "us-east-1",
                "AWS_LAMBDA_RUNTIME_API": api.address,
                "LAMBDA_TASK_ROOT": str(APPS),
                "_HANDLER": "lambda_app.handler",
                "PYTHONPATH": str(APPS),
                "PYTHONDONTWRITEBYTECODE": "1",
                "CONFORMANCE_PORT": "0",
            }
        )
        _apply(env, extra_env)
        cmd = [
            str(venv.bin / "ddtrace-run"),
            str(venv.bin / "python"),
            "-m",
            "awslambdaric",
            "lambda_app.handler",
        ]
        with open(log_path, "wb") as log:
            # Lambda starts the runtime in the task root (LAMBDA_TASK_ROOT)
            proc = subprocess.Popen(
                cmd, env=env, cwd=str(APPS), stdout=log, stderr=subprocess.STDOUT
            )
        try:
            api.wait_for(len(events), timeout=90)
            time.sleep(1.5)  # the writer's interval: let the last traces go out
        finally:
            _stop(proc)
        ids = [f"req-{i:04d}" for i in range(1, len(events) + 1)]
        return [api.responses.get(i) for i in ids]


def _status(answer: Optional[Dict[str, Any]]) -> str:
    return str(answer.get("statusCode")) if isinstance(answer, dict) else "no answer"


def run_lambda(release: str, agent: TestAgent) -> Outcome:
    venv = lambda_venv(release)
    outcome = _outcome(Release(release, (), (), ()), venv, "flask", "lambda")
    tag = release.replace(".", "-")
    settings = {
        **_api_security_env(),
        "DD_IAST_ENABLED": "true",
        "DD_IAST_REQUEST_SAMPLING": "100",
        "DD_APPSEC_SCA_ENABLED": "true",
    }
    caps = guard_check(
        outcome.ddtrace_version,
        f"flask=={outcome.framework_version}",
        outcome.python,
        deployment="lambda",
        remote_config="unavailable",
        env={"DD_APPSEC_ENABLED": "true", "AWS_LAMBDA_FUNCTION_NAME": "fn", **settings},
    )
    outcome.guard = {cap: verdict_of(v) for cap, v in caps.items()}

    # Invocation set 1: default rules, API Security, Code Security, SCA telemetry.
    service = f"conf-{tag}-lambda"
    answers = invoke_lambda(
        venv,
        agent,
        service,
        settings,
        [
            _apigw("/probe/detect", headers={"User-Agent": SCANNER_UA}),
            _apigw(
                "/api/items",
                method="POST",
                headers={"Content-Type": "application/json", "User-Agent": "conformance/1"},
                body=json.dumps({"name": "widget", "count": 3}),
            ),
            _apigw("/iast/sqli", query={"name": "widget"}),
        ],
    )
    roots = wait_root_spans(agent, service, ["/probe/detect", "/api/items", "/iast/sqli"], 5)
    tail = "" if any(answers) else "; the function did not answer: " + log_tail(agent, service, 2)
    rules, where = appsec_triggers(roots["/probe/detect"])
    outcome.observations.append(
        Observation(
            "threat_detection",
            "API Gateway event with the scanner user agent, default rules",
            bool(rules),
            f"answer {_status(answers[0])}; "
            + (f"rules {', '.join(rules)} in {where}" if rules else "no AppSec event")
            + ("" if roots["/probe/detect"] else " (no trace)")
            + tail,
        )
    )
    schema = sorted(k for k in _tags(roots["/api/items"]) if k.startswith("_dd.appsec.s.req."))
    outcome.observations.append(
        Observation(
            "api_security",
            CHECKS[4][1],
            bool(schema),
            f"answer {_status(answers[1])}; "
            + (", ".join(schema) if schema else "no _dd.appsec.s.req.* tag"),
        )
    )
    vulns = iast_vulnerabilities(roots["/iast/sqli"])
    outcome.observations.append(
        Observation(
            "code_security",
            "DD_IAST_ENABLED=true; query parameter into sqlite3 SQL",
            "SQL_INJECTION" in vulns,
            f"answer {_status(answers[2])}; "
            + (f"vulnerabilities {', '.join(vulns)}" if vulns else "no IAST report"),
        )
    )
    deps, _config = _dependencies(agent.telemetry(service))
    outcome.observations.append(
        Observation(
            "sca",
            "DD_APPSEC_SCA_ENABLED=true; dependencies in telemetry",
            "flask" in deps,
            f"{len(deps)} dependencies in telemetry",
        )
    )

    # Invocation set 2: a local blocking rule (Lambda has no Remote Configuration).
    service = f"conf-{tag}-lambda-rules"
    answers = invoke_lambda(
        venv,
        agent,
        service,
        {"DD_APPSEC_RULES": str(APPS / "rules.json")},
        [
            _apigw("/probe/block", headers={"User-Agent": BLOCK_UA, "Accept": "application/json"}),
            _apigw("/probe/pass", headers={"User-Agent": "conformance/1"}),
        ],
    )
    outcome.observations.append(
        Observation(
            "threat_protection",
            "local rules file (DD_APPSEC_RULES), on_match block; no Remote Configuration on Lambda",
            _status(answers[0]) == "403" and _status(answers[1]) == "200",
            f"answer {_status(answers[0])} for the marked user agent, {_status(answers[1])} without",
        )
    )
    return outcome
