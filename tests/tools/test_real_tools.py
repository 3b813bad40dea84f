"""Lock files written now by the real tools (uv, Poetry, pip-tools, pipenv, pip), and the
pre-commit hook run by the real pre-commit against a local repository.

The tools are not in the test extra: ``nox -s tools`` installs them and sets
APPSEC_GUARD_TOOLS=1, which turns a missing tool into a failure. Elsewhere a missing tool
skips its test. Resolving a lock file needs the package index.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import pytest

from tests.helpers.env import without_machine_settings

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "tests" / "fixtures" / "locks"
REQUIRED = os.environ.get("APPSEC_GUARD_TOOLS") == "1"
HOST = ["--no-probe", "--assume", "os=linux", "--assume", "arch=x86_64",
        "--assume", "deployment=kubernetes"]  # fmt: skip

pytestmark = pytest.mark.slow


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if REQUIRED:
            pytest.fail(f"{name} is not installed (nox -s tools installs it)")
        pytest.skip(f"{name} is not installed (nox -s tools runs this test)")
    return path


def run(args: List[str], cwd: Path, env: Optional[Mapping[str, str]] = None) -> str:
    res = subprocess.run(
        args, cwd=str(cwd), env=dict(env or tool_env()), capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert res.returncode == 0, f"{args[0]} failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def tool_env() -> Dict[str, str]:
    return without_machine_settings(os.environ)


def judge_lock(path: Path, *args: str) -> Any:
    res = subprocess.run(
        [sys.executable, "-m", "appsec_guard", "check", *HOST, "--format", "json",
         "--lock", str(path), *args],
        env=tool_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout)


def assert_locked(doc: Any, framework: str, version: str, python_in_file: bool = True) -> None:
    stack = doc["stack"]
    assert stack["ddtrace"] == "2.9.0"
    assert stack["framework"] == {"name": framework, "version": version}
    ev = {e["fact"]: e["source"] for e in stack["evidence"]}
    assert ev["ddtrace"].startswith("lock file") and ev["framework"].startswith("lock file")
    assert ev["python"].startswith("lock file") is python_in_file


def test_uv_lock_and_its_pylock_export(tmp_path: Path) -> None:
    uv = tool("uv")
    shutil.copy(LOCKS / "uv.pyproject.toml", tmp_path / "pyproject.toml")
    run([uv, "lock", "--quiet"], tmp_path)
    run([uv, "export", "--quiet", "--format", "pylock.toml", "-o", "pylock.toml"], tmp_path)
    for name in ("uv.lock", "pylock.toml"):
        doc = judge_lock(tmp_path / name)
        assert_locked(doc, "django", "4.2.16")
        assert doc["stack"]["python"]["version"] == "3.11.0"  # requires-python >=3.11


def test_pip_lock_writes_a_pylock_too(tmp_path: Path) -> None:
    probe = subprocess.run([sys.executable, "-m", "pip", "lock", "--help"],
                           capture_output=True, text=True, check=False)  # fmt: skip
    if probe.returncode != 0:
        if REQUIRED:
            pytest.fail("this pip has no 'pip lock' (pip 25.1 or newer has it)")
        pytest.skip("this pip has no 'pip lock'")
    run([sys.executable, "-m", "pip", "lock", "--quiet", "ddtrace==2.9.0", "flask==3.0.3",
         "-o", "pylock.toml"], tmp_path)  # fmt: skip
    # pip writes no requires-python: the Python is this one, detected
    assert_locked(judge_lock(tmp_path / "pylock.toml"), "flask", "3.0.3", python_in_file=False)


def test_poetry_lock(tmp_path: Path) -> None:
    poetry = tool("poetry")
    shutil.copy(LOCKS / "poetry.pyproject.toml", tmp_path / "pyproject.toml")
    run([poetry, "lock", "--no-interaction"], tmp_path)
    doc = judge_lock(tmp_path / "poetry.lock", "--require", "api_security")
    assert_locked(doc, "flask", "3.0.3")
    assert doc["stack"]["python"]["version"] == "3.10.0"  # >=3.10,<3.13: the lowest
    assert doc["capabilities"]["api_security"]["status"] == "supported"


def test_pip_compile_with_hashes_and_an_include(tmp_path: Path) -> None:
    pip_compile = tool("pip-compile")
    shutil.copy(LOCKS / "requirements.in", tmp_path / "requirements.in")
    run([pip_compile, "--quiet", "--generate-hashes", "--strip-extras", "--no-emit-index-url",
         "--output-file", "requirements.txt", "requirements.in"], tmp_path)  # fmt: skip
    text = (tmp_path / "requirements.txt").read_text()
    assert "--hash=sha256:" in text
    top = tmp_path / "requirements-prod.txt"
    top.write_text("-r requirements.txt\n")
    doc = judge_lock(top)
    assert_locked(doc, "flask", "3.0.3")
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert doc["stack"]["python"]["version"] == running  # the pip-compile header's Python


def test_pipenv_lock(tmp_path: Path) -> None:
    pipenv = tool("pipenv")
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    text = (LOCKS / "Pipfile").read_text().replace('python_version = "3.11"',
                                                   f'python_version = "{running}"')  # fmt: skip
    (tmp_path / "Pipfile").write_text(text)
    env = {**tool_env(), "PIPENV_VENV_IN_PROJECT": "1", "PIPENV_IGNORE_VIRTUALENVS": "1",
           "PIPENV_PYTHON": sys.executable, "PIPENV_NOSPIN": "1"}  # fmt: skip
    env.pop("VIRTUAL_ENV", None)
    run([pipenv, "lock"], tmp_path, env)
    doc = judge_lock(tmp_path / "Pipfile.lock")
    assert_locked(doc, "django", "4.2.16")  # the develop section's Flask is not deployed
    assert doc["stack"]["python"]["version"] == running


def test_pre_commit_hook_on_a_local_repository(tmp_path: Path) -> None:
    pre_commit = tool("pre-commit")
    git = tool("git")
    rev = run([git, "rev-parse", "HEAD"], ROOT).strip()
    hooks = run([git, "show", f"{rev}:.pre-commit-hooks.yaml"], ROOT)
    assert "id: appsec-guard-lock" in hooks, "commit .pre-commit-hooks.yaml first"
    repo = tmp_path / "app"
    (repo / "services" / "legacy").mkdir(parents=True)
    shutil.copy(LOCKS / "uv.lock", repo / "uv.lock")
    (repo / "services" / "legacy" / "requirements.txt").write_text(
        "ddtrace==1.18.3\nflask==3.0.3\n"
    )
    (repo / "notes.txt").write_text("ddtrace>=1\n")  # not a lock file: not checked
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT}\n  rev: {rev}\n  hooks:\n  - id: appsec-guard-lock\n"
        "    args: [--require, api_security, --assume, deployment=kubernetes]\n"
    )
    env = {**tool_env(), "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}  # fmt: skip
    run([git, "init", "-q"], repo, env)
    run([git, "add", "-A"], repo, env)

    res = subprocess.run([pre_commit, "run", "--all-files"], cwd=str(repo), env=env,
                         capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "== services/legacy/requirements.txt" in out and "== uv.lock" in out
    assert "FAIL: requested or required capabilities will not work: api_security" in out
    assert "notes.txt" not in out

    run([git, "rm", "-q", "-f", "services/legacy/requirements.txt"], repo, env)
    res = subprocess.run([pre_commit, "run", "--all-files"], cwd=str(repo), env=env,
                         capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Passed" in res.stdout
