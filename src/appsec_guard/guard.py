"""Detect, then judge: the one path every entry point takes to a report."""

from __future__ import annotations

from collections import abc
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Union

from . import matrix as _matrix
from .detect import Detection, ProbeOptions, detect
from .detect.distributions import Distributions
from .judge import judge
from .matrix import Matrix
from .model import Evidence, Finding, Framework, Report

if TYPE_CHECKING:
    from .assume import Assumptions


def assess(
    *,
    environ: Optional[Mapping[str, str]] = None,
    assumed: Optional[Union[Assumptions, Mapping[str, Any]]] = None,
    required: Iterable[str] = (),
    matrix: Optional[Matrix] = None,
    framework_hint: Optional[Framework] = None,
    root: Path = Path("/"),
    probe: Optional[ProbeOptions] = None,
    distributions: Optional[Distributions] = None,
) -> Report:
    """Detect the stack (facts in ``assumed`` are taken as given) and judge it.

    ``distributions``: a scan of the installed distributions made moments before (by an
    integration naming its framework), so that one run lists ``sys.path`` once."""
    detection = detect_assuming(environ, assumed, framework_hint, root, probe, distributions)
    return judged(detection, matrix if matrix is not None else _matrix.load(), required, environ)


def detect_assuming(
    environ: Optional[Mapping[str, str]] = None,
    assumed: Optional[Union[Assumptions, Mapping[str, Any]]] = None,
    framework_hint: Optional[Framework] = None,
    root: Path = Path("/"),
    probe: Optional[ProbeOptions] = None,
    distributions: Optional[Distributions] = None,
) -> Detection:
    """Detect every fact not in ``assumed`` (``distributions``: as for ``assess``)."""
    facts = assumed if assumed is None or isinstance(assumed, abc.Mapping) else assumed.facts()
    detection = detect(
        environ,
        assumed=facts,
        framework_hint=framework_hint,
        root=root,
        probe=probe,
        distributions=distributions,
    )
    implied = dict(getattr(assumed, "implied", ()))
    if implied:  # a fact completed from another assumption says which one implied it
        from ._frozen import replace

        evidence = tuple(
            Evidence(e.fact, "assumed", implied[e.fact])
            if e.fact in implied and e.source == "assumed"
            else e
            for e in detection.stack.evidence
        )
        detection = replace(detection, stack=detection.stack.with_facts(evidence=evidence))
    return detection


def judged(
    detection: Detection,
    matrix: Matrix,
    required: Iterable[str] = (),
    environ: Optional[Mapping[str, str]] = None,
    extra: Iterable[Finding] = (),
) -> Report:
    """Judge a detection: the verdicts, then ``extra`` findings (the policy's), the
    detection's and the judgement's, every text redacted (the one place a report is built)."""
    report = judge(
        detection.stack,
        matrix,
        requested=detection.requested,
        required=required,
        settings=detection.settings,
    )
    report = report.with_findings(tuple(extra) + detection.findings + report.findings)
    # Reports never hold a secret: a DD_* value quoted in a finding may be a pasted API key.
    from .redaction import redact_report, secret_values

    found = set(secret_values()) | (set(secret_values(environ)) if environ is not None else set())
    return redact_report(report, sorted(found, key=len, reverse=True))
