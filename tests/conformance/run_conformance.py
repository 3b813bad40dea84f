"""Run the conformance table: each ddtrace release x framework x capability.

    python tests/conformance/run_conformance.py                  # every release, print the table
    python tests/conformance/run_conformance.py --write docs/conformance.md
    python tests/conformance/run_conformance.py --release 2.6.0 --framework flask

Exit status: 0 when no capability the guard calls ``supported`` went unobserved, 1 otherwise,
2 when an environment could not be built.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))

import confkit


def _mark(observed: Any) -> str:
    return {True: "observed", False: "not observed", None: "not exercised"}[observed]


def table(rows: List[Dict[str, Any]]) -> str:
    head = "| ddtrace | Python | framework | capability | exercised by | guard | observed | agreement | evidence |"
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {r['release']} | {r['python']} | {r['framework']} | {r['capability']} | "
            f"{r['mechanism']} | {r['guard']} | {_mark(r['observed'])} | {r['agreement']} | "
            f"{r['evidence'].replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"


SECTIONS = (
    (
        "docker",
        "Docker: Remote Configuration on, DD_APPSEC_ENABLED=true",
        "The guard is asked with `--assume deployment=docker --assume remote_config=enabled` and "
        '`DD_APPSEC_ENABLED=true`, except the row marked "Remote Configuration off", which is '
        "asked with the rules-file boot's own settings (`DD_REMOTE_CONFIGURATION_ENABLED=false`).",
    ),
    (
        "activation",
        "Activation: DD_APPSEC_ENABLED x Remote Configuration",
        'Flask on Docker. "With Remote Configuration" is the test agent serving an '
        '`ASM_FEATURES` config with `asm.enabled=true` (remote activation); "without" is a '
        "second test agent whose `/info` lists no `/v0.7/config` (`DD_AGENT_EXTRA_INFO`), so the "
        "tracer never polls. The guard is asked with the same `DD_APPSEC_ENABLED` and "
        "`DD_TRACE_AGENT_URL`, probing that Agent itself (no `remote_config` assumed). Observed: "
        "an AppSec event on a scanner request within 10 s (3 s without Remote Configuration).",
    ),
    (
        "sca",
        "Software Composition Analysis: dependency telemetry",
        "Flask on Docker, `DD_APPSEC_SCA_ENABLED=true`; observed when the instrumentation "
        "telemetry the test agent received (`app-started` / `app-dependencies-loaded`, "
        "`/test/session/apmtelemetry`) lists the app's dependencies with Flask among them. The "
        "guard is asked with the same `DD_*` settings.",
    ),
    (
        "code_security",
        "Code Security (IAST): a deliberately vulnerable endpoint",
        "Flask on Docker, `DD_IAST_ENABLED=true`, every request sampled; `apps/vulnerable.py` "
        "puts a query parameter into a sqlite3 SQL statement and a shell command. Observed when "
        "the request's span carries an IAST report (`_dd.iast.json`, or `iast` in `meta_struct`) "
        "with `SQL_INJECTION` or `COMMAND_INJECTION`. ddtrace 2.3.0 runs on Python 3.11 and 3.12, "
        "both sides of the Python limit of IAST before 2.4. The app runs in its own directory: "
        "IAST instruments only first-party modules, and tells them by it.",
    ),
    (
        "lambda",
        "AWS Lambda: ddtrace inside awslambdaric",
        "`ddtrace-run python -m awslambdaric lambda_app.handler` against the suite's loopback "
        "Runtime API (`tests/helpers/lambda_runtime_api.py`), `AWS_LAMBDA_FUNCTION_NAME` set; each "
        "invocation is an API Gateway (REST) event that the handler hands to the Flask app as a "
        "WSGI request. Traces and telemetry go to the test agent standing in for the Datadog "
        "extension (`DD_TRACE_AGENT_URL`). The guard is asked with `--assume deployment=lambda "
        "--assume remote_config=unavailable` and the same `DD_*` settings.",
    ),
    (
        "framework edge",
        "Framework edges: the framework versions a ddtrace release's integration can run",
        "Each edge of `framework_integrations` in `src/appsec_guard/data/supplement.json`, run on "
        "both sides: the release that wraps `Flask.before_first_request` with Flask 2.3.3, and the "
        "first patch release that does not (the older side, Flask 2.2.5 with ddtrace 1.9.0, is in "
        "the Docker table); the newest release with Flask 1.1.2 and 1.1.4 around the Flask>=1.1.4 "
        "its integration declares (`_supported_versions`), with "
        "`DD_TRACE_SAFE_INSTRUMENTATION_ENABLED=true` (which enforces that range) and without, "
        "and with Django 2.2.7 and 2.2.8 around its Django>=2.2.8.",
    ),
)


# Why a row is "observed anyway": (section, capability, words in the mechanism, why).
EXPLAINED = (
    (
        "docker",
        "threat_protection",
        "ASM_DATA",
        "the page's minimum for Threat Protection is 1.10.0, and 1.9.0 already blocks an IP "
        "sent through Remote Configuration: the page is conservative; the guard keeps Datadog's "
        "minimum (no support below it)",
    ),
    (
        "docker",
        "custom_blocking_response",
        "TEMPLATE_JSON",
        "the page's minimum is 1.19.0, and older releases already answer with the JSON template: "
        "the page is conservative; the guard keeps Datadog's minimum",
    ),
    (
        "docker",
        "api_security",
        "DD_API_SECURITY_ENABLED",
        "the page's minimum is 2.6.0; older releases collect schemas under the experimental "
        "setting (DD_EXPERIMENTAL_API_SECURITY_ENABLED): the page is conservative",
    ),
    (
        "",
        "threat_protection",
        "local rules file",
        "Threat Protection in the matrix is blocking driven from Datadog (IPs, users, rule "
        "updates), which needs Remote Configuration; a local DD_APPSEC_RULES file still blocks. "
        "The findings (AG500, AG501) say both",
    ),
    (
        "framework edge",
        "threat_detection",
        "scanner user agent",
        "outside the range the release declares for its integration ddtrace still patches Flask "
        "when DD_TRACE_SAFE_INSTRUMENTATION_ENABLED is off; the guard follows the declared range "
        "(Datadog's support), and with that setting on nothing is patched (the row above)",
    ),
)


def explain(row: Dict[str, Any]) -> str:
    for section, capability, words, why in EXPLAINED:
        if section and row.get("section", "docker") != section:
            continue
        if row["capability"] == capability and words in row["mechanism"]:
            return why
    return "not explained yet: a question for the matrix"


def document(rows: List[Dict[str, Any]], meta: Dict[str, str]) -> str:
    over = [r for r in rows if r["agreement"].startswith("NO")]
    anyway = [r for r in rows if r["agreement"] == "observed anyway"]
    skipped = [r for r in rows if r["observed"] is None]
    beta_yes = [r for r in rows if r["agreement"] == "yes (beta)"]
    beta_no = [r for r in rows if r["agreement"] == "beta, not observed"]
    out = [
        "# Conformance: the guard's verdicts against real ddtrace",
        "",
        "Generated by `nox -s conformance` (`python tests/conformance/run_conformance.py "
        "--write docs/conformance.md`). Each row boots a tiny app (`tests/conformance/apps/`) "
        "under `ddtrace-run` with `DD_APPSEC_ENABLED=true` and the settings of one capability, "
        "sends the requests that capability acts on, reads the spans ddtrace sent to Datadog's "
        "test agent (`ddapm-test-agent`) on 127.0.0.1, and compares with "
        "`appsec-guard check --format json --assume ddtrace=V --assume framework=FW==V "
        f"--assume python=X.Y --assume deployment={confkit.DEPLOYMENT} --assume remote_config=enabled`. "
        "The sections after the Docker table widen it: the activation matrix, SCA telemetry, Code "
        "Security, AWS Lambda under `awslambdaric`, and the framework edges; each compares with "
        "the guard under that section's own settings.",
        "",
        f"- Date: {meta['date']}",
        f"- Machine: {meta['machine']}",
        f"- Test agent: ddapm-test-agent {meta['agent']}",
        f"- Duration: {meta['duration']}",
        f"- ddtrace releases: {meta.get('releases', '?')}",
        "",
        "Agreement: `yes` (guard and tracer agree), `NO: supported but not observed` (the guard "
        "promises something the tracer did not do: a bug in the matrix or in this suite), "
        "`observed anyway` (the guard says `unsupported` because Datadog's page does not list "
        "official support, yet the tracer did it), `not exercised`; for `beta` (no promise) "
        "`yes (beta)` or `beta, not observed`. The guard column is the capability's `status`, "
        "with what the report says the settings switch on (`active`) where that is not `on`: "
        "`supported (remote)` (off at boot, Remote Configuration can switch it on: a promise, "
        "as the test agent serves the activation) and `supported (off)` (the settings leave it "
        "off: no promise).",
        "",
        "## Summary",
        "",
        f"- Rows: {len(rows)}; supported but not observed: **{len(over)}**; "
        f"unsupported but observed anyway: {len(anyway)}; not exercised: {len(skipped)}; "
        f"beta (Code Security) observed: {len(beta_yes)}, beta not observed: {len(beta_no)}.",
    ]
    if beta_no:
        out += ["", "`beta` (no promise: not generally available) and not observed:", ""]
        out += [
            f"- ddtrace {r['release']}, Python {r['python']}, {r['framework']} "
            f"({r.get('section', 'docker')}): {r['capability']}: {r['evidence']}"
            for r in beta_no
        ]
    if anyway:
        out += [
            "",
            "Observed although the guard says `unsupported` (evidence to question the matrix with):",
            "",
        ]
        out += [
            f"- ddtrace {r['release']}, {r['framework']} ({r.get('section', 'docker')}): "
            f"{r['capability']} ({r['mechanism']}): {r['evidence']}. Why: {explain(r)}."
            for r in anyway
        ]
    if over:
        out += ["", "Supported by the guard but not observed:", ""]
        out += [
            f"- ddtrace {r['release']}, {r['framework']} ({r.get('section', 'docker')}): "
            f"{r['capability']} ({r['mechanism']}): {r['evidence']}"
            for r in over
        ]
    out += [
        "",
        "How each capability is decided:",
        "",
        "- threat_detection: a request with the scanner user agent `Arachni/v1`; observed when its root span has `appsec.event=true` and the AppSec event with the triggered rule (`_dd.appsec.json` in 1.x/2.x, the `appsec` entry of `meta_struct` in 4.x).",
        "- threat_protection (rules file): `DD_APPSEC_RULES` with one rule whose `on_match` is `block`; observed when the marked request gets 403 and an unmarked one 200.",
        "- threat_protection (Remote Configuration): the test agent serves an `ASM_DATA` config that blocks one IP; observed when a request with that `X-Forwarded-For` gets 403 within 12 s while another gets 200.",
        "- custom_blocking_response: `DD_APPSEC_HTTP_BLOCKED_TEMPLATE_JSON` on the rules-file block; observed when the 403 body is the custom JSON.",
        "- api_security: `DD_API_SECURITY_ENABLED=true` with every request sampled; observed when the JSON POST's root span has `_dd.appsec.s.req.*` tags.",
        "- user_event_tracking: a successful `django.contrib.auth` login; observed when the span has `appsec.events.users.login.success.*` tags. Flask has no automatic login tracking, so it is not exercised there.",
        "",
        "Reading the table: `yes` on an `unsupported` row means the suite's request was not acted on, "
        "which is weaker evidence than a `yes` on a `supported` row (the suite may not know the "
        "setting an old release used). Remote Configuration is served by the test agent "
        "(`/test/session/responses/config/path`), so it is exercised on every release.",
        "",
        "Environment notes: ddtrace 2.5.x and 2.6.0 import `wrapt` without declaring it "
        "(`ddtrace/internal/tracemethods.py`), so their virtualenvs add it; ddtrace 2.6.0 fails at "
        "start-up with `DD_INSTRUMENTATION_TELEMETRY_ENABLED=false` (`NameError: telemetry`), so "
        "telemetry stays on and goes to the test agent. The framework pins are old enough for each "
        "release (see `RELEASES` in `tests/conformance/confkit.py`).",
        "",
        "## Versions",
        "",
        "| ddtrace | Python | Flask | Django |",
        "|---|---|---|---|",
    ]
    for v in meta["versions"]:  # type: ignore[attr-defined]
        out.append(f"| {v[0]} | {v[1]} | {v[2]} | {v[3]} |")
    for section, title, text in SECTIONS:
        part = [r for r in rows if r.get("section", "docker") == section]
        if part:
            out += ["", f"## {title}", "", text, "", table(part)]
    return "\n".join(out)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--release", action="append", default=[], help="only these ddtrace releases"
    )
    parser.add_argument("--framework", action="append", default=[], choices=confkit.FRAMEWORKS)
    parser.add_argument("--newest-only", action="store_true", help=f"only ddtrace {confkit.NEWEST}")
    parser.add_argument("--write", metavar="FILE", help="write the Markdown report here")
    parser.add_argument(
        "--section",
        action="append",
        default=[],
        choices=[s[0].replace(" ", "-") for s in SECTIONS],
        help="only these sections (default: all)",
    )
    args = parser.parse_args(argv)

    releases = list(confkit.RELEASES)
    if args.newest_only:
        releases = [r for r in releases if r.ddtrace == confkit.NEWEST]
    if args.release:
        releases = [r for r in releases if r.ddtrace in args.release]
    frameworks = args.framework or list(confkit.FRAMEWORKS)

    started = time.monotonic()
    rows: List[Dict[str, Any]] = []
    versions = []
    built_envs = 0
    try:
        agent_env = confkit.agent_venv()
    except confkit.SetupError as exc:
        print(f"conformance: cannot build the test agent: {exc}", file=sys.stderr)
        return 2
    logs = confkit.cache_dir() / "logs"  # app and agent logs of the last run, kept for reading
    logs.mkdir(exist_ok=True)
    sections = {x.replace("-", " ") for x in args.section} or {x[0] for x in SECTIONS}
    with confkit.TestAgent(agent_env, logs) as agent, confkit.TestAgent(
        agent_env, logs, remote_config=False
    ) as agent_no_rc:
        for release in releases:
            t0 = time.monotonic()
            try:
                venv = confkit.release_venv(release)
            except confkit.SetupError as exc:
                print(f"conformance: ddtrace {release.ddtrace}: {exc}", file=sys.stderr)
                return 2
            built = time.monotonic() - t0
            built_envs += built > 2  # a reused virtualenv takes well under a second
            if "docker" in sections:
                for fw in frameworks:
                    outcome = confkit.run_release_framework(release, venv, fw, agent)
                    rows.extend(outcome.rows())
            if "flask" in frameworks:
                if "sca" in sections:
                    rows.extend(confkit.run_sca(release, venv, agent).rows())
                if "code_security" in sections:
                    rows.extend(confkit.run_code_security(release, venv, agent).rows())
                if "activation" in sections and release.ddtrace in confkit.ACTIVATION_RELEASES:
                    rows.extend(
                        confkit.run_activation(release.ddtrace, venv, agent, agent_no_rc).rows()
                    )
            versions.append(
                (
                    venv.version_of("ddtrace"),
                    venv.python_minor,
                    venv.version_of("flask"),
                    venv.version_of("django"),
                )
            )
            print(
                f"ddtrace {release.ddtrace}: env {built:.0f}s, total {time.monotonic() - t0:.0f}s",
                file=sys.stderr,
                flush=True,
            )
        names = {r.ddtrace for r in releases}
        for name in confkit.LAMBDA_RELEASES:
            if "lambda" not in sections or (args.newest_only and name != confkit.NEWEST):
                continue
            if args.release and name not in args.release:
                continue
            t0 = time.monotonic()
            rows.extend(confkit.run_lambda(name, agent).rows())
            names.add(name)
            print(f"lambda {name}: {time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)
        for name, python in confkit.IAST_STACKS:
            if "code_security" not in sections or args.newest_only:
                continue
            if args.release and name not in args.release:
                continue
            venv = confkit.iast_venv(name, python)
            release = confkit.Release(name, (python,), (), ())
            rows.extend(confkit.run_code_security(release, venv, agent).rows())
            names.add(name)
        for name, spec, safe in confkit.EDGES:
            if "framework edge" not in sections or args.newest_only:
                continue
            if args.release and name not in args.release:
                continue
            rows.extend(confkit.run_edge(name, spec, safe, agent).rows())
            names.add(name)
        agent_version = agent.version
    duration = time.monotonic() - started
    print(table(rows))
    over = [r for r in rows if r["agreement"].startswith("NO")]
    print(
        f"{len(rows)} rows; supported but not observed: {len(over)}; "
        f"observed anyway: {sum(r['agreement'] == 'observed anyway' for r in rows)}; "
        f"{duration:.0f}s"
    )
    if args.write:
        meta = {
            "date": datetime.date.today().isoformat(),
            "machine": f"{platform.system()} {platform.machine()}, {__import__('os').cpu_count()} CPUs",
            "agent": agent_version,
            "duration": f"{duration / 60:.1f} min, of which {built_envs} of {len(releases)} "
            "Docker release virtualenvs were built (the rest reused)",
            "releases": str(len(names)),
            "versions": versions,
        }
        Path(args.write).write_text(document(rows, meta))  # type: ignore[arg-type]
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
