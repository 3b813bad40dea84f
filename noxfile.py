"""Sessions: tests on every CPython 3.8-3.13 found, lint, typecheck.

Interpreters are found on PATH and under ~/.pyenv/versions/; a missing one is skipped with a
message, never an error.
"""

from __future__ import annotations

import glob
import os

import nox

PYTHONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = False
nox.options.reuse_existing_virtualenvs = True
# The stdlib venv of each interpreter: current virtualenv releases no longer seed pip into 3.8.
nox.options.default_venv_backend = "venv"


def _add_pyenv_to_path() -> None:
    """Let nox find pyenv's interpreters as python3.X. They go first on PATH: pyenv's shims
    answer only for the active version and would shadow the others."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = []
    for version in PYTHONS:
        candidates = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin")))
        if candidates:
            found.append(candidates[-1])
    if found:
        os.environ["PATH"] = os.pathsep.join(
            [*found, *os.environ.get("PATH", "").split(os.pathsep)]
        )


_add_pyenv_to_path()


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The unit and integration suite."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.4")
    session.run("ruff", "check", "src", "tests", "demo_apps", "benchmarks", "noxfile.py")
    session.run(
        "ruff", "format", "--check", "src", "tests", "demo_apps", "benchmarks", "noxfile.py"
    )


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    # Flask (and click) and pytest ship type hints that the Flask extension and the pytest
    # plugin are checked against.
    session.install("mypy>=1.8", "-e", ".", "flask", "pytest")
    session.run("mypy")


@nox.session(python="3.11")
def demo(session: nox.Session) -> None:
    """Every demo scenario (demo_apps/) in warn and strict mode, each checked against the
    outcome the README documents: exit status, finding ids in the logs, the HTTP answer."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "demo_apps.run", "--all", *session.posargs)


# --- the real version matrix and the conformance suite ----------------------------------------

_NO_DDTRACE_PYTEST = [
    "-p",
    "no:ddtrace",
    "-p",
    "no:ddtrace.pytest_bdd",
    "-p",
    "no:ddtrace.pytest_benchmark",
]

# (python, pip requirements, expected "name==series"): each framework release on a Python it supports.
FRAMEWORK_MATRIX = [
    ("3.8", ["django==2.2.28"], "django==2.2"),
    ("3.9", ["django==3.1.14"], "django==3.1"),  # not covered by user tracking
    ("3.9", ["django==3.2.25"], "django==3.2"),
    ("3.11", ["django==4.2.16"], "django==4.2"),
    ("3.12", ["django>=5,<6"], "django==5"),
    ("3.8", ["flask==1.1.4", "werkzeug<2", "jinja2<3", "itsdangerous<2", "markupsafe<2.1", "click<8"], "flask==1.1"),
    ("3.10", ["flask>=2,<3", "werkzeug<3"], "flask==2"),
    ("3.13", ["flask>=3,<4"], "flask==3"),
]  # fmt: skip


# venv, not virtualenv: the installed virtualenv can no longer seed Python 3.8 environments.
@nox.session(venv_backend="venv")
@nox.parametrize(
    "python,requirements,expected",
    FRAMEWORK_MATRIX,
    ids=[e.replace("==", "-") for _, _, e in FRAMEWORK_MATRIX],
)
def frameworks(session: nox.Session, requirements: list, expected: str) -> None:
    """Framework detection and version verdicts on real Django/Flask installs."""
    session.install("-e", ".", "pytest", *requirements)
    session.run(
        "pytest", "-q", *_NO_DDTRACE_PYTEST, "tests/matrix_env/test_frameworks.py", *session.posargs,
        env={"APPSEC_GUARD_EXPECT_FRAMEWORK": expected},
    )  # fmt: skip


# (python, ddtrace release or "newest"): wheels exist for 1.x on 3.8-3.11, 2.6 on 3.8-3.12, 4.x on 3.9+.
DDTRACE_MATRIX = [
    ("3.8", "1.9.0"),
    ("3.9", "1.10.0"),
    ("3.10", "1.17.0"),
    ("3.11", "1.19.0"),
    ("3.12", "2.6.0"),
    ("3.13", "newest"),
]


@nox.session(venv_backend="venv")
@nox.parametrize("python,release", DDTRACE_MATRIX, ids=[r for _, r in DDTRACE_MATRIX])
def ddtrace(session: nox.Session, release: str) -> None:
    """ddtrace version detection and verdicts on real ddtrace installs."""
    spec = "ddtrace" if release == "newest" else f"ddtrace=={release}"
    session.install("--only-binary=ddtrace", spec, "-e", ".", "pytest")
    version = session.run(
        "python", "-c", "import importlib.metadata as m; print(m.version('ddtrace'))",
        silent=True,
    )  # fmt: skip
    expected = str(version).strip().splitlines()[-1]
    if release != "newest" and expected != release:
        session.error(f"asked for ddtrace {release}, pip installed {expected}")
    session.run(
        "pytest", "-q", *_NO_DDTRACE_PYTEST, "tests/matrix_env/test_ddtrace.py", *session.posargs,
        env={"APPSEC_GUARD_EXPECT_DDTRACE": expected},
    )  # fmt: skip


@nox.session(python="3.11")
def conformance(session: nox.Session) -> None:
    """Real ddtrace releases x Flask/Django x capabilities, against ddapm-test-agent.

    ``nox -s conformance`` runs every section (Docker, activation, SCA, Code Security, AWS
    Lambda, framework edges) and release, and writes docs/conformance.md (``-- --section NAME``
    or ``-- --release X`` narrow it); ``nox -s conformance -- --newest-only`` runs the pytest
    slice (newest ddtrace, every section but the edges) for CI.
    Virtualenvs per release are kept under .nox/conformance-envs (CONFORMANCE_CACHE).
    """
    session.install("-e", ".", "pytest")
    args = list(session.posargs)
    if "--newest-only" in args:
        args.remove("--newest-only")
        session.run(
            "pytest", "-q", "-m", "conformance", "tests/conformance", *args,
            env={"APPSEC_GUARD_CONFORMANCE": "1"},
        )  # fmt: skip
    else:
        session.run(
            "python",
            "tests/conformance/run_conformance.py",
            "--write",
            "docs/conformance.md",
            *args,
        )


@nox.session(python="3.11")
def tools(session: nox.Session) -> None:
    """Lock files written now by the real uv, Poetry, pip-tools, pipenv and pip (``pip lock``),
    judged by ``check --lock``; the pre-commit hook run by the real pre-commit."""
    session.install("pip>=25.1")
    session.install("-e", ".", "pytest", "uv", "poetry", "pip-tools", "pipenv", "pre-commit")
    session.run(
        "pytest", "-q", *_NO_DDTRACE_PYTEST, "tests/tools", *session.posargs,
        env={"APPSEC_GUARD_TOOLS": "1"},
    )  # fmt: skip


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Boot cost: writes docs/performance.md (not part of the default sessions).

    40 interleaved runs per command by default; `nox -s bench -- --runs 30` for fewer. Run it on
    a quiet machine: the verdicts are medians of CPU time, the report shows the spread."""
    session.install(".", "ddtrace", "flask", "django", "ddapm-test-agent")
    session.run("python", "benchmarks/boot.py", *session.posargs)
