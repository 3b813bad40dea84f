"""A tiny Flask app for the conformance suite; run it under ``ddtrace-run``.

Routes: ``/``, ``/probe/NAME``, ``/api/items`` (a JSON POST, for API Security) and the
deliberately vulnerable ``/iast/sqli`` and ``/iast/cmdi`` (vulnerable.py, for Code Security).
Imported as a module by lambda_app.py. It listens on 127.0.0.1:$CONFORMANCE_PORT and stops after $CONFORMANCE_MAX_SECONDS (a bound,
in case the suite dies before it can stop the app).
"""

import os
import threading

import vulnerable
from flask import Flask, jsonify, request

app = Flask(__name__)
vulnerable.register(app)


@app.route("/")
def index():
    return "ok\n"


@app.route("/probe/<name>")
def probe(name):
    return f"probe {name} ok\n"


@app.route("/api/items", methods=["POST"])
def items():
    payload = request.get_json(silent=True) or {}
    return jsonify({"received": sorted(payload)})


if __name__ == "__main__":
    limit = float(os.environ.get("CONFORMANCE_MAX_SECONDS", "120"))
    timer = threading.Timer(limit, os._exit, args=(3,))
    timer.daemon = True
    timer.start()
    app.run(
        host="127.0.0.1",
        port=int(os.environ["CONFORMANCE_PORT"]),
        threaded=False,
        use_reloader=False,
    )
