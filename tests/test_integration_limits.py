"""framework_integrations: the framework versions a ddtrace release's integration can run.

The Flask rows come from each release's ddtrace/contrib/flask/patch.py (it wraps
Flask.before_first_request unconditionally until 1.9.7, 1.11.4, 1.12.2 and 1.13.0) and are run
on both sides by the conformance suite (docs/conformance.md, "Framework edges").
"""

from __future__ import annotations

import json

import pytest

from appsec_guard.judge import judge
from appsec_guard.matrix import MatrixError, load, merge_layers, parse_layer, to_layer
from appsec_guard.model import Status
from appsec_guard.testing import make_stack

APPSEC = ("threat_detection", "threat_protection", "api_security", "code_security", "sca")


def _statuses(ddtrace: str, framework: str) -> dict:
    report = judge(make_stack(ddtrace=ddtrace, framework=framework), load())
    return {v.capability: v for v in report.verdicts}


@pytest.mark.parametrize(
    ("ddtrace", "flask"),
    [("1.9.0", "3.1.3"), ("1.9.6", "2.3.0"), ("1.10.3", "2.3.3"), ("1.11.3", "3.0.3"),
     ("1.12.1", "2.3.0")],
)  # fmt: skip
def test_releases_that_wrap_before_first_request_cannot_run_flask_2_3(
    ddtrace: str, flask: str
) -> None:
    report = judge(make_stack(ddtrace=ddtrace, framework=f"flask=={flask}"), load())
    td = report.verdict("threat_detection")
    assert td.status is Status.UNSUPPORTED
    assert any("before_first_request" in r for r in td.reasons)
    ids = {f.id for f in report.findings if f.capability == "threat_detection"}
    assert "AG307" in ids
    # SCA is not a web-integration feature, but the process does not start at all
    assert report.verdict("sca").status is Status.UNSUPPORTED


@pytest.mark.parametrize(
    ("ddtrace", "flask"),
    [("1.9.0", "2.2.5"), ("1.9.7", "2.3.3"), ("1.11.4", "3.0.3"), ("1.12.2", "2.3.0"),
     ("1.13.0", "3.1.3"), ("4.16.0", "3.1.3")],
)  # fmt: skip
def test_the_other_side_of_each_edge(ddtrace: str, flask: str) -> None:
    report = judge(make_stack(ddtrace=ddtrace, framework=f"flask=={flask}"), load())
    assert not [f for f in report.findings if f.id == "AG307"]
    assert report.verdict("threat_detection").status is Status.SUPPORTED


def test_django_is_not_touched_by_a_flask_row() -> None:
    report = judge(make_stack(ddtrace="1.9.0", framework="django==5.0"), load())
    assert not [f for f in report.findings if f.id == "AG307"]


def test_the_remedy_is_the_first_fixed_patch_release_or_an_older_framework() -> None:
    report = judge(make_stack(ddtrace="1.11.2", framework="flask==2.3.0"), load())
    (finding,) = [
        f for f in report.findings if f.id == "AG307" and f.capability == "threat_detection"
    ]
    # 1.11.4 is fixed, but a pin >=1.11.4 would let 1.12.0-1.12.1 in: past every range
    assert finding.remediation == "upgrade ddtrace to >=1.12.2 or pin flask<2.3"
    assert "patch.py" in finding.source


def test_a_layer_round_trips_and_a_bad_row_names_its_place() -> None:
    shipped = load()
    again = merge_layers([parse_layer(json.loads(json.dumps(to_layer(shipped))), "round trip")])
    assert again.integration_limits == shipped.integration_limits
    bad = {
        "schema_version": 1,
        "capabilities": [{"id": "threat_detection", "name": "TD", "min_ddtrace": "1.0"}],
        "framework_integrations": {
            "capabilities": ["threat_detection"],
            "rows": [{"framework": "flask", "ddtrace": ["<1"], "runs": "not a range", "reason": "r"}],
        },
    }  # fmt: skip
    with pytest.raises(MatrixError, match=r"framework_integrations.rows\[0\].runs"):
        parse_layer(bad, "user.json")
    bad["framework_integrations"]["rows"][0]["runs"] = "<2"  # type: ignore[index]
    bad["framework_integrations"]["capabilities"] = ["nope"]  # type: ignore[index]
    with pytest.raises(MatrixError, match="unknown capability 'nope'"):
        merge_layers([parse_layer(bad, "user.json")], "user.json")


@pytest.mark.parametrize(
    ("ddtrace", "framework", "covered"),
    [("4.16.0", "flask==1.1.2", False), ("4.16.0", "flask==1.1.4", True),
     ("3.10.0", "django==2.2.7", False), ("3.10.0", "django==2.2.8", True),
     ("3.9.0", "flask==1.1.2", True)],  # 3.9 declares no range
)  # fmt: skip
def test_the_range_a_release_declares_for_its_integration(
    ddtrace: str, framework: str, covered: bool
) -> None:
    report = judge(make_stack(ddtrace=ddtrace, framework=framework), load())
    hits = [f for f in report.findings if f.id == "AG307"]
    assert bool(hits) is not covered
    if not covered:
        assert report.verdict("threat_detection").status is Status.UNSUPPORTED
        # SCA does not hang on the web integration: only a crash at import takes it down
        assert report.verdict("sca").status is Status.SUPPORTED
        assert all("_supported_versions" in f.message for f in hits)
        assert hits[0].remediation.startswith("upgrade ")


def test_plan_upgrades_past_every_range_that_leaves_the_framework_out() -> None:
    from appsec_guard.plan import plan

    stack = make_stack(ddtrace="1.9.0", framework="flask==3.1.3", python="3.10")
    p = plan(stack, load(), ["threat_detection"])
    assert p.ok
    (step,) = p.steps
    # not 1.9.7: a pin >=1.9.7 would let 1.10.x and 1.11.0-1.11.3 in, which fail the same way
    assert step.change == "ddtrace>=1.12.2"
    assert "flask integration does not cover flask==3.1.3" in step.reason
    assert p.after.verdict("threat_detection").status is Status.SUPPORTED


def test_plan_leaves_a_range_with_no_end_to_the_verdict() -> None:
    from appsec_guard.plan import plan

    stack = make_stack(ddtrace="4.16.0", framework="flask==1.0", python="3.10")
    p = plan(stack, load(), ["threat_detection"])
    assert not p.ok
    assert any("Flask>=1.1.4" in why for _cap, why in p.unresolved)
