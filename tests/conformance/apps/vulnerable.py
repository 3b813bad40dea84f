"""Deliberately vulnerable Flask views for the Code Security (IAST) rows of the conformance suite.

A query parameter flows unchecked into a SQL statement and a shell command. It is a module of
its own, imported by the app, because ddtrace's IAST instruments modules as they are imported
(the script run as ``__main__`` is not). The suite sends only harmless values; the app listens
on 127.0.0.1 only and stops by itself.
"""

import sqlite3
import subprocess

from flask import request


def sqli():
    name = request.args.get("name", "")
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE items (name TEXT)")
    rows = db.execute("SELECT name FROM items WHERE name = '" + name + "'").fetchall()
    db.close()
    return f"{len(rows)} rows\n"


def cmdi():
    word = request.args.get("word", "")
    out = subprocess.run("echo " + word, shell=True, capture_output=True, text=True, timeout=10)
    return out.stdout


def register(app):
    app.add_url_rule("/iast/sqli", "iast_sqli", sqli)
    app.add_url_rule("/iast/cmdi", "iast_cmdi", cmdi)
