"""The conformance Flask app as an AWS Lambda function behind API Gateway (REST, payload 1.0).

``handler`` turns the API Gateway event into a WSGI request for the Flask app and its answer
into the proxy response, as the WSGI adapters people deploy Flask on Lambda with do. Run it
under ``ddtrace-run python -m awslambdaric lambda_app.handler`` against the suite's loopback
Runtime API; ddtrace's Flask integration traces the request and AppSec acts on it.
"""

import base64
import io
import sys
from urllib.parse import urlencode

from flask_app import app


def handler(event, context):
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    body = (event.get("body") or "").encode()
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body)
    environ = {
        "REQUEST_METHOD": event.get("httpMethod", "GET"),
        "SCRIPT_NAME": "",
        "PATH_INFO": event.get("path", "/"),
        "QUERY_STRING": urlencode(event.get("queryStringParameters") or {}),
        "SERVER_NAME": headers.get("host", "lambda.local"),
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": (event.get("requestContext") or {}).get("identity", {}).get("sourceIp", ""),
        "CONTENT_TYPE": headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for key, value in headers.items():
        name = key.upper().replace("-", "_")
        if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[f"HTTP_{name}"] = value
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(response_headers)

    chunks = app(environ, start_response)
    try:
        text = b"".join(chunks).decode("utf-8", "replace")
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return {"statusCode": answer["status"], "headers": answer["headers"], "body": text}
