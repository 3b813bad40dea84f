"""The shipped matrix holds every row of Datadog's compatibility page, and bad data is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest
from packaging.version import Version

from appsec_guard import matrix as matrix_mod
from appsec_guard.matrix import Matrix, MatrixError, expand_pythons, parse_layer, read_layer

# The page's tables, restated here on purpose: a test that read them back from the data would
# pass whatever the data said.
PAGE_MINIMUMS = {
    "threat_detection": "1.9.0",
    "threat_protection": "1.10.0",
    "custom_blocking_response": "1.19.0",
    "sca": "1.5.0",
    "code_security": None,
    "user_event_tracking": "1.17.0",
    "api_security": "2.6.0",
}
PAGE_DEPLOYMENTS = {
    "docker": {"threat_detection", "sca"},
    "kubernetes": {"threat_detection", "sca"},
    "ecs": {"threat_detection", "sca"},
    "fargate": {"threat_detection", "sca"},
    "lambda": {"threat_detection"},
}
PAGE_RUNTIMES_V1 = {
    "linux": {"x86_64", "i686", "aarch64"},
    "macos": {"x86_64", "aarch64"},
    "windows": {"x86_64", "i686"},
}
PAGE_PYTHONS_V1 = {(2, 7), (3, 5), (3, 6), (3, 7), (3, 8), (3, 9), (3, 10), (3, 11)}


def test_capabilities_and_minimums(matrix: Matrix) -> None:
    got = {c.id: (str(c.min_ddtrace) if c.min_ddtrace else None) for c in matrix.capabilities}
    assert got == PAGE_MINIMUMS
    assert matrix.capability("code_security").stage == "private beta"


def test_dependencies(matrix: Matrix) -> None:
    assert matrix.remote_config_required_by == {"threat_protection"}
    assert matrix.capability("custom_blocking_response").requires == ("threat_protection",)
    assert matrix.no_remote_config_deployments == {"lambda"}


def test_deployments(matrix: Matrix) -> None:
    assert {d.id: set(d.supports) for d in matrix.deployments} == PAGE_DEPLOYMENTS
    assert matrix.deployment_capabilities == {"threat_detection", "sca"}


def test_release_branches(matrix: Matrix) -> None:
    levels = {str(b.ddtrace): b.support for b in matrix.release_branches}
    assert levels["<1"] == "maintenance"
    assert levels["<2,>=1.0"] == "general availability"


def test_runtimes_of_ddtrace_1(matrix: Matrix) -> None:
    rows = [r for r in matrix.runtimes if r.covers_ddtrace(Version("1.20.0"))]
    assert {r.os: set(r.cpus) for r in rows} == PAGE_RUNTIMES_V1
    for r in rows:
        assert r.implementation == "cpython"
        assert r.pythons == PAGE_PYTHONS_V1
        assert r.source.startswith("dd-page#")


def test_runtime_rows_for_later_lines_cite_a_source(matrix: Matrix) -> None:
    later = [r for r in matrix.runtimes if not r.covers_ddtrace(Version("1.20.0"))]
    assert later, "the supplement adds rows for ddtrace 2.x and later"
    for line in ("2.6.0", "2.21.0", "3.0.0", "3.19.0", "4.16.0"):
        assert [r for r in later if r.covers_ddtrace(Version(line))], line
    for r in later:
        assert matrix.source(r.source) is not None, r


def test_frameworks(matrix: Matrix) -> None:
    django = matrix.web_framework("django")
    flask = matrix.web_framework("flask")
    assert django is not None and flask is not None
    assert django.min_version == Version("1.8")
    assert flask.min_version == Version("0.10")
    for fw in (django, flask):
        assert fw.supports == {"threat_detection", "threat_protection"}
    assert any("query string" in c for c in flask.caveats)
    assert not django.caveats
    assert matrix.all_framework_capabilities == {"sca"}


def test_auth_frameworks(matrix: Matrix) -> None:
    assert matrix.auth_capability == "user_event_tracking"
    assert [(a.id, a.versions) for a in matrix.auth_frameworks] == [
        ("django", ("1.11", "2.2", "3.2", ">=4.0"))
    ]


def test_datastores(matrix: Matrix) -> None:
    assert "pep-0249" in matrix.datastores["covered"]
    assert "HTTP" in matrix.datastores["protection_layer"]


def test_every_rule_cites_a_known_source(matrix: Matrix) -> None:
    refs = [c.source for c in matrix.capabilities]
    refs += [d.source for d in matrix.deployments]
    refs += [b.source for b in matrix.release_branches]
    refs += [f.source for f in matrix.web_frameworks]
    refs += [a.source for a in matrix.auth_frameworks]
    refs += [c.requires_source for c in matrix.capabilities if c.requires]
    for ref in refs:
        assert ref and matrix.source(ref) is not None, ref


def test_round_trip_through_a_layer(matrix: Matrix) -> None:
    again = matrix_mod.merge_layers([parse_layer(matrix_mod.to_layer(matrix), "round-trip")])
    assert again == matrix


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (["3.8"], {(3, 8)}),
        (["2.7", "3.5-3.7"], {(2, 7), (3, 5), (3, 6), (3, 7)}),
    ],
)
def test_expand_pythons(text: Any, expected: Any) -> None:
    assert expand_pythons(text) == expected


@pytest.mark.parametrize("bad", ["3", "3.11-3.5", "2.7-3.1", "three.eleven"])
def test_expand_pythons_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match="Python version"):
        expand_pythons([bad])


def _shipped_page() -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads((matrix_mod.DATA_DIR / "compatibility.json").read_text())
    return data


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema_version=99), "schema_version: 99 is not supported"),
        (lambda d: d.update(surprise=1), "surprise: unknown section"),
        (
            lambda d: d["capabilities"][0].update(min_ddtrace="1.nine"),
            "capabilities[0].min_ddtrace: '1.nine' is not a PEP 440 version",
        ),
        (
            lambda d: d["capabilities"][0].update(min_ddtrace=None),
            "capabilities[0].min_ddtrace: null is only allowed",
        ),
        (
            lambda d: d["capabilities"][0].update(min_ddtrace=None, stage=None),
            "capabilities[0].min_ddtrace: null is only allowed",
        ),
        (
            lambda d: d["capabilities"][0].update(stage=2),
            "capabilities[0].stage: expected a string or null, got int",
        ),
        (
            lambda d: d["runtimes"][0].update(source=["dd-page"]),
            "runtimes[0].source: expected a string or null, got list",
        ),
        (
            lambda d: d["runtimes"][0].update(os="beos"),
            "runtimes[0].os: 'beos' is not one of linux, macos, windows",
        ),
        (lambda d: d["runtimes"][1].update(python=["3.5-3"]), "runtimes[1].python"),
        (
            lambda d: d["runtimes"][0].update(python=[]),
            "runtimes[0].python: expected a non-empty list, got []",
        ),
        (
            lambda d: d["runtimes"][0].update(cpu=[]),
            "runtimes[0].cpu: expected a non-empty list, got []",
        ),
        (
            lambda d: d["runtimes"][2].update(ddtrace="<<2"),
            "runtimes[2].ddtrace: '<<2' is not a version range",
        ),
        (
            lambda d: d["deployments"]["rows"][4].update(supports=["time_travel"]),
            "unknown capability 'time_travel'",
        ),
        (
            lambda d: d["web_frameworks"]["rows"].append("flask"),
            "web_frameworks.rows[2]: expected an object, got str",
        ),
        (
            lambda d: d["auth_frameworks"]["rows"][0].update(versions=["3.2", "=>4"]),
            "versions[1]: '=>4' is not a release",
        ),
    ],
)
def test_bad_layers_are_refused_with_the_place(mutate: Any, message: str) -> None:
    data = _shipped_page()
    mutate(data)
    with pytest.raises(MatrixError) as err:
        matrix_mod.merge_layers([parse_layer(data, "page.json")], origin="page.json")
    assert message in str(err.value)
    assert str(err.value).startswith("page.json: ")
    assert "\n" not in str(err.value)


def test_null_optional_text_is_empty_not_the_word_none() -> None:
    data = _shipped_page()
    data["capabilities"][0].update(stage=None, source=None)
    data["sources"]["dd-page"]["url"] = None
    data["datastores"]["covered"] = None
    layer = parse_layer(data, "page.json")
    cap = layer["capabilities"][data["capabilities"][0]["id"]]
    assert (cap.stage, cap.source, cap.beta) == ("", "", False)
    assert layer["sources"]["dd-page"].url == ""
    assert layer["datastores"]["covered"] == ""


def test_an_exclusion_with_no_ddtrace_range_is_refused() -> None:
    data = json.loads((matrix_mod.DATA_DIR / "supplement.json").read_text())
    data["deployment_exclusions"]["rows"][1]["ddtrace"] = []
    with pytest.raises(MatrixError) as err:
        parse_layer(data, "supplement.json")
    assert str(err.value) == (
        "supplement.json: deployment_exclusions.rows[1].ddtrace: expected a non-empty list, got []"
    )


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "mine.json"
    bad.write_text('{\n  "schema_version": 1,\n  "runtimes": [\n}\n')
    with pytest.raises(MatrixError, match=r"mine\.json:4:1: not valid JSON"):
        read_layer(bad)


def test_extra_layer_adds_and_replaces_rows(tmp_path: Path, matrix: Matrix) -> None:
    layer = {
        "schema_version": 1,
        "sources": {"ours": {"title": "our own test run"}},
        "web_frameworks": {
            "capabilities": ["threat_detection", "threat_protection"],
            "all_frameworks": ["sca"],
            "rows": [
                {
                    "id": "fastapi",
                    "name": "FastAPI",
                    "min_version": "0.90",
                    "supports": ["threat_detection"],
                    "source": "ours",
                },
                {
                    "id": "flask",
                    "name": "Flask",
                    "min_version": "1.0",
                    "supports": ["threat_detection", "threat_protection"],
                    "source": "ours",
                },
            ],
        },
    }
    path = tmp_path / "extra.json"
    path.write_text(json.dumps(layer))
    merged = matrix_mod.load([path])
    assert [f.id for f in merged.web_frameworks] == ["django", "flask", "fastapi"]
    flask = merged.web_framework("flask")
    assert flask is not None and flask.min_version == Version("1.0")
    assert matrix.web_framework("fastapi") is None  # the shipped matrix is untouched


def test_the_matrix_is_hashable_and_its_tables_read_only(matrix: Matrix) -> None:
    assert hash(matrix) == hash(matrix_mod.load())
    with pytest.raises(TypeError):
        matrix.settings["api_security"] = "DD_SURPRISE"  # type: ignore[index]
    with pytest.raises(TypeError):
        matrix.datastores["covered"] = "nothing"  # type: ignore[index]
    assert matrix_mod.load().settings == dict(matrix.settings)


def test_a_matrix_built_from_dicts_keeps_no_reference_to_them(matrix: Matrix) -> None:
    settings = dict(matrix.settings)
    built = Matrix(capabilities=matrix.capabilities, settings=settings)
    settings.clear()
    assert built.settings == matrix.settings and built.settings != {}
    assert {built: 1}[Matrix(capabilities=matrix.capabilities, settings=matrix.settings)] == 1
