"""The Flask extension: ``AppSecGuard(app)`` or ``guard.init_app(app)`` in an app factory.

The guard runs once in ``init_app`` (app creation), with Flask as the framework and the
``APPSEC_GUARD_*`` keys of ``app.config`` as the policy; the report is stored in
``app.extensions["appsec_guard"]`` (None in off mode). No request hook is installed.
``flask appsec-guard check`` prints the report.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .. import _emit, _process, guard  # noqa: F401 (the run's modules: see below)
from ..model import Report
from ..policy import ENV_ONLY_NAMES

# _emit and guard are the modules a run imports on first use: importing them with the extension
# (whose next step is the run) leaves AppSecGuard(app) the run alone, which the benchmark times.

EXTENSION = "appsec_guard"
_GUARD = "appsec_guard.extension"  # the AppSecGuard object: its code policy and settings
_PREFIX = "APPSEC_GUARD_"

cli = AppGroup("appsec-guard", help="appsec-guard: Datadog AppSec compatibility of this app.")


class AppSecGuard:
    """``AppSecGuard(app, mode="strict", require=["threat_protection"])``.

    Keyword arguments are the policy in code (they win over ``app.config`` and the
    environment). In strict mode ``init_app`` raises GuardError and the app is not created.
    """

    def __init__(self, app: Optional[Flask] = None, **policy: Any) -> None:
        self.policy: Dict[str, Any] = policy
        self.report: Optional[Report] = None
        self.settings: Dict[str, Any] = {}  # the APPSEC_GUARD_* keys of app.config
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        conf = {
            key[len(_PREFIX) :].lower(): value
            for key, value in app.config.items()
            if isinstance(key, str) and key.startswith(_PREFIX) and key not in ENV_ONLY_NAMES
        }
        self.settings = conf
        self.report = _process.run("flask", **self._run_args())
        app.extensions[EXTENSION] = self.report
        app.extensions[_GUARD] = self
        app.cli.add_command(cli)

    def _run_args(self) -> Dict[str, Any]:
        return {
            "code": self.policy,
            "settings": self.settings,
            "settings_label": "app.config",
            "framework_hint": _process._framework_version("flask"),
        }


@cli.command("check")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("-v", "--verbose", is_flag=True, help="also show info findings")
def check_command(fmt: str, verbose: bool) -> None:
    """Print the guard's report for this app; exit 1 if a wanted capability is unsupported."""
    from .._emit import redact, redact_text
    from ..render import report_text

    report: Optional[Report] = current_app.extensions.get(EXTENSION)
    if report is None:  # off mode at boot: the command is an explicit request to judge
        guard: Optional[AppSecGuard] = current_app.extensions.get(_GUARD)
        args = (
            guard._run_args()
            if guard is not None
            else {"framework_hint": _process._framework_version("flask")}
        )
        report = _process.run("flask", force=True, **args)
    assert report is not None
    if fmt == "json":
        click.echo(json.dumps(redact(report.to_dict()), indent=2))
    else:
        click.echo(redact_text(report_text(report, verbose=verbose)), nl=False)
    if not report.ok:
        click.get_current_context().exit(1)
