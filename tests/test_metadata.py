"""Package metadata: one version, the license, and dependencies that are what the guard imports."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import sys
from pathlib import Path
from typing import Set

import pytest
from packaging.requirements import Requirement

import appsec_guard

SRC = Path(__file__).resolve().parents[1] / "src"
# Imported only inside the integration that serves them (the app brings them), or by the pytest
# plugin (pytest runs it): not dependencies.
OPTIONAL = {"django", "flask", "click", "awslambdaric", "pytest", "tomli"}


def imported_top_level() -> Set[str]:
    names: Set[str] = set()
    for path in [*SRC.joinpath("appsec_guard").rglob("*.py"), SRC / "appsec_guard_pytest.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_one_version() -> None:
    assert metadata.version("appsec-guard") == appsec_guard.__version__


def test_license_and_classifiers() -> None:
    meta = metadata.metadata("appsec-guard")
    assert meta["License"] == "Apache-2.0"
    classifiers = set(meta.get_all("Classifier") or [])
    assert "License :: OSI Approved :: Apache Software License" in classifiers
    assert {"Framework :: Django", "Framework :: Flask", "Framework :: Pytest"} <= classifiers
    assert {f"Programming Language :: Python :: 3.{m}" for m in range(8, 14)} <= classifiers
    assert "Apache License" in (SRC.parent / "LICENSE").read_text(encoding="utf-8")


@pytest.mark.skipif(sys.version_info < (3, 10), reason="sys.stdlib_module_names is 3.10+")
def test_dependencies_are_what_the_guard_imports() -> None:
    third_party = imported_top_level() - set(sys.stdlib_module_names) - {
        "appsec_guard", "appsec_guard_pytest", "__future__"
    }  # fmt: skip
    declared = {
        Requirement(r).name: Requirement(r)
        for r in metadata.requires("appsec-guard") or []
        if "extra ==" not in r
    }
    assert third_party - OPTIONAL == {"packaging", "wrapt"}
    # structlog: used through sys.modules when the app configured it, never imported
    assert set(declared) == {"packaging", "wrapt", "structlog", "tomli"}
    assert str(declared["tomli"].marker) == 'python_version < "3.11"'


def test_the_pytest_plugin_is_registered() -> None:
    eps = metadata.distribution("appsec-guard").entry_points
    assert [(e.name, e.value) for e in eps if e.group == "pytest11"] == [
        ("appsec_guard", "appsec_guard_pytest")
    ]


def test_every_shipped_data_file_is_in_the_package_data() -> None:
    # a data file no package-data pattern names is missing from the wheel: the boot would fall
    # back to the JSON (compiled.pickle), or fail to find its matrix
    import fnmatch

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    pyproject = tomllib.loads((SRC.parent / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["appsec_guard"]
    package = SRC / "appsec_guard"
    shipped = [
        p.relative_to(package).as_posix()
        for p in (package / "data").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert "data/compiled.pickle" in shipped
    missing = [f for f in shipped if not any(fnmatch.fnmatch(f, pat) for pat in patterns)]
    assert missing == []
