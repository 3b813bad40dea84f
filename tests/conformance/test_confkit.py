"""The conformance harness's own logic, on canned spans (fast; part of the default run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import confkit
from run_conformance import document

TRIGGERS = {"triggers": [{"rule": {"id": "ua0-600-12x", "name": "Arachni"}}]}


@pytest.mark.parametrize(
    ("verdict", "observed", "expected"),
    [
        ("supported", True, "yes"),
        ("supported", False, "NO: supported but not observed"),
        ("unsupported", False, "yes"),
        ("unsupported", True, "observed anyway"),
        ("supported", None, "not exercised"),
        ("beta", True, "n/a (beta)"),
    ],
)
def test_agreement(verdict: str, observed: object, expected: str) -> None:
    assert confkit.agreement(verdict, observed) == expected  # type: ignore[arg-type]


def test_triggers_from_the_json_tag_of_older_tracers() -> None:
    span = {"meta": {"_dd.appsec.json": json.dumps(TRIGGERS), "appsec.event": "true"}}
    assert confkit.appsec_triggers(span) == (["ua0-600-12x"], "_dd.appsec.json")


def test_triggers_from_meta_struct_of_newer_tracers() -> None:
    span = {"meta": {"appsec.event": "true"}, "meta_struct": {"appsec": TRIGGERS}}
    assert confkit.appsec_triggers(span) == (["ua0-600-12x"], "meta_struct.appsec")


def test_no_event_no_triggers() -> None:
    assert confkit.appsec_triggers({"meta": {"_dd.appsec.json": "not json"}}) == ([], "")
    assert confkit.appsec_triggers(None) == ([], "")


def test_root_span_is_matched_by_path_without_query() -> None:
    spans = [
        {"parent_id": 7, "meta": {"http.url": "http://127.0.0.1:1/probe/detect"}},
        {"parent_id": 0, "meta": {"http.url": "http://127.0.0.1:1/probe/detect?x=1"}},
    ]
    assert confkit._root_span(spans, "/probe/detect") is spans[1]
    assert confkit._root_span(spans, "/api/items") is None


def test_report_counts_broken_promises_first() -> None:
    rows = [
        {
            "release": "9.9.9", "python": "3.11", "framework": "flask==3.0.0",
            "capability": "api_security", "mechanism": "m", "guard": "supported",
            "observed": False, "agreement": "NO: supported but not observed", "evidence": "e",
        }
    ]  # fmt: skip
    meta = {"date": "d", "machine": "m", "agent": "a", "duration": "t", "versions": []}
    text = document(rows, meta)
    assert "supported but not observed: **1**" in text
    assert "| 9.9.9 | 3.11 | flask==3.0.0 | api_security |" in text
