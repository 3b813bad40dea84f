"""DD_* settings read as ddtrace reads them, per ddtrace version."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

import pytest
from packaging.version import Version

from appsec_guard.detect.settings import read_settings

NEW = Version("4.16.0")
V1 = Version("1.20.19")


def _req(env: Dict[str, str], version: Optional[Version] = NEW) -> List[str]:
    return sorted(read_settings(env, version).requested)


def _ids(env: Dict[str, str], version: Optional[Version] = NEW) -> List[str]:
    return [f.id for f in read_settings(env, version).findings]


def test_nothing_set_requests_nothing() -> None:
    s = read_settings({}, NEW)
    assert s.requested == frozenset()
    assert s.remote_config_enabled is True
    assert s.findings == ()


def test_appsec_requests_detection_only() -> None:
    # blocking comes with AppSec where Remote Configuration reaches it, but only the team
    # asks for it (require): DD_APPSEC_ENABLED=true does not request threat_protection
    assert _req({"DD_APPSEC_ENABLED": "true"}) == ["threat_detection"]
    assert _req({"DD_APPSEC_ENABLED": "TRUE"}) == ["threat_detection"]
    assert _req({"DD_APPSEC_ENABLED": "false"}) == []


def test_yes_is_false_for_old_ddtrace_and_a_warning_says_so() -> None:
    s = read_settings({"DD_APPSEC_ENABLED": "yes"}, V1)
    assert s.requested == frozenset()
    (finding,) = s.findings
    assert finding.id == "AG600"
    assert "ddtrace 1.20.19 reads DD_APPSEC_ENABLED='yes' as false" in finding.message
    assert finding.remediation == "write DD_APPSEC_ENABLED=true"


def test_yes_is_true_from_2_2_envier() -> None:
    assert _req({"DD_APPSEC_ENABLED": "yes"}, Version("2.2.0")) == ["threat_detection"]
    assert _ids({"DD_APPSEC_ENABLED": "on"}, Version("2.6.0rc1")) == []
    assert _req({"DD_APPSEC_ENABLED": "yes"}, Version("2.1.0")) == []


def test_malformed_boolean_is_ag601() -> None:
    s = read_settings({"DD_IAST_ENABLED": "maybe"}, NEW)
    assert s.requested == frozenset()
    assert [f.id for f in s.findings] == ["AG601"]
    assert "reads it as false" in s.findings[0].message


def test_enabled_means_true_but_ddtrace_reads_false() -> None:
    assert _ids({"DD_APPSEC_ENABLED": "enabled"}) == ["AG600"]


def test_iast_and_sca() -> None:
    assert _req({"DD_IAST_ENABLED": "1"}) == ["code_security"]
    assert _req({"DD_APPSEC_SCA_ENABLED": "true"}) == ["sca"]
    # SCA is read with asbool up to 4.12 ("yes" is false), with envier from 4.13.0
    assert _req({"DD_APPSEC_SCA_ENABLED": "yes"}, Version("4.12.0")) == []
    assert _ids({"DD_APPSEC_SCA_ENABLED": "yes"}, Version("4.12.0")) == ["AG600"]
    assert _req({"DD_APPSEC_SCA_ENABLED": "yes"}, Version("4.13.0")) == ["sca"]
    assert _ids({"DD_APPSEC_SCA_ENABLED": "yes"}, Version("4.13.0")) == []
    assert _req({"DD_APPSEC_SCA_ENABLED": "yes"}, Version("4.13.0rc1")) == ["sca"]


def test_api_security_names_per_version() -> None:
    on = {"DD_APPSEC_ENABLED": "true"}
    assert "api_security" in _req({**on, "DD_API_SECURITY_ENABLED": "true"})
    assert "api_security" in _req(
        {**on, "DD_EXPERIMENTAL_API_SECURITY_ENABLED": "true"}, Version("2.5.0")
    )
    # the name this version does not read: still the intent, and a warning
    assert _ids({**on, "DD_EXPERIMENTAL_API_SECURITY_ENABLED": "true"}) == ["AG600"]
    # default-on with AppSec is noted, not counted
    s = read_settings(on, NEW)
    assert "api_security" not in s.requested
    assert any(e.source == "default" for e in s.evidence)


def test_api_security_without_appsec_has_no_effect() -> None:
    s = read_settings({"DD_API_SECURITY_ENABLED": "true"}, NEW)
    assert s.requested == frozenset()
    assert "has no effect" in s.findings[0].message


def test_blocking_templates() -> None:
    env = {"DD_APPSEC_ENABLED": "true", "DD_APPSEC_HTTP_BLOCKED_TEMPLATE_JSON": "/etc/b.json"}
    assert "custom_blocking_response" in _req(env)
    assert _ids({"DD_APPSEC_HTTP_BLOCKED_TEMPLATE_HTML": "/etc/b.html"}) == ["AG600"]


@pytest.mark.parametrize(
    ("env", "version", "requested"),
    [
        ({"DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE": "identification"}, NEW, True),
        ({"DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE": "anon"}, NEW, True),  # a prefix
        ({"DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE": "disabled"}, NEW, False),
        ({"DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING_ENABLED": "true"}, NEW, True),
        ({"DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING_ENABLED": "false"}, NEW, False),
        ({"DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING": "extended"}, Version("2.5.0"), True),
        ({"DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING": "safe"}, Version("2.12.0"), True),
        ({"DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING": "disabled"}, Version("2.5.0"), False),
        ({"DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING": "extended"}, NEW, False),  # dropped in 3.0
    ],
)
def test_user_tracking(env: Dict[str, str], version: Version, requested: bool) -> None:
    got = read_settings({"DD_APPSEC_ENABLED": "true", **env}, version).requested
    assert ("user_event_tracking" in got) is requested


def test_user_tracking_needs_appsec() -> None:
    s = read_settings({"DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE": "identification"}, NEW)
    assert s.requested == frozenset()
    assert [f.id for f in s.findings] == ["AG600"]


def test_user_mode_ddtrace_reads_as_disabled() -> None:
    env = {"DD_APPSEC_ENABLED": "1", "DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE": "anonymisation"}
    s = read_settings(env, NEW)
    assert "user_event_tracking" not in s.requested
    assert "reads DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE='anonymisation' as disabled" in (
        s.findings[0].message
    )


def test_legacy_user_mode_malformed() -> None:
    env = {"DD_APPSEC_ENABLED": "1", "DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING": "always"}
    assert _ids(env, Version("2.5.0")) == ["AG601"]


def test_remote_config_switch() -> None:
    assert (
        read_settings({"DD_REMOTE_CONFIGURATION_ENABLED": "false"}, NEW).remote_config_enabled
        is False
    )
    s = read_settings({"DD_REMOTE_CONFIGURATION_ENABLED": "yes"}, NEW)  # asbool: false
    assert s.remote_config_enabled is False
    assert [f.id for f in s.findings] == ["AG600"]


def test_unknown_version_reads_as_newest() -> None:
    assert _req({"DD_APPSEC_ENABLED": "on"}, None) == ["threat_detection"]


def test_long_values_are_shortened() -> None:
    s = read_settings({"DD_APPSEC_ENABLED": "x" * 500}, NEW)
    assert len(s.findings[0].message) < 300


def test_read_disk_finds_stable_configuration_and_unreadable_templates(tmp_path: Path) -> None:
    from appsec_guard.detect.settings import read_disk

    f = tmp_path / "opt/datadog-agent/etc/stable/application_monitoring.yaml"
    f.parent.mkdir(parents=True)
    f.write_text("apm_configuration_default: {}\n")
    env = {"DD_APPSEC_HTTP_BLOCKED_TEMPLATE_HTML": str(tmp_path)}  # a directory: not readable
    present, unreadable, evidence = read_disk(env, tmp_path, "macos")
    assert present == ("/opt/datadog-agent/etc/stable/application_monitoring.yaml",)
    assert unreadable == {"DD_APPSEC_HTTP_BLOCKED_TEMPLATE_HTML"}
    assert [e.detail for e in evidence] == [
        "fleet stable configuration file",
        "names a file that cannot be read",
    ]
    assert read_disk({}, tmp_path, "linux") == ((), frozenset(), [])
