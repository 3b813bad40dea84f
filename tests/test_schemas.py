"""The JSON Schemas shipped for matrix layers and the JSON report describe what the code
reads and writes: the shipped layers, a dumped matrix and real reports validate; the schema's
sections are the parser's; a layer the parser refuses for its shape is refused by the schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from appsec_guard import matrix as m
from appsec_guard.cli import main

if sys.version_info < (3, 9):  # jsonschema's 3.8 releases fail reading their meta-schemas
    pytest.skip("the JSON Schema tests need CPython 3.9+", allow_module_level=True)

import jsonschema

LAYER = json.loads((m.SCHEMA_DIR / "matrix-layer.schema.json").read_text(encoding="utf-8"))
REPORT = json.loads((m.SCHEMA_DIR / "report.schema.json").read_text(encoding="utf-8"))


def _valid(schema: Any, doc: Any) -> None:
    jsonschema.Draft202012Validator(schema).validate(doc)


def test_the_schemas_are_valid_schemas() -> None:
    jsonschema.Draft202012Validator.check_schema(LAYER)
    jsonschema.Draft202012Validator.check_schema(REPORT)


def test_the_layer_schema_names_the_parsers_sections() -> None:
    assert set(LAYER["properties"]) == set(m.SECTIONS)


@pytest.mark.parametrize("name", m.SHIPPED_LAYERS)
def test_shipped_layers_validate(name: str) -> None:
    _valid(LAYER, json.loads((m.DATA_DIR / name).read_text(encoding="utf-8")))


def test_a_dumped_matrix_validates() -> None:
    _valid(LAYER, m.to_layer(m.load()))


@pytest.mark.parametrize(
    "bad",
    [
        {
            "schema_version": 1,
            "runtimes": [
                {
                    "os": "linux",
                    "cpu": [],
                    "implementation": "cpython",
                    "python": ["3.11"],
                    "ddtrace": ">=2",
                }
            ],
        },
        {"schema_version": 1, "colours": {}},
        {"schema_version": 2},
    ],
)
def test_what_the_parser_refuses_the_schema_refuses(bad: Any) -> None:
    with pytest.raises(m.MatrixError):
        m.parse_layer(bad, "bad")
    with pytest.raises(jsonschema.ValidationError):
        _valid(LAYER, bad)


@pytest.mark.parametrize(
    "args",
    [
        ["--assume", "ddtrace=1.18.0", "--require", "sca"],
        ["--assume", "ddtrace=none", "--assume", "framework=none", "--assume", "deployment=lambda"],
        ["--assume", "framework=django==4.2.1", "--assume", "remote_config=enabled"],
    ],
)
def test_reports_validate(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: Any
) -> None:
    for name in ("APPSEC_GUARD_MATRIX", "APPSEC_GUARD_REQUIRE", "APPSEC_GUARD_SILENCE"):
        monkeypatch.delenv(name, raising=False)
    main(["check", "--format", "json", "--no-probe", *args])
    _valid(REPORT, json.loads(capsys.readouterr().out))


def test_the_readme_example_validates() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = readme.index('```json\n{\n  "schema_version"') + len("```json\n")
    _valid(REPORT, json.loads(readme[start : readme.index("```", start)]))
