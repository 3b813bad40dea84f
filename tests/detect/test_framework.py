"""Which framework serves the app: the integration's word, then sys.modules, then what is installed."""

from __future__ import annotations

from pathlib import Path

from packaging.version import Version

from appsec_guard.detect.distributions import Distributions
from appsec_guard.detect.framework import detect_framework
from appsec_guard.model import Framework


def _dists(site: Path, *names: str) -> Distributions:
    for name in names:
        (site / f"{name}.dist-info").mkdir(parents=True)
    return Distributions.scan([str(site)])


def test_the_integration_wins(tmp_path: Path) -> None:
    dists = _dists(tmp_path, "Django-4.2.1", "Flask-3.0.0")
    hint = Framework("flask", Version("3.0.0"))
    fact = detect_framework({"django": object()}, dists, hint)
    fw, evidence, findings = fact.value, list(fact.evidence), list(fact.findings)
    assert fw == hint
    assert evidence[0].source == "integration"
    assert findings == []


def test_imported_beats_installed(tmp_path: Path) -> None:
    dists = _dists(tmp_path, "Django-4.2.1", "Flask-3.0.0")
    fact = detect_framework({"flask": object()}, dists)
    fw, evidence, findings = fact.value, list(fact.evidence), list(fact.findings)
    assert fw == Framework("flask", Version("3.0.0"))
    assert evidence[0].source == "sys.modules"
    assert findings == []


def test_two_imported_is_a_warning_naming_both(tmp_path: Path) -> None:
    dists = _dists(tmp_path, "Django-4.2.1", "Flask-3.0.0")
    fact = detect_framework({"flask": object(), "django": object()}, dists)
    fw, findings = fact.value, list(fact.findings)
    assert fw == Framework("django", Version("4.2.1"))
    assert [f.id for f in findings] == ["AG305"]
    assert "django, flask" in findings[0].message


def test_two_installed_none_imported_is_a_finding_not_a_guess(tmp_path: Path) -> None:
    dists = _dists(tmp_path, "Django-4.2.1", "Flask-3.0.0")
    fact = detect_framework({}, dists)
    fw, findings = fact.value, list(fact.findings)
    assert fw is None
    assert [f.id for f in findings] == ["AG305"]
    assert "django, flask" in findings[0].message


def test_a_framework_built_on_another_is_the_one_reported(tmp_path: Path) -> None:
    dists = _dists(tmp_path, "fastapi-0.110.0", "starlette-0.36.3")
    fact = detect_framework({"fastapi": object(), "starlette": object()}, dists)
    fw, findings = fact.value, list(fact.findings)
    assert fw == Framework("fastapi", Version("0.110.0"))
    assert findings == []


def test_libraries_that_double_as_frameworks_do_not_count_beside_a_framework(
    tmp_path: Path,
) -> None:
    dists = _dists(tmp_path, "Flask-3.0.0", "aiohttp-3.9.1", "tornado-6.4")
    fact = detect_framework({"flask": object(), "aiohttp": object()}, dists)
    fw, findings = fact.value, list(fact.findings)
    assert fw == Framework("flask", Version("3.0.0"))
    assert findings == []
    # installed but not imported: aiohttp and tornado are usually someone's dependency
    fact = detect_framework({}, dists)
    fw, findings = fact.value, list(fact.findings)
    assert fw == Framework("flask", Version("3.0.0"))
    assert findings == []
    # imported alone, it is what serves the app
    fact = detect_framework({"aiohttp": object()}, dists)
    fw = fact.value
    assert fw == Framework("aiohttp", Version("3.9.1"))


def test_imported_without_metadata_has_no_version(tmp_path: Path) -> None:
    fact = detect_framework({"bottle": object()}, _dists(tmp_path))
    fw = fact.value
    assert fw == Framework("bottle", None)


def test_nothing_installed(tmp_path: Path) -> None:
    fact = detect_framework({}, _dists(tmp_path))
    fw, evidence, findings = fact.value, list(fact.evidence), list(fact.findings)
    assert fw is None
    assert findings == []
    assert evidence[0].detail == "no web framework installed"
