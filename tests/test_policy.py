"""The policy: precedence, where each value came from, and AG700 for bad values.

Public names only: ``policy.resolve`` and the frozen ``Policy`` it returns.
"""

from __future__ import annotations

import pytest

from appsec_guard import policy


def test_each_value_names_its_source() -> None:
    pol = policy.resolve(
        {"mode": "strict"},
        {"silence": ["AG303"], "require": "sca"},
        {"APPSEC_GUARD_REQUIRE": "api_security", "APPSEC_GUARD_FAIL_CLOSED": "true"},
        settings_label="settings.APPSEC_GUARD",
    )
    assert (pol.mode, pol.require, pol.silence, pol.fail_closed) == (
        "strict",
        {"sca"},
        {"AG303"},
        True,
    )
    assert pol.origin("mode") == "argument mode="
    assert pol.origin("require") == "settings.APPSEC_GUARD['require']"
    assert pol.origin("silence") == "settings.APPSEC_GUARD['silence']"
    assert pol.origin("fail_closed") == "APPSEC_GUARD_FAIL_CLOSED"
    assert pol.origin("matrix") == "default"


def test_flask_config_names_the_prefixed_key() -> None:
    pol = policy.resolve(None, {"mode": "off"}, {}, settings_label="app.config")
    assert pol.origin("mode") == "app.config['APPSEC_GUARD_MODE']"


def test_django_silenced_checks_add_to_the_silence_and_say_so() -> None:
    pol = policy.resolve(
        None,
        None,
        {"APPSEC_GUARD_SILENCE": "AG101"},
        extra_silence=("AG400",),
    )
    assert pol.silence == {"AG101", "AG400"}
    assert pol.origin("silence") == "APPSEC_GUARD_SILENCE and SILENCED_SYSTEM_CHECKS"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"APPSEC_GUARD_MODE": "loud"}, "APPSEC_GUARD_MODE: 'loud' is not a mode; using warn"),
        (
            {"APPSEC_GUARD_FAIL_CLOSED": "maybe"},
            "APPSEC_GUARD_FAIL_CLOSED: 'maybe' is not a boolean; using false",
        ),
        (
            {"APPSEC_GUARD_SILENCE": "AG1,AG101"},
            "APPSEC_GUARD_SILENCE: 'AG1' is not a finding id; ignored",
        ),
    ],
)
def test_a_bad_value_is_one_ag700_and_the_default(env: dict, message: str) -> None:
    pol = policy.resolve(None, None, env)
    (problem,) = pol.problems
    assert problem.id == "AG700"
    assert problem.message == message
    assert "\n" not in problem.message
    name = next(iter(env))
    assert problem.remediation.startswith(f"set {name} to ")


def test_unknown_required_capability_is_dropped_with_ag700() -> None:
    pol = policy.resolve(None, None, {"APPSEC_GUARD_REQUIRE": "SCA,teleport"})
    pol = pol.with_capabilities(("sca", "api_security"))
    assert pol.require == {"sca"}
    (problem,) = pol.problems
    assert problem.message == "APPSEC_GUARD_REQUIRE: 'teleport' is not a capability; ignored"
