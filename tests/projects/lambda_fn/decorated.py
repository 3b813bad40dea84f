"""A Lambda function using the decorator."""

import structlog_json  # noqa: F401  (the app's own structlog configuration)

import appsec_guard
from appsec_guard import session


@appsec_guard.lambda_handler
def handler(event, context):
    """Echo the event."""
    return {"echo": event, "guard_runs": session.STATE.runs, "request_id": context.aws_request_id}
