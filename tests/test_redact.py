"""Which variables the redaction treats as secrets (in-process, no subprocess)."""

from __future__ import annotations

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
