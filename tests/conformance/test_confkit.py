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
        ("beta", True, "yes (beta)"),
        ("beta", False, "beta, not observed"),
        ("unknown", True, "n/a (unknown)"),
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


def test_iast_report_from_the_json_tag_or_meta_struct() -> None:
    report = {"vulnerabilities": [{"type": "SQL_INJECTION"}, {"type": "COMMAND_INJECTION"}]}
    old = {"meta": {"_dd.iast.json": json.dumps(report)}}
    new = {"meta": {}, "meta_struct": {"iast": report}}
    assert confkit.iast_vulnerabilities(old) == ["COMMAND_INJECTION", "SQL_INJECTION"]
    assert confkit.iast_vulnerabilities(new) == ["COMMAND_INJECTION", "SQL_INJECTION"]
    assert confkit.iast_vulnerabilities({"meta": {"_dd.iast.json": "{"}}) == []
    assert confkit.iast_vulnerabilities(None) == []


def test_dependencies_and_the_sca_setting_from_telemetry() -> None:
    events = [
        {"request_type": "app-started", "payload": {"configuration": [
            {"name": "DD_APPSEC_SCA_ENABLED", "value": True},
            {"name": "DD_APPSEC_OBFUSCATION_PARAMETER_KEY_REGEXP", "value": "x"},
        ]}},
        {"request_type": "app-dependencies-loaded", "payload": {"dependencies": [
            {"name": "Flask", "version": "3.1.3"}, {"name": "werkzeug", "version": "3.1.0"},
        ]}},
    ]  # fmt: skip
    deps, config = confkit._dependencies(events)
    assert deps == {"flask": "3.1.3", "werkzeug": "3.1.0"}
    assert config == {"DD_APPSEC_SCA_ENABLED": True}


def test_an_api_gateway_event_carries_method_path_headers_and_query() -> None:
    event = confkit._apigw("/iast/sqli", headers={"User-Agent": "x"}, query={"name": "w"})
    assert event["httpMethod"] == "GET" and event["path"] == "/iast/sqli"
    assert event["headers"]["User-Agent"] == "x" and event["queryStringParameters"] == {"name": "w"}


def test_sections_each_get_a_table_and_the_summary_counts_all() -> None:
    base = {"python": "3.12", "framework": "flask==3.0.3", "mechanism": "m", "evidence": "e"}
    rows = [
        {**base, "section": "lambda", "release": "3.8.1", "capability": "threat_detection",
         "guard": "unsupported", "observed": False, "agreement": "yes"},
        {**base, "section": "sca", "release": "4.16.0", "capability": "sca",
         "guard": "supported", "observed": True, "agreement": "yes"},
    ]  # fmt: skip
    meta = {"date": "d", "machine": "m", "agent": "a", "duration": "t", "versions": []}
    text = document(rows, meta)
    assert "## AWS Lambda" in text and "## Software Composition Analysis" in text
    assert "## Activation" not in text  # no rows, no section
    assert "supported but not observed: **0**" in text


def test_every_kind_of_observed_anyway_row_has_its_explanation() -> None:
    from run_conformance import explain

    row = {"section": "lambda", "capability": "threat_protection",
           "mechanism": "local rules file (DD_APPSEC_RULES), on_match block; no Remote Configuration"}  # fmt: skip
    assert "Remote Configuration" in explain(row)
    row = {"section": "sca", "capability": "sca", "mechanism": "telemetry off"}
    assert explain(row).startswith("not explained yet")
