"""A tiny Flask app with an app factory, guarded by the AppSecGuard extension.

Serve it with ``flask --app demo_flask run``. The guard's policy comes from the environment
(APPSEC_GUARD_MODE, APPSEC_GUARD_REQUIRE) so that one app runs every scenario; a real app would
set ``APPSEC_GUARD_MODE`` in its config, which wins over the environment.
"""

import sys

import structlog
from flask import Flask, current_app, jsonify

from appsec_guard.contrib.flask import AppSecGuard

# The app's own logging: structlog, one JSON object a line on stdout; the guard uses it.
structlog.configure(
    processors=[
        structlog.processors.add_log_level,
        structlog.processors.JSONRenderer(sort_keys=True),
    ],
    logger_factory=structlog.PrintLoggerFactory(sys.stdout),
)

guard = AppSecGuard()


def create_app():
    app = Flask(__name__)
    guard.init_app(app)  # strict mode: raises GuardError here, and no app is created

    @app.route("/")
    def index():
        report = current_app.extensions["appsec_guard"]
        return jsonify(
            app="flask",
            deployment=report.stack.deployment,
            ok=report.ok,
            capabilities={v.capability: v.status.value for v in report.verdicts},
        )

    return app
