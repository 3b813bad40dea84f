"""``appsec-guard check --lock``: lock files written by uv, Poetry, pipenv and pip-tools
(tests/fixtures/locks/README.md), judged without installing them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from packaging.version import Version

from appsec_guard.cli import main
from appsec_guard.lockfile import LockError, lowest_python, parse, poetry_constraint, read_lock

LOCKS = Path(__file__).resolve().parent / "fixtures" / "locks"
# Facts a lock file does not state, assumed so that the verdicts do not depend on this machine.
HOST = ["--no-probe", "--assume", "os=linux", "--assume", "arch=x86_64",
        "--assume", "deployment=docker"]  # fmt: skip


def check(capsys: pytest.CaptureFixture[str], *args: str) -> Tuple[int, Any, str]:
    code = main(["check", *HOST, *args])
    captured = capsys.readouterr()
    doc = json.loads(captured.out) if "json" in args and captured.out else None
    return code, doc, captured.err


def lock_evidence(doc: Any) -> dict:
    return {e["fact"]: e for e in doc["stack"]["evidence"] if e["source"].startswith("lock file")}


@pytest.mark.parametrize(
    ("name", "framework", "python", "python_detail"),
    [
        ("uv.lock", ("django", "4.2.16"), "3.11.0", "requires-python"),
        ("pylock.toml", ("django", "4.2.16"), "3.11.0", "requires-python"),
        ("poetry.lock", ("flask", "3.0.3"), "3.10.0", "[metadata] python-versions"),
        ("Pipfile.lock", ("django", "4.2.16"), "3.11", "_meta.requires"),
        ("requirements.txt", ("flask", "3.0.3"), "3.11", "pip-compile header"),
    ],
)
def test_each_format_gives_ddtrace_framework_and_python(
    capsys: pytest.CaptureFixture[str],
    name: str,
    framework: Tuple[str, str],
    python: str,
    python_detail: str,
) -> None:
    code, doc, _ = check(capsys, "--format", "json", "--lock", str(LOCKS / name))
    assert code == 0
    stack = doc["stack"]
    assert stack["ddtrace"] == "2.9.0"
    assert (stack["framework"]["name"], stack["framework"]["version"]) == framework
    assert stack["python"]["version"] == python
    ev = lock_evidence(doc)
    assert ev["ddtrace"]["detail"] == "ddtrace==2.9.0"
    assert ev["ddtrace"]["source"] == f"lock file {LOCKS / name}"
    assert python_detail in ev["python"]["detail"]


def test_pipfile_develop_section_is_not_deployed() -> None:
    # The fixture's develop section locks Flask as well: not a second framework.
    facts = read_lock(LOCKS / "Pipfile.lock")
    assert [p.name for p in facts.frameworks] == ["django"]


def test_the_verdict_follows_the_locked_release(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, doc, _ = check(capsys, "--format", "json", "--lock", str(LOCKS / "uv.lock"),
                         "--require", "api_security")  # fmt: skip
    assert code == 0 and doc["capabilities"]["api_security"]["status"] == "supported"
    old = tmp_path / "requirements.txt"
    text = (LOCKS / "requirements.txt").read_text()
    old.write_text(text.replace("ddtrace==2.9.0", "ddtrace==1.18.3"))
    code, doc, _ = check(
        capsys, "--format", "json", "--lock", str(old), "--require", "api_security"
    )
    assert code == 1
    assert doc["stack"]["ddtrace"] == "1.18.3"
    assert doc["capabilities"]["api_security"]["status"] == "unsupported"
    assert any(f["id"] == "AG101" for f in doc["findings"])


def test_flags_win_over_the_lock_file(capsys: pytest.CaptureFixture[str]) -> None:
    _, doc, _ = check(capsys, "--format", "json", "--lock", str(LOCKS / "poetry.lock"),
                         "--assume", "ddtrace=1.18.3", "--assume", "python=3.12",
                         "--assume", "deployment=lambda")  # fmt: skip
    stack = doc["stack"]
    assert (stack["ddtrace"], stack["python"]["version"], stack["deployment"]) == (
        "1.18.3", "3.12", "lambda"
    )  # fmt: skip
    assert stack["framework"]["name"] == "flask"  # not stated by a flag: from the file
    sources = {e["fact"]: e["source"] for e in stack["evidence"]}
    assert sources["ddtrace"] == "assumed" and sources["framework"].startswith("lock file")


def test_includes_hashes_and_constraints(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "locked").mkdir()
    shutil.copy(LOCKS / "requirements.txt", tmp_path / "locked" / "base.txt")
    top = tmp_path / "requirements-prod.txt"
    top.write_text(
        "# production\n--require-hashes\n-r locked/base.txt\ngunicorn==22.0.0  # server\n"
    )
    code, doc, _ = check(capsys, "--format", "json", "--lock", str(top))
    assert code == 0
    assert doc["stack"]["ddtrace"] == "2.9.0" and doc["stack"]["framework"]["name"] == "flask"
    assert doc["stack"]["python"]["version"] == "3.11"  # the included file's pip-compile header
    # -c: an unpinned requirement gets the constraint's pin
    (tmp_path / "constraints.txt").write_text("ddtrace==2.6.0\ndjango==4.2.1\n")
    loose = tmp_path / "requirements.txt"
    loose.write_text("-c constraints.txt\nddtrace\ndjango>=4\n")
    code, doc, _ = check(capsys, "--format", "json", "--lock", str(loose))
    assert doc["stack"]["ddtrace"] == "2.6.0"
    assert doc["stack"]["framework"] == {"name": "django", "version": "4.2.1"}


def test_markers_choose_the_entry_for_the_python(tmp_path: Path) -> None:
    from appsec_guard.lockfile import lock_assumptions

    req = tmp_path / "requirements.txt"
    req.write_text(
        'ddtrace==1.20.0 ; python_version < "3.12"\n'
        'ddtrace==2.9.0 ; python_version >= "3.12"\n'
        "flask==3.0.3\n"
    )
    facts = read_lock(req)
    assert lock_assumptions(facts, {"python": Version("3.11")}).values["ddtrace"] == Version(
        "1.20.0"
    )
    assert lock_assumptions(facts, {"python": Version("3.12")}).values["ddtrace"] == Version(
        "2.9.0"
    )


def test_several_lock_files_in_one_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old = tmp_path / "requirements.txt"
    old.write_text("ddtrace==1.18.3\nflask==3.0.3\n")
    # pre-commit appends the file names after the hook's own arguments
    code = main(
        ["check", *HOST, "--lock", "--require", "api_security", str(LOCKS / "uv.lock"), str(old)]
    )
    out = capsys.readouterr().out
    assert code == 1  # the worst of the two
    assert f"== {LOCKS / 'uv.lock'}" in out and f"== {old}" in out
    assert out.count("FAIL: requested or required capabilities will not work: api_security") == 1


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["check", *HOST, *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("appsec-guard: error: "), err
    return err


def test_no_ddtrace_pinned(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "requirements.txt", "flask==3.0.3\n")
    err = one_line_error(capsys, "--lock", path)
    assert f"{path}: pins no ddtrace; add ddtrace==X.Y.Z" in err
    # stated by a flag, it is not needed from the file
    assert main(["check", *HOST, "--lock", path, "--assume", "ddtrace=2.9.0"]) == 0


@pytest.mark.parametrize(
    ("line", "shown"),
    [("ddtrace>=2.0", "ddtrace>=2.0"), ("ddtrace", "ddtrace (any version)"),
     ("ddtrace==2.*", "ddtrace==2.*"),
     ("ddtrace @ git+https://example.invalid/dd-trace-py", "ddtrace @ git+https://example.invalid/dd-trace-py")],
)  # fmt: skip
def test_ddtrace_by_a_range(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, line: str, shown: str
) -> None:
    path = write(tmp_path, "requirements.txt", f"{line}\nflask==3.0.3\n")
    err = one_line_error(capsys, "--lock", path)
    assert f"ddtrace is not pinned to one release ({shown}); pin it with ddtrace==X.Y.Z" in err


def test_two_frameworks(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "requirements.txt", "ddtrace==2.9.0\nflask==3.0.3\ndjango==4.2.16\n")
    err = one_line_error(capsys, "--lock", path)
    assert "names several web frameworks (django==4.2.16, flask==3.0.3)" in err
    assert "--assume framework=django==4.2.16" in err
    code = main(["check", *HOST, "--lock", path, "--assume", "framework=flask==3.0.3"])
    assert code == 0


def test_fastapi_on_starlette_is_one_framework(tmp_path: Path) -> None:
    from appsec_guard.lockfile import lock_assumptions

    path = write(
        tmp_path, "requirements.txt", "ddtrace==2.9.0\nfastapi==0.110.0\nstarlette==0.36.3\n"
    )
    facts = read_lock(Path(path))
    assert str(lock_assumptions(facts, {}).values["framework"]) == "fastapi==0.110.0"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("uv.lock", "version = 1\n[[package]\nname = 'ddtrace'\n", "not valid TOML"),
        ("Pipfile.lock", '{"_meta": {}, "default": {', "not valid JSON"),
        ("pylock.toml", "[[packages]]\nname = 'ddtrace'\n", "no 'lock-version'; not a PEP 751"),
        ("poetry.lock", "[[package]]\nname = 'ddtrace'\nversion = '2.9.0'\n", "no [metadata] table"),
        ("uv.lock", "version = 1\npackage = 3\n", "'package' is not a list of tables"),
        ("uv.lock", "version = 1\n[[package]]\nversion = '1.0'\n", "package[0] has no name"),
        ("uv.lock", "version = 1\n[[package]]\nname = 'ddtrace'\nversion = 'two'\n",
         "ddtrace has an invalid version 'two'"),
        ("pylock.toml", "lock-version = '1.0'\nrequires-python = '>>3'\n",
         "requires-python '>>3' is not a version specifier"),
        ("requirements.txt", "ddtrace==2.9.0\nflask=>3\n", "requirements.txt:2: not a requirement"),
        ("deps.lock", "ddtrace==2.9.0\n", "cannot tell which lock file this is"),
        ("requirements.txt", "-r missing.txt\n", "missing.txt: cannot read: No such file"),
    ],
)  # fmt: skip
def test_malformed_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = write(tmp_path, name, text)
    assert message in one_line_error(capsys, "--lock", path)


def test_unreadable_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "cannot read: No such file or directory" in one_line_error(
        capsys, "--lock", str(tmp_path / "uv.lock")
    )
    (tmp_path / "poetry.lock").mkdir()
    assert "cannot read: Is a directory" in one_line_error(
        capsys, "--lock", str(tmp_path / "poetry.lock")
    )
    (tmp_path / "requirements.txt").write_bytes(b"ddtrace==2.9.0\n\xff\xfe\n")
    assert "cannot read" in one_line_error(capsys, "--lock", str(tmp_path / "requirements.txt"))


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--lock needs a file" in one_line_error(capsys, "--lock")
    assert "give lock files with --lock" in one_line_error(capsys, str(LOCKS / "uv.lock"))
    err = one_line_error(
        capsys, "--format", "json", "--lock", str(LOCKS / "uv.lock"), str(LOCKS / "poetry.lock")
    )
    assert "--format json judges one --lock file at a time" in err


@pytest.mark.parametrize(
    ("poetry", "pep440"),
    [("^3.11", (">=3.11,<4",)), ("~3.11", (">=3.11,<3.12",)), ("^0.2.3", (">=0.2.3,<0.3",)),
     (">=3.10,<3.13", (">=3.10,<3.13",)), (">=3.8 <3.12", (">=3.8,<3.12",)), ("3.11.*", ("==3.11.*",)),
     ("~3.9 || ^3.11", (">=3.9,<3.10", ">=3.11,<4")), (">= 3.8, < 4", (">=3.8,<4",))],
)  # fmt: skip
def test_poetry_constraints(poetry: str, pep440: Tuple[str, ...]) -> None:
    assert poetry_constraint(poetry) == pep440


def test_lowest_python_allowed() -> None:
    assert lowest_python((">=3.9",)) == Version("3.9.0")
    assert lowest_python((">=3.11.4,<3.13",)) == Version("3.11.4")
    assert lowest_python((">=3.9,<3.10", ">=3.11")) == Version("3.9.0")
    assert lowest_python(("<3",)) is None


def test_parse_is_pure_and_reads_includes_through_the_reader() -> None:
    read: List[str] = []

    def reader(name: str) -> str:
        read.append(name)
        return "ddtrace==2.9.0 \\\n    --hash=sha256:00\ndjango==4.2.16\n"

    facts = parse("app/requirements.txt", "--requirement base.txt\n", read=reader)
    assert read == ["app/base.txt"]
    assert [str(p) for p in facts.ddtrace] == ["ddtrace==2.9.0"]
    with pytest.raises(LockError, match="cannot read includes"):
        parse("requirements.txt", "-r base.txt\n")


def test_pylock_named_for_a_purpose_and_other_names(tmp_path: Path) -> None:
    text = (LOCKS / "pylock.toml").read_text()
    assert parse("pylock.prod.toml", text).format == "pylock.toml"
    assert parse("locks/deploy.toml", text).format == "pylock.toml"  # told by its content
    uv = (LOCKS / "uv.lock").read_text()
    assert parse("deploy.lock", uv).format == "uv.lock"
    poetry = (LOCKS / "poetry.lock").read_text()
    assert parse("deploy.lock", poetry).format == "poetry.lock"
    assert parse("deps.json.lock", (LOCKS / "Pipfile.lock").read_text()).format == "Pipfile.lock"
