"""A Lambda function guarded with the decorator: handler ``decorated.handler``."""

import demo_logging  # noqa: F401  (the function's logging, configured before the guard runs)

import appsec_guard


@appsec_guard.lambda_handler
def handler(event, context):
    report = appsec_guard.check()  # the cold start's report, cached
    return {"echo": event, "ok": report.ok, "request_id": context.aws_request_id}
