"""Which variables the redaction treats as secrets (in-process, no subprocess)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appsec_guard.redaction import redact_text, secret_values


def test_the_current_directory_is_not_a_secret() -> None:
    env = {
        "PWD": "/srv/app/current",
        "OLDPWD": "/srv/app/previous",
        "DB_PWD": "hunter2hunter2",
        "PWD_FILE_READER": "readerpassw0rd",
        "DB_PASSWORD": "correcthorsebattery",
    }
    found = secret_values(env)
    assert set(found) == {"hunter2hunter2", "readerpassw0rd", "correcthorsebattery"}
    text = "evidence: /srv/app/current/settings.py, db=hunter2hunter2"
    assert redact_text(text, found) == "evidence: /srv/app/current/settings.py, db=***"


_KEY = "0123456789abcdef0123456789ABCDEF"  # 32 hex digits: the shape of a Datadog API key


@pytest.mark.parametrize(
    "text",
    [
        f"api key {_KEY} in a message",
        f"key={_KEY}",
        f"({_KEY}abcdef01)",  # 40 hex digits: an application key
        f"clé {_KEY} donnée",  # non-ASCII text around it
        f"{_KEY}",
        f"not a key: {_KEY[:31]} and {_KEY[1:]}g",
        f"inside a word: x{_KEY} and {_KEY}é",
        "\x00" * 40 + " NULs are not hex digits",
        "https://docs.example/security/application_security/setup/compatibility/python/",
    ],
)
def test_the_shortcut_test_for_a_key_never_skips_the_expression(text: str) -> None:
    # the hex-run test only spares compiling the expression: the text is the expression's own
    by_expression = re.sub(r"\b[0-9a-fA-F]{32}\b|\b[0-9a-fA-F]{40}\b", "***", text)
    assert redact_text(text, ()) == by_expression


@given(st.text(alphabet="0123456789abcdefABCDEFxyz é-=:/\x00", min_size=30, max_size=80))
@settings(max_examples=300, deadline=None)
def test_hex_runs_are_redacted_as_the_expression_redacts_them(text: str) -> None:
    by_expression = re.sub(r"\b[0-9a-fA-F]{32}\b|\b[0-9a-fA-F]{40}\b", "***", text)
    assert redact_text(text, ()) == by_expression


def _by_every_expression(text: str) -> str:
    text = re.sub(r"(?<=://)[^/@\s]+@", "***@", text)
    text = re.sub(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", "***", text, flags=re.IGNORECASE)
    return re.sub(r"\b[0-9a-fA-F]{32}\b|\b[0-9a-fA-F]{40}\b", "***", text)


@pytest.mark.parametrize(
    "text",
    ["AKIAABCDEFGHIJKLMNOP", "asiaabcdefghijklmnop", "AKIAABCDEFGHIJKLMNO", "a://u@h", "x@y"],
)
def test_short_texts_are_redacted_as_the_expressions_redact_them(text: str) -> None:
    # a text shorter than 20 characters without "@" skips the expressions: none can match it
    assert redact_text(text, ()) == _by_every_expression(text)


@given(st.text(alphabet="AKISakis0123456789ABCDEFPQRZ@:/ .", max_size=40))
@settings(max_examples=400, deadline=None)
def test_no_shortcut_skips_a_credential_shape(text: str) -> None:
    assert redact_text(text, ()) == _by_every_expression(text)
