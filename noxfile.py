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
    session.run("ruff", "check", "src", "tests", "demo_apps", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "demo_apps", "noxfile.py")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    session.install("mypy>=1.8", "-e", ".")
    session.run("mypy")


@nox.session(python="3.11")
def demo(session: nox.Session) -> None:
    """Every demo scenario (demo_apps/) in warn and strict mode, each checked against the
    outcome the README documents: exit status, finding ids in the logs, the HTTP answer."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "demo_apps.run", "--all", *session.posargs)
