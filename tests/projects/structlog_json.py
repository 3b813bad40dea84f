"""How a user configures structlog in their app: JSON lines on stdout. Imported by the apps."""

import sys

import structlog

structlog.configure(
    processors=[
        structlog.processors.add_log_level,
        structlog.processors.JSONRenderer(sort_keys=True),
    ],
    logger_factory=structlog.PrintLoggerFactory(sys.stdout),
)
