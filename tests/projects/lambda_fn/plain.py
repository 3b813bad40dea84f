"""A Lambda function that knows nothing of the guard (for the redirect handler)."""

import structlog_json  # noqa: F401  (the app's own structlog configuration)


def handler(event, context):
    from appsec_guard import session

    return {"echo": event, "guard_runs": session.STATE.runs}
