"""The boot path's versions (appsec_guard._versions) and the compiled matrix (appsec_guard._compile):
precompiled answers that must equal packaging's, which stays the oracle.

- the shipped data/compiled.json is what the compiler writes from the layer files today, and
  data/compiled.pickle its parse (with the activation data's), which the boot loads;
- the matrix loaded from it equals the matrix packaging builds from the layer files;
- for generated versions (plain releases and every other PEP 440 form) against every range of
  the shipped matrix, the fast answer is packaging's; a plain release compares, hashes and prints
  as packaging's Version;
- the boot (``import appsec_guard`` after ddtrace and the framework) does not import packaging.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from appsec_guard import _compile, _versions
from appsec_guard import matrix as matrix_mod
from appsec_guard._versions import CompiledRange, Release, contains, parse

COMPILED = json.loads(_compile.COMPILED_PATH.read_text(encoding="utf-8"))
RANGES = [CompiledRange(r["source"], r["text"], []) for r in COMPILED["ranges"]]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _shipped_range(source: str) -> CompiledRange:
    matrix_mod.load()  # registers the compiled ranges
    return matrix_mod._RANGES[source]


# --- the compiled file is what the compiler writes ------------------------------------------


def test_shipped_compiled_matrix_is_rebuilt_identically() -> None:
    rebuilt = _compile.render(_compile.compiled_document())
    shipped = _compile.COMPILED_PATH.read_text(encoding="utf-8")
    assert rebuilt == shipped, (
        "data/compiled.json is out of date with the layer files: "
        "run `python -m appsec_guard._compile` and commit the result"
    )


def test_shipped_parsed_data_is_the_parse_of_today_s_files() -> None:
    shipped = matrix_mod.read_parsed(matrix_mod.DATA_DIR / matrix_mod.PARSED, fresh=True)
    assert shipped is not None, "data/compiled.pickle does not load"
    assert _compile.canonical(shipped) == _compile.canonical(_compile.parsed_document()), (
        "data/compiled.pickle is out of date with compiled.json or activation.json: "
        "run `python -m appsec_guard._compile` and commit the result"
    )


def test_the_boot_loads_the_pickle_and_the_json_gives_the_same_objects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from appsec_guard import activation

    def fresh_load() -> Tuple[Any, Any]:
        monkeypatch.setattr(matrix_mod, "_SHIPPED", None)
        monkeypatch.setattr(matrix_mod, "_SHIPPED_LAYERS", None)
        monkeypatch.setattr(matrix_mod, "_PARSED", {})
        monkeypatch.setattr(activation, "_DATA", None)
        return matrix_mod.load(), activation._data()

    read: List[str] = []
    real = matrix_mod.read_compiled

    def counting(path: Path) -> Any:
        read.append(path.name)
        return real(path)

    monkeypatch.setattr(matrix_mod, "read_compiled", counting)
    from_pickle = fresh_load()
    assert read == []  # the parsers did not run
    monkeypatch.setattr(matrix_mod, "PARSED", "no-such-file.pickle")
    from_json = fresh_load()
    assert read == ["compiled.json"]
    assert from_pickle == from_json
    assert _compile.canonical(from_pickle) == _compile.canonical(from_json)


def _with_fields(fields: Any) -> bytes:
    shipped = matrix_mod.read_parsed(matrix_mod.DATA_DIR / matrix_mod.PARSED, fresh=True)
    assert shipped is not None
    return pickle.dumps({**shipped, "fields": fields})


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a pickle",
        pickle.dumps({"format": 1})[:-3],  # truncated
        pickle.dumps({"format": 999, "ranges": {}, "layer": {}, "activation": None}),
        pickle.dumps(["a list"]),
        b"\x80\x04cappsec_guard.matrix\nNoSuchClass\n.",  # a class that moved
        _with_fields({"appsec_guard.matrix:Source": ("id", "title")}),  # a field added since
        _with_fields({"appsec_guard.matrix:NoSuchClass": ("id",)}),
        _with_fields(None),
    ],
    ids=[
        "empty",
        "garbage",
        "truncated",
        "other-format",
        "not-a-dict",
        "moved-class",
        "other-fields",
        "class-gone",
        "no-fields",
    ],
)
def test_a_parsed_file_that_does_not_load_is_set_aside(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "compiled.pickle"
    path.write_bytes(content)
    assert matrix_mod.read_parsed(path, fresh=True) is None
    assert matrix_mod.read_parsed(tmp_path / "missing.pickle", fresh=True) is None


def test_the_compiler_rewrites_the_pickle_only_when_what_it_holds_changes(
    tmp_path: Path,
) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(matrix_mod.DATA_DIR, data)
    _compile.write(data)
    first = (data / matrix_mod.PARSED).read_bytes()
    assert first == (matrix_mod.DATA_DIR / matrix_mod.PARSED).read_bytes()  # nothing changed
    supplement = json.loads((data / "supplement.json").read_text(encoding="utf-8"))
    supplement["release_branches"].append({"ddtrace": ">=98,<99", "support": "GA", "source": ""})
    (data / "supplement.json").write_text(json.dumps(supplement), encoding="utf-8")
    _compile.write(data)
    written = matrix_mod.read_parsed(data / matrix_mod.PARSED, fresh=True)
    assert written is not None
    assert "<99,>=98" in written["ranges"]
    assert any(str(b.ddtrace) == "<99,>=98" for b in written["layer"]["release_branches"].values())


def _objects(value: Any, seen: Dict[int, Any]) -> Dict[int, Any]:
    """Every object reachable from ``value`` (containers, value classes, their fields), by id."""
    if id(value) in seen:
        return seen
    seen[id(value)] = value
    if isinstance(value, dict):
        for k, v in value.items():
            _objects(k, seen)
            _objects(v, seen)
    elif isinstance(value, (list, tuple, frozenset)):
        for v in value:
            _objects(v, seen)
    elif isinstance(value, CompiledRange):
        for v in (value.source, value.text, value.intervals):
            _objects(v, seen)
    elif isinstance(value, Release):
        _objects(value.release, seen)
    elif getattr(type(value), "__match_args__", None) is not None:
        for name in type(value).__match_args__:
            _objects(getattr(value, name), seen)
    return seen


def test_the_shipped_pickle_holds_each_equal_value_once() -> None:
    shipped = matrix_mod.read_parsed(matrix_mod.DATA_DIR / matrix_mod.PARSED, fresh=True)
    assert shipped is not None
    found = _objects(shipped, {}).values()
    strings = [v for v in found if type(v) is str]
    assert len(strings) == len(set(strings)) > 200
    # a tuple's items are shared first, so two equal tuples would hold the very same items
    tuples = [tuple(map(id, v)) for v in found if type(v) is tuple and v]
    assert len(tuples) == len(set(tuples)) > 100
    # and the merged matrix is built from the same rule objects as the layer
    layer_rules = {id(r) for r in shipped["layer"]["runtimes"].values()}
    assert {id(r) for r in shipped["matrix"].runtimes} == layer_rules


def test_sharing_keeps_values_of_other_types_apart() -> None:
    pool: Dict[Any, Any] = {}
    one, true, fl = (_compile.shared(t, pool) for t in ((1,), (True,), (1.0,)))
    assert [type(t[0]) for t in (one, true, fl)] == [int, bool, float]
    assert len({id(one), id(true), id(fl)}) == 3 and _compile.shared((True,), pool) is true
    a, b = "".join(["ab", "c"]), "".join(["a", "bc"])
    assert a is not b
    doc = {"x": [a, (a, 1)], "y": frozenset({b}), "z": (b, 1)}
    out = _compile.shared(doc, pool)
    assert out is doc and out == {
        "x": ["abc", ("abc", 1)],
        "y": frozenset({"abc"}),
        "z": ("abc", 1),
    }
    assert doc["x"][0] is doc["x"][1][0] is next(iter(doc["y"])) and doc["x"][1] is doc["z"]
    release = Release((4, 16, 0))
    rng = CompiledRange(a, b, [((4,), True, None, False)])
    source = matrix_mod.Source(id=b, title=a, url="u")
    _compile.shared([release, rng, source], pool)
    assert rng.source is rng.text is source.id is source.title is doc["z"][0]
    assert release.release is _compile.shared((4, 16, 0), pool) and str(release) == "4.16.0"
    assert pickle.loads(pickle.dumps(source)) == matrix_mod.Source(id="abc", title="abc", url="u")


def test_every_range_of_the_layers_is_compiled() -> None:
    sources = {r["source"] for r in COMPILED["ranges"]}
    assert sources == set(_compile.all_range_texts(matrix_mod.DATA_DIR, COMPILED["matrix"]))
    assert set(_compile.range_texts(COMPILED["matrix"])) < sources  # and the activation data's
    assert len(sources) >= 15


def test_compiled_matrix_equals_the_matrix_packaging_builds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(matrix_mod, "_SHIPPED", None)
    monkeypatch.setattr(matrix_mod, "_SHIPPED_LAYERS", None)
    monkeypatch.setattr(matrix_mod, "_RANGES", {})
    by_packaging = matrix_mod.merge_layers(
        [matrix_mod.read_layer(matrix_mod.DATA_DIR / n) for n in matrix_mod.SHIPPED_LAYERS]
    )
    assert all(isinstance(r.ddtrace, SpecifierSet) for r in by_packaging.runtimes)
    compiled = matrix_mod.load()
    assert all(isinstance(r.ddtrace, CompiledRange) for r in compiled.runtimes)
    assert all(isinstance(b.ddtrace, CompiledRange) for b in compiled.release_branches)
    assert all(isinstance(c.min_ddtrace, (Release, type(None))) for c in compiled.capabilities)
    assert compiled == by_packaging
    assert matrix_mod.to_layer(compiled) == matrix_mod.to_layer(by_packaging)


def test_a_user_layer_still_goes_through_packaging(tmp_path: Path) -> None:
    layer = {
        "schema_version": 1,
        "release_branches": [{"ddtrace": ">=9.1rc1,!=9.2.*", "support": "GA", "source": ""}],
    }
    path = tmp_path / "user.json"
    path.write_text(json.dumps(layer))
    merged = matrix_mod.load([path])
    branch = next(b for b in merged.release_branches if "9.1" in str(b.ddtrace))
    assert isinstance(branch.ddtrace, SpecifierSet)
    assert contains(branch.ddtrace, parse("9.1"))
    assert not contains(branch.ddtrace, parse("9.2.5"))
    assert contains(branch.ddtrace, parse("9.1rc2"))


# --- the compiler ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "intervals"),
    [
        ("<2", [(None, True, (2,), False)]),
        (">=3,<3.9", [((3,), True, (3, 9), False)]),
        ("==3.2.*", [((3, 2), True, (3, 3), False)]),
        ("~=2.2.0", [((2, 2), True, (2, 3), False)]),
        ("!=3.1.*,>=3", [((3,), True, (3, 1), False), ((3, 2), True, None, False)]),
        ("==2.0", [((2,), True, (2,), True)]),
        (">3.0.0.post1", [((3,), False, None, False)]),  # 3.0.0.0.1 is above 3.0.0.post1
        (">=3.0.0rc1", [((3,), True, None, False)]),
        ("<3.0.0rc1", [(None, True, (3,), False)]),
        ("==1.0+local", []),  # no plain release equals a local version
        (">=1!2", []),  # every plain release is in epoch 0
        ("", [(None, True, None, False)]),
    ],
)
def test_compile_range_boundaries(source: str, intervals: List[Any]) -> None:
    text, got = _compile.compile_range(source)
    assert text == str(SpecifierSet(source))
    assert list(got) == intervals


def test_arbitrary_equality_is_left_to_packaging() -> None:
    with pytest.raises(ValueError, match=r"'===1\.0': arbitrary equality \(===\) is left to"):
        _compile.compile_range("===1.0")


# --- parse ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("4.16.0", Release),
        ("0", Release),
        ("03.09", Release),
        ("2.6.0rc1", Version),
        ("1.0.post1", Version),
        ("1.0.dev3", Version),
        ("1.0+local", Version),
        ("1!2.0", Version),
        ("v1.0", Version),
        (" 1.0", Version),
        ("1.0_rc1", Version),
        ("\uff11.0", type(None)),  # a full-width digit: not ASCII, and not PEP 440 either
        ("1..0", type(None)),
        ("", type(None)),
        ("latest", type(None)),
    ],
)
def test_parse_reads_plain_releases_itself_and_hands_the_rest_to_packaging(
    text: str, kind: type
) -> None:
    parsed = parse(text)
    assert type(parsed) is kind
    if parsed is not None:
        assert parsed == Version(text)
        assert str(parsed) == str(Version(text))


def test_release_refuses_what_is_not_release_numbers() -> None:
    with pytest.raises(ValueError, match=r"not release numbers: \(\)"):
        Release(())
    with pytest.raises(ValueError, match=r"not release numbers: \(1, -1\)"):
        Release((1, -1))


# --- properties against packaging ---------------------------------------------------------------


def _numbers() -> List[int]:
    """The numbers the shipped ranges name, their neighbours, and a few others."""
    out = {0, 1, 2, 9, 10, 99, 100}
    for row in COMPILED["ranges"]:
        for lo, _, hi, _ in row["intervals"]:
            for bound in (lo, hi):
                for n in bound or []:
                    out.update({n, n + 1, max(n - 1, 0)})
    return sorted(out)


RELEASES = st.lists(st.sampled_from(_numbers()) | st.integers(0, 40), min_size=1, max_size=5)
SUFFIXES = st.sampled_from(
    ["", "", "", "a1", "b2", "rc1", ".post1", ".dev0", "rc1.dev2", "+local.7", ".post2+abc"]
)
EPOCHS = st.sampled_from(["", "", "", "1!"])


@st.composite
def version_texts(draw: Any) -> str:
    release = ".".join(str(n) for n in draw(RELEASES))
    return f"{draw(EPOCHS)}{release}{draw(SUFFIXES)}"


@SETTINGS
@given(st.sampled_from([r["source"] for r in COMPILED["ranges"]]), version_texts())
@example("<4,>=3.16", "3.16")
@example("<4,>=3.16", "3.16.0.0")
@example("<4,>=3.16", "4.0rc1")
@example("<4,>=3.16", "3.16.0rc1")
@example("<2", "2.0.0.dev1")
@example("==3.2.*", "3.2")
@example("==3.2.*", "3.3.0a1")
def test_compiled_range_answers_as_packaging(source: str, text: str) -> None:
    compiled = _shipped_range(source)
    expected = SpecifierSet(source).contains(Version(text), prereleases=True)
    parsed = parse(text)
    assert contains(compiled, parsed) is expected
    assert compiled.contains(text, prereleases=True) is expected
    if isinstance(parsed, Release):  # the intervals answered, not packaging
        assert compiled.holds(_versions.key(parsed.release)) is expected


@SETTINGS
@given(version_texts(), version_texts())
def test_versions_compare_as_packaging(a_text: str, b_text: str) -> None:
    a, b = parse(a_text), parse(b_text)
    pa, pb = Version(a_text), Version(b_text)
    assert a is not None and b is not None
    for x, y in ((a, b), (a, pb), (pa, b)):
        assert (x < y) is (pa < pb)
        assert (x <= y) is (pa <= pb)
        assert (x > y) is (pa > pb)
        assert (x >= y) is (pa >= pb)
        assert (x == y) is (pa == pb)
        assert (x != y) is (pa != pb)
    if pa == pb:
        assert hash(a) == hash(b) == hash(pa)
    assert str(a) == str(pa)
    assert (a.major, a.minor, a.micro, tuple(a.release)) == (
        pa.major,
        pa.minor,
        pa.micro,
        pa.release,
    )


def test_a_release_answers_every_other_question_as_packaging() -> None:
    release = parse("3.10.0")
    assert isinstance(release, Release)
    assert (release.public, release.base_version, release.is_prerelease) == (
        "3.10.0",
        "3.10.0",
        False,
    )
    assert (release.epoch, release.pre, release.post, release.dev, release.local) == (
        0,
        None,
        None,
        None,
        None,
    )
    assert repr(release) == repr(Version("3.10.0"))
    assert pickle.loads(pickle.dumps(release)) == release
    assert sorted([parse("3.9"), Version("3.10a1"), release]) == [
        Version("3.9"),
        Version("3.10a1"),
        Version("3.10"),
    ]
    with pytest.raises(AttributeError):
        release.no_such_attribute  # noqa: B018
    assert release != "3.10.0"  # like Version: a string is not a version


def test_a_compiled_range_answers_every_other_question_as_packaging() -> None:
    compiled = _shipped_range("<3.16,>=3.9")
    spec = SpecifierSet(">=3.9,<3.16")
    assert compiled == spec and spec == compiled and compiled == ">=3.9,<3.16"
    assert hash(compiled) == hash(spec)
    assert str(compiled) == str(spec) and repr(compiled) == repr(spec)
    assert sorted(str(s) for s in compiled) == sorted(str(s) for s in spec)
    assert len(compiled) == 2
    assert "3.10" in compiled and Version("3.16.0rc1") not in compiled
    assert list(compiled.filter(["3.8", "3.9", "3.15.2", "3.16"])) == ["3.9", "3.15.2"]
    assert pickle.loads(pickle.dumps(compiled)) == compiled
    assert matrix_mod.floor(compiled) == Version("3.9")


# --- the boot does not import packaging -----------------------------------------------------


def _modules_after(code: str, env: Optional[dict] = None) -> Tuple[List[str], str]:
    import os

    child = {k: v for k, v in os.environ.items() if not k.startswith(("APPSEC_GUARD_", "DD_"))}
    child.update({"DD_APPSEC_ENABLED": "true", "APPSEC_GUARD_PROBE": "off", **(env or {})})
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import logging; logging.basicConfig(level=logging.INFO); "
            + code
            + "; import sys; print(sorted(sys.modules))",
        ],
        env=child,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"')), out.stderr


@pytest.mark.slow
def test_the_flask_boot_imports_neither_packaging_nor_the_command() -> None:
    modules, logs = _modules_after(
        "import ddtrace, flask; import appsec_guard; assert appsec_guard.check().stack.ddtrace"
    )
    assert "appsec_guard.finding" in logs  # it ran and logged its findings
    assert not [m for m in modules if m.split(".")[0] == "packaging"]
    off_the_boot = ("_compile", "cli", "plan", "diff", "importer", "render", "assume", "findings")
    assert not [m for m in modules if m.split(".")[-1] in off_the_boot and "appsec_guard" in m]


@pytest.mark.slow
def test_the_django_boot_does_not_import_packaging() -> None:
    modules, logs = _modules_after(
        "import ddtrace, django; from django.conf import settings; "
        "settings.configure(INSTALLED_APPS=['appsec_guard.contrib.django']); django.setup(); "
        "from appsec_guard.contrib.django import checks; assert checks.REPORT.findings"
    )
    assert "appsec_guard.finding" in logs
    assert not [m for m in modules if m.split(".")[0] == "packaging"]


@pytest.mark.slow
def test_a_pre_release_falls_back_to_packaging() -> None:
    modules, _ = _modules_after(
        "import appsec_guard; from appsec_guard.detect.distributions import _version; "
        "assert type(_version('2.6.0rc1')).__name__ == 'Version'"
    )
    assert "packaging.version" in modules
