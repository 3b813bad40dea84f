"""Remediations worded for the entry point that shows them (only the command has ``--assume``).

Apart from the rest of the text for people (``render``): the boot path needs it whenever a
finding names ``--assume``, and it stays small.
"""

from __future__ import annotations

import re

from .model import Finding, Report

#: the entry points of the guard (the ``entry`` of log events); only the command has --assume
ENTRIES = ("command", "import", "django", "flask", "lambda", "check", "fork")
# (patterns, compiled by re's own cache when first used: not on the boot path of an app whose
# findings name no --assume)
_ASSUME_CLAUSE = r",? (?:or )?(?:state it(?: with)?:? )?--assume [^\s,;]*"
_ONLY_ASSUME = r"^state it:? --assume [^\s,;]*$"
_OR_STATE_IT = ", or state it: --assume "
#: AG305 (which framework serves the app) as each entry point can act on it
_WHICH_FRAMEWORK = {
    "import": "import appsec_guard after the framework that serves the app, or use its "
    "integration (the Django app or the Flask extension)",
    "check": "call appsec_guard.check(refresh=True) after the framework that serves the app is "
    "imported, or use its integration (the Django app or the Flask extension)",
    "lambda": "import the framework that serves the function in the handler's module, before "
    "the guard runs (above @appsec_guard.lambda_handler)",
}


def remediation_for(entry: str, finding: Finding) -> str:
    """``finding``'s remediation worded for ``entry``: ``--assume`` exists only in the command,
    so elsewhere the clause that names it is dropped or replaced by what that entry can do."""
    text = finding.remediation
    if entry == "command" or "--assume" not in text:
        return text
    if finding.id == "AG305":
        return _WHICH_FRAMEWORK.get(
            entry, "use the integration of the framework that serves the app"
        )
    if finding.id == "AG900":
        return "report this to appsec-guard's maintainers; the fact it decides is judged unknown"
    if text.startswith("state it") and re.match(_ONLY_ASSUME, text):  # (spares compiling it)
        return "reinstall it so that its metadata has a version"
    # The judgement's usual form, "<fix>, or state it: --assume <fact>=<value>", is the one
    # match of _ASSUME_CLAUSE when nothing before it names --assume and nothing after it is a
    # space, comma or semicolon: cut without compiling the expression (tests compare the two).
    head, clause, tail = text.partition(_OR_STATE_IT)
    if clause and "--assume" not in head and not any(c.isspace() or c in ",;" for c in tail):
        return head
    return re.sub(_ASSUME_CLAUSE, "", text)


def worded_for(entry: str, report: Report) -> Report:
    """``report`` with every remediation worded for ``entry``."""
    from ._frozen import replace

    findings = tuple(
        f
        if remediation_for(entry, f) == f.remediation
        else replace(f, remediation=remediation_for(entry, f))
        for f in report.findings
    )
    return report.with_findings(findings)
