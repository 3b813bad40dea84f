"""The function's own logging: structlog, one JSON object a line on stdout (CloudWatch)."""

import sys

import structlog

structlog.configure(
    processors=[
        structlog.processors.add_log_level,
        structlog.processors.JSONRenderer(sort_keys=True),
    ],
    logger_factory=structlog.PrintLoggerFactory(sys.stdout),
)
