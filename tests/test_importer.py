"""The importer: the fixture page gives the shipped page layer, row by row; new rows come
through without code changes; unreadable rows are reported by line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest
from packaging.version import Version

from appsec_guard import matrix as m
from appsec_guard.cli import main
from appsec_guard.importer import anchor, import_page
from appsec_guard.judge import judge
from appsec_guard.model import Framework, RemoteConfig, Runtime, Stack, Status

FIXTURE = Path(__file__).parent / "fixtures" / "compat_page.md"
SHIPPED = m.DATA_DIR / "compatibility.json"


def page() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def shipped() -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads(SHIPPED.read_text(encoding="utf-8"))
    return data


def edit(text: str, after: str, new_line: str) -> str:
    """Insert ``new_line`` after the (unique) line that starts with ``after``."""
    lines = text.splitlines()
    hits = [i for i, line in enumerate(lines) if line.startswith(after)]
    assert len(hits) == 1, after
    lines.insert(hits[0] + 1, new_line)
    return "\n".join(lines) + "\n"


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def rows(layer: Dict[str, Any], section: str) -> List[Any]:
    value = layer[section]
    return list(value["rows"] if isinstance(value, dict) and "rows" in value else value)


# --- the fixture reproduces the shipped page layer ------------------------------------------


ROW_SECTIONS = ["capabilities", "deployments", "release_branches", "runtimes", "web_frameworks",
                "auth_frameworks"]  # fmt: skip


@pytest.mark.parametrize("section", ROW_SECTIONS)
def test_fixture_page_reproduces_every_shipped_row_field_by_field(section: str) -> None:
    result = import_page(page())
    assert result.problems == ()
    want, got = rows(shipped(), section), rows(result.layer, section)
    assert len(got) == len(want)
    for want_row, got_row in zip(want, got):
        for key in sorted(set(want_row) | set(got_row)):
            assert got_row.get(key) == want_row.get(key), (section, want_row, key)


def test_fixture_page_reproduces_the_whole_shipped_layer() -> None:
    """Section headers, notes and sources too: the shipped file *is* the importer's output."""
    assert import_page(page()).layer == shipped()


def test_notes_become_rules() -> None:
    layer = import_page(page()).layer
    assert layer["remote_configuration"]["required_by"] == ["threat_protection"]
    assert layer["remote_configuration"]["docs"].endswith(
        "/agent/remote_config/#enabling-remote-configuration"
    )  # the link reference, resolved against the page's site
    assert layer["web_frameworks"]["all_frameworks"] == ["sca"]
    flask = next(r for r in layer["web_frameworks"]["rows"] if r["id"] == "flask")
    assert flask["caveats"] == ["no support for query strings"]
    assert "pep-0249" in layer["datastores"]["covered"]
    assert "SQLite" in layer["datastores"]["covered"]
    assert layer["datastores"]["protection_layer"].startswith("Threat Protection covers every")


def test_runtime_cpus_are_canonical_per_os() -> None:
    by_os = {r["os"]: r["cpu"] for r in import_page(page()).layer["runtimes"]}
    assert by_os == {
        "linux": ["x86_64", "i686", "aarch64"],
        "macos": ["x86_64", "aarch64"],  # Intel, Apple Silicon
        "windows": ["x86_64", "i686"],  # 64bit, 32bit
    }


def test_every_row_cites_its_section_anchor() -> None:
    text = page()
    anchors = {
        anchor(line.lstrip("#").strip()) for line in text.splitlines() if line.startswith("#")
    }
    layer = import_page(text).layer
    for section in ROW_SECTIONS:
        for row in rows(layer, section):
            source, _, where = row["source"].partition("#")
            assert source == "dd-page"
            assert where in anchors, row


@pytest.mark.parametrize(
    "sentence",
    [
        "Support for query strings is not available for Flask.",
        "Query strings are not supported on Flask.",
        "Flask does not support query strings.",
    ],
)
def test_caveat_wordings_give_the_same_fact(sentence: str) -> None:
    text = page().replace("Query strings are not supported on Flask.", sentence)
    flask = next(r for r in import_page(text).layer["web_frameworks"]["rows"] if r["id"] == "flask")
    assert flask["caveats"] == ["no support for query strings"]


def test_anchor_follows_hugo() -> None:
    assert anchor("User Authentication Frameworks compatibility") == (
        "user-authentication-frameworks-compatibility"
    )
    assert anchor("What's new?") == "whats-new"


# --- new rows and columns come through without code changes ---------------------------------

RASP = "Runtime Application Self-Protection"


def bigger_page() -> str:
    text = page()
    text = edit(text, "| API Security |", f"| {RASP} | 2.9.0 |")
    text = edit(text, "| Flask     |", "| FastAPI   | 0.90  |  {{< X >}} |   |")
    text = edit(text, "| `>=1.0,<2` |", "| `>=2.0,<3` | Maintenance |")
    deploy = {
        "| Type        |": f"| Type        | Threat Detection support | Software Composition Analysis | {RASP} |",
        "|-------------|": "|-------------|----|----|----|",
        "| Docker      |": "| Docker      | {{< X >}} | {{< X >}} | {{< X >}} |",
        "| Kubernetes  |": "| Kubernetes  | {{< X >}} | {{< X >}} | {{< X >}} |",
        "| Amazon ECS  |": "| Amazon ECS  | {{< X >}} | {{< X >}} | {{< X >}} |",
        "| AWS Fargate |": "| AWS Fargate | {{< X >}} | {{< X >}} | {{< X >}} |",
        "| AWS Lambda  |": "| AWS Lambda  | {{< X >}} |           |           |",
    }
    lines = [
        next((v for k, v in deploy.items() if ln.startswith(k)), ln) for ln in text.splitlines()
    ]
    text = "\n".join(lines) + "\n"
    return edit(text, "| AWS Lambda  |", "| Azure Container Apps | {{< X >}} | | {{< X >}} |")


def bigger_matrix(with_supplement: bool = True) -> m.Matrix:
    result = import_page(bigger_page())
    assert result.problems == ()
    layers = [m.parse_layer(result.layer, "bigger page")]
    if with_supplement:
        layers.append(m.read_layer(m.DATA_DIR / "supplement.json"))
    return m.merge_layers(layers)


def stack(
    *,
    ddtrace: str = "2.9.0",
    framework: Any = ("django", "4.2"),
    deployment: str = "docker",
    python: str = "3.11.4",
) -> Stack:
    return Stack(
        runtime=Runtime("cpython", Version(python), "linux", "x86_64"),
        ddtrace=Version(ddtrace),
        framework=Framework(framework[0], Version(framework[1])) if framework else None,
        deployment=deployment,
        remote_config=RemoteConfig.ENABLED,
    )


def test_new_framework_row_is_judged() -> None:
    fastapi = stack(framework=("fastapi", "0.95.1"))
    before = judge(fastapi, m.load())
    assert before.verdict("threat_detection").status is Status.UNKNOWN  # not listed yet
    report = judge(fastapi, bigger_matrix())
    assert report.verdict("threat_detection").status is Status.SUPPORTED
    assert report.verdict("threat_protection").status is Status.UNSUPPORTED  # no check mark
    old = judge(stack(framework=("fastapi", "0.80")), bigger_matrix())
    assert old.verdict("threat_detection").status is Status.UNSUPPORTED
    assert any(f.id == "AG300" for f in old.findings)


def test_new_capability_row_and_deployment_column_are_judged() -> None:
    matrix = bigger_matrix()
    cap = "runtime_application_self_protection"
    assert matrix.capability(cap).name == RASP
    assert judge(stack(ddtrace="2.9.0"), matrix).verdict(cap).status is Status.SUPPORTED
    too_old = judge(stack(ddtrace="2.6.0"), matrix, required=[cap])
    assert too_old.verdict(cap).status is Status.UNSUPPORTED
    assert cap in matrix.deployment_capabilities
    on_lambda = judge(stack(deployment="lambda", framework=None), matrix)
    assert on_lambda.verdict(cap).status is Status.UNSUPPORTED
    assert on_lambda.verdict("threat_detection").status is Status.SUPPORTED


def test_new_deployment_row_is_judged() -> None:
    report = judge(stack(deployment="azure_container_apps"), bigger_matrix())
    assert report.verdict("runtime_application_self_protection").status is Status.SUPPORTED
    assert report.verdict("sca").status is Status.UNSUPPORTED  # its SCA cell is empty
    assert not any(f.id == "AG401" for f in report.findings)  # the deployment is listed


def test_new_release_branch_is_judged() -> None:
    report = judge(stack(ddtrace="2.9.0"), bigger_matrix(with_supplement=False))
    assert any(f.id == "AG102" and ">=2.0" in f.message for f in report.findings)


# --- unreadable rows are reported by line, never dropped silently ---------------------------


def broken_page() -> str:
    text = page()
    text = edit(text, "| API Security |", "| Interactive Testing | soon |")
    text = edit(text, "| Flask     |", "| Bottle    | latest |  {{< X >}} |   |")
    text = edit(text, "| Docker      |", "| Heroku      | maybe | |")
    text = edit(text, "| Windows |", "| Linux   | s390x | CPython | 3.8 | `>=2` |")
    return edit(text, "| `>=1.0,<2` |", "| `>=3,<<4` | Maintenance |")


def test_unreadable_rows_are_reported_with_their_line() -> None:
    text = broken_page()
    result = import_page(text)
    lines = {p.line for p in result.problems}
    for needle in ("Interactive Testing", "Bottle", "Heroku", "s390x", "<<4"):
        assert line_of(text, needle) in lines, needle
    # the readable rows around them are all still there
    assert rows(result.layer, "capabilities") == rows(shipped(), "capabilities")
    assert [r["id"] for r in rows(result.layer, "deployments")] == [
        "docker", "kubernetes", "ecs", "fargate", "lambda"]  # fmt: skip
    assert len(result.layer["runtimes"]) == 3


def test_unknown_table_is_reported() -> None:
    text = page() + "\n## Extras\n\n| Color | Shade |\n|---|---|\n| red | dark |\n"
    result = import_page(text)
    assert [p.line for p in result.problems] == [line_of(text, "| Color |")]
    assert "not one the importer knows" in result.problems[0].message


# --- the command ----------------------------------------------------------------------------


def test_cli_import_prints_the_layer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "import", str(FIXTURE)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == shipped()
    assert err == ""


def test_cli_import_writes_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "page.json"
    assert main(["matrix", "import", str(FIXTURE), "--output", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == shipped()
    m.merge_layers([m.read_layer(target)])  # loadable as a matrix layer


def test_cli_import_into_a_data_dir_compiles_the_boot_matrix_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Writing compatibility.json next to supplement.json (the package's data, or a copy of it)
    compiles compiled.json from the two layers, as the boot reads them."""
    import shutil

    from appsec_guard import _compile

    data = tmp_path / "data"
    shutil.copytree(m.DATA_DIR, data, ignore=shutil.ignore_patterns("compiled.json"))
    supplement = json.loads((data / "supplement.json").read_text(encoding="utf-8"))
    supplement["release_branches"].append({"ddtrace": ">=99,<100", "support": "GA", "source": ""})
    (data / "supplement.json").write_text(json.dumps(supplement), encoding="utf-8")
    target = data / "compatibility.json"
    assert main(["matrix", "import", str(FIXTURE), "--output", str(target)]) == 0
    assert "compiled compiled.json from compatibility.json" in capsys.readouterr().err
    compiled = json.loads((data / "compiled.json").read_text(encoding="utf-8"))
    assert "<100,>=99" in {r["source"] for r in compiled["ranges"]}
    assert compiled == json.loads(_compile.render(_compile.compiled_document(data)))
    parsed = m.read_parsed(data / "compiled.pickle", fresh=True)  # and its parse, for the boot
    assert parsed is not None
    assert "<100,>=99" in parsed["ranges"]
    # a layer written anywhere else compiles nothing
    assert (
        main(["matrix", "import", str(FIXTURE), "--output", str(tmp_path / "compatibility.json")])
        == 0
    )
    assert not (tmp_path / "compiled.json").exists()
    assert not (tmp_path / "compiled.pickle").exists()


def test_cli_import_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "import", str(tmp_path / "nope.md")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nope.md: cannot read: No such file or directory" in err


def test_cli_import_unreadable_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edit(page(), "| Flask     |", "| Bottle    | latest |  {{< X >}} |   |")
    bad = tmp_path / "bad.md"
    bad.write_text(text, encoding="utf-8")
    where = f"{bad}:{line_of(text, 'Bottle')}:"

    assert main(["matrix", "import", str(bad)]) == 0  # reported, the rest imported
    out, err = capsys.readouterr()
    assert where in err
    assert "'latest' is not a version" in err
    assert json.loads(out)["web_frameworks"]["rows"][1]["id"] == "flask"

    target = tmp_path / "out.json"
    assert main(["matrix", "import", str(bad), "--strict", "--output", str(target)]) == 1
    out, err = capsys.readouterr()
    assert where in err
    assert "--strict" in err
    assert not target.exists()


def test_cli_import_not_a_compatibility_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.md"
    other.write_text("# Hello\n\nJust prose.\n", encoding="utf-8")
    assert main(["matrix", "import", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("no capability table found; is this a compatibility page?")


def test_cli_matrix_still_shows_the_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["layer"] == "merged"
    assert main(["matrix"]) == 0
    assert "Capabilities (minimum ddtrace)" in capsys.readouterr().out
