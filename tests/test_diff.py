"""matrix diff: release-note words for what changed between two matrices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appsec_guard import matrix as m
from appsec_guard.cli import main
from appsec_guard.diff import diff
from appsec_guard.importer import import_page

FIXTURE = Path(__file__).parent / "fixtures" / "compat_page.md"
RASP = "Runtime Application Self-Protection"


def changed_page() -> str:
    """The fixture page after a release: Django's floor raised, a new capability, SCA on
    Lambda, the Windows runtime row gone, a release branch moved to maintenance."""
    lines = []
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        if line.startswith("| Django    | 1.8"):
            line = line.replace("1.8 ", "2.2 ")
        elif line.startswith("| AWS Lambda  |"):
            line = "| AWS Lambda  | {{< X >}}                | {{< X >}}                     |"
        elif line.startswith("| Windows |"):
            continue
        elif line.startswith("| `>=1.0,<2` |"):
            line = "| `>=1.0,<2` | Maintenance |"
        lines.append(line)
        if line.startswith("| API Security |"):
            lines.append(f"| {RASP} | 2.9.0 |")
    return "\n".join(lines) + "\n"


def as_matrix(layer: dict) -> m.Matrix:  # type: ignore[type-arg]
    supplement = m.read_layer(m.DATA_DIR / "supplement.json")
    return m.merge_layers([m.parse_layer(layer, "page"), supplement])


def texts(old: m.Matrix, new: m.Matrix) -> list:  # type: ignore[type-arg]
    return [c.text for c in diff(old, new)]


def test_same_matrix_has_no_changes() -> None:
    assert diff(m.load(), m.load()) == []
    assert diff(m.load(), as_matrix(import_page(FIXTURE.read_text()).layer)) == []


def test_changes_in_release_note_words() -> None:
    new = as_matrix(import_page(changed_page()).layer)
    assert texts(m.load(), new) == [
        f"new capability: {RASP} (ddtrace >= 2.9.0)",
        "AWS Lambda now supports Software Composition Analysis (SCA)",
        "ddtrace <2,>=1.0 moved from general availability to maintenance",
        "runtime row removed: ddtrace <2 on Windows (i686, x86_64): CPython 2.7, 3.5-3.11",
        "Django minimum for Threat Detection and Threat Protection raised from 1.8 to 2.2",
    ]


def test_reverse_diff_reads_the_other_way() -> None:
    new = as_matrix(import_page(changed_page()).layer)
    got = texts(new, m.load())
    assert f"capability removed: {RASP}" in got
    assert "AWS Lambda no longer supports Software Composition Analysis (SCA)" in got
    assert (
        "Django minimum for Threat Detection and Threat Protection lowered from 2.2 to 1.8" in got
    )
    assert any(t.startswith("new runtime row: ddtrace <2 on Windows") for t in got)


def test_capability_minimum_and_framework_rows() -> None:
    layer = import_page(FIXTURE.read_text()).layer
    layer["capabilities"][6]["min_ddtrace"] = "2.10.0"
    layer["web_frameworks"]["rows"].append(
        {
            "id": "fastapi",
            "name": "FastAPI",
            "min_version": "0.90",
            "supports": ["threat_detection"],
        }
    )
    layer["web_frameworks"]["rows"][1]["caveats"] = []
    got = texts(m.load(), as_matrix(layer))
    assert "API Security minimum ddtrace raised from 2.6.0 to 2.10.0" in got
    assert "new framework: FastAPI >= 0.90 for Threat Detection" in got
    assert "Flask: caveat lifted: no support for query strings" in got


# --- the command ----------------------------------------------------------------------------


def write_layer(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "new.json"
    path.write_text(json.dumps(import_page(text).layer), encoding="utf-8")
    return path


def test_cli_diff_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = write_layer(tmp_path, changed_page())
    assert main(["matrix", "diff", "shipped", str(new)]) == 1  # like diff(1): 1 = differences
    out = capsys.readouterr().out
    assert out.startswith(f"5 change(s) from shipped to {new}:")
    assert "- AWS Lambda now supports Software Composition Analysis (SCA)\n" in out

    assert main(["matrix", "diff", "shipped", str(new), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["old"] == "shipped"
    assert {"kind": "changed", "area": "deployment", "subject": "lambda",
            "text": "AWS Lambda now supports Software Composition Analysis (SCA)"} in doc["changes"]  # fmt: skip


def test_cli_diff_no_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same = write_layer(tmp_path, FIXTURE.read_text())
    assert main(["matrix", "diff", "shipped", str(same)]) == 0
    assert capsys.readouterr().out == f"no changes between shipped and {same}\n"


def test_cli_diff_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "diff", "shipped", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "missing.json: cannot read" in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": 1,', encoding="utf-8")
    assert main(["matrix", "diff", str(broken), "shipped"]) == 2
    assert "broken.json:1:" in capsys.readouterr().err


def test_deployment_exclusions_are_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layer = m.to_layer(m.load())
    rows = layer["deployment_exclusions"]["rows"]
    api_security_off = [r for r in rows if r["capabilities"] == ["api_security"]]
    assert len(api_security_off) == 1
    rows.remove(api_security_off[0])
    without = tmp_path / "without.json"
    without.write_text(json.dumps(layer), encoding="utf-8")

    assert main(["matrix", "diff", "shipped", str(without)]) == 1
    out = capsys.readouterr().out
    assert out == (
        f"1 change(s) from shipped to {without}:\n"
        "- AWS Lambda: ddtrace >=3.9,<3.11 no longer switches API Security off\n"
    )
    back = diff(m.merge_layers([m.parse_layer(layer, "without")]), m.load())
    assert [(c.kind, c.area, c.subject, c.text) for c in back] == [
        (
            "added",
            "exclusion",
            "lambda ddtrace >=3.9,<3.11",
            "AWS Lambda: ddtrace >=3.9,<3.11 switches API Security off",
        )
    ]


def test_framework_integration_ranges_are_compared() -> None:
    layer = m.to_layer(m.load())
    rows = layer["framework_integrations"]["rows"]
    flask_2_3 = next(r for r in rows if r["runs"] == "<2.3")
    rows.remove(flask_2_3)
    django = next(r for r in rows if r["framework"] == "django")
    django["runs"] = ">=3.2"
    changed = m.merge_layers([m.parse_layer(layer, "changed")])
    found = [(c.kind, c.area, c.text) for c in diff(m.load(), changed) if c.area == "integration"]
    assert (
        "changed",
        "integration",
        "ddtrace >=3.10: its Django integration runs Django>=3.2, was Django>=2.2.8",
    ) in found
    assert (
        "removed",
        "integration",
        "ddtrace <1.9.7: its Flask integration is no longer limited to Flask<2.3",
    ) in found
    assert len(found) == 4  # the Flask row has three ddtrace ranges
