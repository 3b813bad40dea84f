"""The activation model: its data, and its answers at every release boundary.

The facts come from each release's source (cited per row in data/activation.json); the
conformance test tests/conformance/test_activation_real.py runs real releases against it.
"""

from __future__ import annotations

import json
import re
from typing import Dict, List, Optional

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from appsec_guard import activation
from appsec_guard.activation import Settings, reading, state
from appsec_guard.model import Active, RemoteConfig

CITATION = re.compile(r"^(ddtrace \d+\.\d+\.\d+|envier \d)")
CAPS = (
    "threat_detection",
    "threat_protection",
    "custom_blocking_response",
    "sca",
    "code_security",
    "user_event_tracking",
    "api_security",
)


def _doc() -> Dict[str, object]:
    data: Dict[str, object] = json.loads(activation.DATA_FILE.read_text(encoding="utf-8"))
    return data


def test_every_row_cites_a_release_and_file_and_ranges_are_pep440() -> None:
    doc = _doc()
    settings = doc["settings"]
    assert isinstance(settings, dict)
    for name, row in settings.items():
        for r in row["reads"]:
            assert CITATION.match(r["source"]), (name, r["source"])
            assert ": " in r["source"] and "/" in r["source"], (name, r["source"])
            SpecifierSet(r["ddtrace"])  # raises on anything but a PEP 440 specifier


@pytest.mark.parametrize("name", sorted(json.loads(activation.DATA_FILE.read_text())["settings"]))
def test_each_setting_has_exactly_one_reading_per_release(name: str) -> None:
    """No gap and no overlap: every release from 0.1 to 9 falls in one row."""
    rows = _doc()["settings"][name]["reads"]  # type: ignore[index]
    probes = [Version(f"{a}.{b}.{c}") for a in range(1, 6) for b in range(25) for c in (0, 1, 2, 4)]
    for v in probes:
        hits = [r for r in rows if SpecifierSet(r["ddtrace"]).contains(v)]
        assert len(hits) == 1, (name, str(v), hits)


@pytest.mark.parametrize(
    ("name", "version", "how"),
    [
        ("DD_APPSEC_ENABLED", "2.1.9", "asbool"),
        ("DD_APPSEC_ENABLED", "2.2.0", "envier"),
        ("DD_APPSEC_ENABLED", "2.2.0rc1", "envier"),  # a pre-release reads as its release
        ("DD_APPSEC_SCA_ENABLED", "2.8.9", "ignored"),
        ("DD_APPSEC_SCA_ENABLED", "2.9.0", "asbool"),
        ("DD_APPSEC_SCA_ENABLED", "4.12.9", "asbool"),
        ("DD_APPSEC_SCA_ENABLED", "4.13.0", "envier"),
        ("DD_IAST_ENABLED", "2.1.0", "asbool"),
        ("DD_IAST_ENABLED", "2.15.9", "envier"),
        ("DD_IAST_ENABLED", "2.16.0", "envier"),
        ("DD_API_SECURITY_ENABLED", "2.5.9", "ignored"),
        ("DD_API_SECURITY_ENABLED", "2.6.0", "envier"),
        ("DD_EXPERIMENTAL_API_SECURITY_ENABLED", "2.5.9", "envier"),
        ("DD_EXPERIMENTAL_API_SECURITY_ENABLED", "2.6.0", "ignored"),
        ("DD_API_SECURITY_REQUEST_SAMPLE_RATE", "2.5.0", "ignored"),
        ("DD_API_SECURITY_REQUEST_SAMPLE_RATE", "2.7.3", "float"),
        ("DD_API_SECURITY_REQUEST_SAMPLE_RATE", "2.8.0", "ignored"),
        ("DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING", "2.10.9", "mapped"),
        ("DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING", "2.11.0", "raw_lower"),
        ("DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING", "2.19.3", "raw_lower"),
        ("DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING", "2.19.4", "ignored"),
        ("DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING", "2.20.1", "raw_lower"),
        ("DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING", "2.20.2", "ignored"),
        ("DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING", "2.21.0", "raw_lower"),
        ("DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING", "2.21.1", "ignored"),
        ("DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING", "3.0.0", "ignored"),
        ("DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE", "2.10.0", "ignored"),
        ("DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE", "2.11.0", "option_prefix"),
    ],
)
def test_reading_at_each_boundary(name: str, version: str, how: str) -> None:
    assert reading(name, Version(version)).how == how


def test_an_unknown_version_reads_as_the_newest_release() -> None:
    assert reading("DD_APPSEC_SCA_ENABLED", None).how == "envier"


def _state(cap: str, version: Optional[str], env: Dict[str, str], **kw: object) -> Active:
    v = None if version is None else Version(version)
    return state(cap, v, env, **kw).state  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("version", "env", "rc", "deployment", "expected"),
    [
        ("4.16.0", {"DD_APPSEC_ENABLED": "true"}, RemoteConfig.UNAVAILABLE, "lambda", Active.ON),
        ("4.16.0", {"DD_APPSEC_ENABLED": "false"}, RemoteConfig.ENABLED, "docker", Active.OFF),
        ("4.16.0", {"DD_APPSEC_ENABLED": ""}, RemoteConfig.ENABLED, "docker", Active.OFF),
        ("4.16.0", {}, RemoteConfig.ENABLED, "docker", Active.REMOTE),
        ("4.16.0", {}, RemoteConfig.UNKNOWN, "docker", Active.REMOTE),
        ("4.16.0", {}, RemoteConfig.UNAVAILABLE, "docker", Active.OFF),
        ("4.16.0", {}, RemoteConfig.DISABLED, "docker", Active.OFF),
        ("4.16.0", {}, RemoteConfig.ENABLED, "lambda", Active.OFF),
        ("4.16.0", {"DD_REMOTE_CONFIGURATION_ENABLED": "yes"}, RemoteConfig.ENABLED, "docker", Active.OFF),
        ("1.9.0", {}, RemoteConfig.ENABLED, "docker", Active.REMOTE),
        ("1.8.9", {}, RemoteConfig.ENABLED, "docker", Active.OFF),
        ("2.1.0", {"DD_APPSEC_ENABLED": "yes"}, RemoteConfig.ENABLED, "docker", Active.OFF),
        ("2.2.0", {"DD_APPSEC_ENABLED": "yes"}, RemoteConfig.ENABLED, "docker", Active.ON),
    ],
)  # fmt: skip
def test_appsec_activation(
    version: str, env: Dict[str, str], rc: RemoteConfig, deployment: str, expected: Active
) -> None:
    for cap in ("threat_detection", "threat_protection"):
        got = _state(cap, version, env, remote_config=rc, deployment=deployment)
        assert got is expected, cap


def test_features_inside_appsec_are_never_more_on_than_appsec() -> None:
    order = [Active.OFF, Active.UNKNOWN, Active.REMOTE, Active.ON]
    envs: List[Dict[str, str]] = [
        {},
        {"DD_APPSEC_ENABLED": "false"},
        {"DD_APPSEC_ENABLED": "true"},
        {"DD_REMOTE_CONFIGURATION_ENABLED": "false"},
    ]
    for env in envs:
        appsec = _state("threat_detection", "4.16.0", env, remote_config=RemoteConfig.ENABLED)
        for cap in ("api_security", "user_event_tracking", "custom_blocking_response"):
            got = _state(cap, "4.16.0", env, remote_config=RemoteConfig.ENABLED)
            assert order.index(got) <= order.index(appsec), (env, cap, got)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE": "ident"}, Active.ON),
        ({"DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE": "nonsense"}, Active.REMOTE),
        ({"DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE": "disabled"}, Active.REMOTE),
        ({"DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING_ENABLED": "false"}, Active.OFF),
        ({"DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING_ENABLED": "no"}, Active.OFF),
    ],
)
def test_user_tracking_switches(env: Dict[str, str], expected: Active) -> None:
    full = {"DD_APPSEC_ENABLED": "true", **env}
    assert _state("user_event_tracking", "4.16.0", full, remote_config=RemoteConfig.ENABLED) is (
        expected
    )


def test_settings_view_keeps_only_the_names_it_reads() -> None:
    s = Settings.of({"DD_APPSEC_ENABLED": "true", "DD_API_KEY": "secret", "PATH": "/bin"})
    assert s.values == (("DD_APPSEC_ENABLED", "true"),)
    assert hash(s) == hash(Settings.of({"DD_APPSEC_ENABLED": "true"}))


def test_unknown_capability_is_unknown_not_an_error() -> None:
    got = state("rasp", Version("4.16.0"), {})
    assert got.state is Active.UNKNOWN
    assert "no activation rule" in got.reason


def test_stable_configuration_only_from_3_2() -> None:
    s = Settings.of(
        {"DD_APPSEC_ENABLED": "true"},
        stable_config=["/etc/datadog-agent/application_monitoring.yaml"],
    )
    assert state("threat_detection", Version("3.1.9"), s).state is Active.ON
    got = state("threat_detection", Version("3.2.0"), s)
    assert got.state is Active.UNKNOWN
    assert got.source.startswith("ddtrace 3.2.0: ddtrace/settings/_core.py")


def test_malformed_data_is_refused_with_its_place() -> None:
    doc = _doc()
    doc["settings"]["DD_APPSEC_ENABLED"]["reads"][0]["as"] = "yaml"  # type: ignore[index]
    with pytest.raises(ValueError, match=r"settings\.DD_APPSEC_ENABLED\.reads\[0\]\.as: 'yaml'"):
        activation.parse(doc)
    doc = _doc()
    doc["settings"]["DD_IAST_ENABLED"]["reads"][1]["source"] = ""  # type: ignore[index]
    with pytest.raises(ValueError, match=r"DD_IAST_ENABLED\.reads\[1\]: no source"):
        activation.parse(doc)


def test_every_capability_has_a_rule() -> None:
    for cap in CAPS:
        assert "no activation rule" not in state(cap, Version("4.16.0"), {}).reason


@pytest.mark.parametrize(
    ("os_name", "fleet", "local"),
    [
        (
            "linux",
            "/etc/datadog-agent/managed/datadog-agent/stable/application_monitoring.yaml",
            "/etc/datadog-agent/application_monitoring.yaml",
        ),
        (
            "macos",
            "/opt/datadog-agent/etc/stable/application_monitoring.yaml",
            "/opt/datadog-agent/etc/application_monitoring.yaml",
        ),
        (
            "windows",
            "C:\\ProgramData\\Datadog\\managed\\datadog-agent\\stable\\application_monitoring.yaml",
            "C:\\ProgramData\\Datadog\\application_monitoring.yaml",
        ),
    ],
)
def test_stable_configuration_files_per_os(os_name: str, fleet: str, local: str) -> None:
    # the paths in ddtrace 3.2.0's native module of the Linux, macOS and Windows wheels
    assert activation.stable_config_files(os_name) == (("fleet", fleet), ("local", local))
