"""A small real Flask app with an app factory, guarded by appsec-guard."""

import structlog_json  # noqa: F401  (the app's own structlog configuration)
from flask import Flask, jsonify

from appsec_guard import session
from appsec_guard.contrib.flask import AppSecGuard

guard = AppSecGuard()


def create_app(config=None):
    app = Flask(__name__)
    app.config.from_prefixed_env("TEST")  # e.g. TEST_APPSEC_GUARD_MODE=strict
    app.config.update(config or {})
    guard.init_app(app)

    @app.route("/")
    def index():
        return jsonify(hello="flask", guard_runs=session.STATE.runs)

    return app
