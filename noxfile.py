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


def _add_pyenv_to_path() -> None:
    """Let nox find pyenv's interpreters as python3.X without pyenv's shims."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = []
    for version in PYTHONS:
        candidates = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin")))
        if candidates:
            found.append(candidates[-1])
    if found:
        os.environ["PATH"] = os.pathsep.join(
            [*os.environ.get("PATH", "").split(os.pathsep), *found]
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
    session.run("ruff", "check", "src", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "noxfile.py")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    session.install("mypy>=1.8", "-e", ".")
    session.run("mypy")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Boot cost: writes docs/performance.md (not part of the default sessions)."""
    session.install(".", "ddtrace", "flask", "django", "ddapm-test-agent")
    session.run("python", "benchmarks/boot.py", *session.posargs)
