"""A Lambda function that knows nothing of the guard. Guard it with the redirect handler:
handler ``appsec_guard.aws_lambda.handler`` and ``APPSEC_GUARD_LAMBDA_HANDLER=plain.handler``."""

import demo_logging  # noqa: F401  (the function's logging, configured before the guard runs)


def handler(event, context):
    return {"echo": event, "request_id": context.aws_request_id}
