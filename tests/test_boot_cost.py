"""What keeps the boot cheap: the shipped matrix is read once, a distribution's metadata is read
only when asked for and only once. (Timings are in benchmarks/, not here.)"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List

import pytest

from appsec_guard import matrix
from appsec_guard.detect import distributions
from appsec_guard.detect.distributions import Distributions


def test_shipped_layers_are_read_once_even_with_user_layers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix, "_SHIPPED", None)
    monkeypatch.setattr(matrix, "_SHIPPED_LAYERS", None)
    read: List[str] = []
    monkeypatch.setattr(matrix, "_PARSED", {})
    real_layer, real_compiled, real_parsed = (
        matrix.read_layer,
        matrix.read_compiled,
        matrix.read_parsed,
    )

    def counting(path: Path) -> Any:
        read.append(path.name)
        return real_layer(path)

    def counting_compiled(path: Path) -> Any:
        read.append(path.name)
        return real_compiled(path)

    def counting_parsed(path: Path, **kwargs: Any) -> Any:
        if kwargs.get("fresh") or path not in matrix._PARSED:  # read from disk, not the cache
            read.append(path.name)
        return real_parsed(path, **kwargs)

    monkeypatch.setattr(matrix, "read_layer", counting)
    monkeypatch.setattr(matrix, "read_compiled", counting_compiled)
    monkeypatch.setattr(matrix, "read_parsed", counting_parsed)
    user = tmp_path / "user.json"
    user.write_text('{"schema_version": 1}')
    merged: List[str] = []
    real_merge = matrix.merge_layers

    def counting_merge(layers: Any, origin: str = "matrix") -> Any:
        merged.append(origin)
        return real_merge(layers, origin)

    monkeypatch.setattr(matrix, "merge_layers", counting_merge)
    shipped = matrix.load()
    assert merged == []  # the shipped matrix comes merged by the compiler
    with_user = matrix.load([user])
    matrix.load([user])
    # the boot loads the parsed matrix, never the files it was compiled from
    assert read == ["compiled.pickle", "user.json", "user.json"]
    assert with_user == shipped  # an empty layer changes nothing


def test_a_distribution_is_read_only_when_asked_and_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("flask-3.0.0.dist-info", "nover.dist-info", "other-1.0.dist-info"):
        (tmp_path / name).mkdir()
    (tmp_path / "nover.dist-info" / "METADATA").write_text("Name: nover\nVersion: 2.1\n\n")
    parsed: List[str] = []
    real = distributions._parse_dir

    def counting(entry: str, dirname: str) -> Any:
        parsed.append(dirname)
        return real(entry, dirname)

    monkeypatch.setattr(distributions, "_parse_dir", counting)
    dists = Distributions.scan([str(tmp_path)])
    assert parsed == []  # listing is enough for "is it installed"
    assert "flask" in dists
    assert "Other" in dists
    assert "django" not in dists
    assert parsed == []
    nover = dists.get("nover")
    assert nover is not None
    assert str(nover.version) == "2.1"
    dists.get("nover")
    assert parsed == ["nover.dist-info"]
    assert sorted(dists.names()) == ["flask", "nover", "other"]


def test_the_scan_does_not_list_the_standard_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import sysconfig

    (tmp_path / "flask-3.0.0.dist-info").mkdir()
    listed: List[str] = []
    real = os.listdir

    def counting(path: str) -> Any:
        listed.append(path)
        return real(path)

    monkeypatch.setattr(distributions.os, "listdir", counting)
    stdlib = sysconfig.get_paths()["stdlib"]
    dynload = os.path.join(stdlib, "lib-dynload")
    assert os.path.isdir(stdlib) and stdlib in sys.path  # CPython's layout, as in every app
    dists = Distributions.scan([stdlib, dynload, str(tmp_path)])
    assert listed == [str(tmp_path)]
    assert "flask" in dists
    # every other directory of the process's path is still listed, and finds what is installed
    listed.clear()
    everything = Distributions.scan()
    assert "pytest" in everything and "packaging" in everything
    assert stdlib not in listed and set(sys.path) - {stdlib, dynload} <= set(listed) | {""}
