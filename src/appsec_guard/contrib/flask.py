"""The Flask extension: ``AppSecGuard(app)`` or ``guard.init_app(app)`` in an app factory.

The guard runs once in ``init_app`` (app creation), with Flask as the framework and the
``APPSEC_GUARD_*`` keys of ``app.config`` as the policy; the report is stored in
``app.extensions["appsec_guard"]`` (None in off mode). No request hook is installed.
``flask appsec-guard check`` prints the report.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, cast

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo

from .. import _emit, guard, session  # noqa: F401 (the run's modules: see below)
from ..errors import GuardError
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
        self.report = session.run("flask", **self._run_args())
        app.extensions[EXTENSION] = self.report
        app.extensions[_GUARD] = self
        app.cli.add_command(cli)

    def _run_args(self) -> Dict[str, Any]:
        return {
            "code": self.policy,
            "settings": self.settings,
            "settings_label": "app.config",
            "framework_hint": session.framework_version("flask"),
        }


@cli.command("check", with_appcontext=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("-v", "--verbose", is_flag=True, help="also show info findings")
def check_command(fmt: str, verbose: bool) -> None:
    """Print the guard's report for this app; exit 1 if a wanted capability is unsupported."""
    ctx = click.get_current_context()
    if current_app:
        report = _app_report(cast(Any, current_app)._get_current_object())
    else:
        try:  # the app is created here, so a strict refusal is a report, not a traceback
            app = ctx.ensure_object(ScriptInfo).load_app()
        except GuardError as exc:
            if exc.report is None:
                raise click.ClickException(str(exc)) from None
            report = exc.report
        else:
            with app.app_context():
                report = _app_report(app)
    if fmt == "json":  # the session's reports are redacted where they are built
        from ..redaction import redact
        from ..tags import tagged

        click.echo(json.dumps(redact(tagged(report.to_dict())), indent=2))
    else:
        from ..render import report_text  # the command's, off the app's boot path

        click.echo(report_text(report, verbose=verbose), nl=False)
    if not report.ok:
        ctx.exit(1)


def _app_report(app: Flask) -> Report:
    report: Optional[Report] = app.extensions.get(EXTENSION)
    if report is None:  # off mode at boot: the command is an explicit request to judge
        guard: Optional[AppSecGuard] = app.extensions.get(_GUARD)
        args = (
            guard._run_args()
            if guard is not None
            else {"framework_hint": session.framework_version("flask")}
        )
        report = session.run("flask", force=True, **args)
    assert report is not None
    return report
