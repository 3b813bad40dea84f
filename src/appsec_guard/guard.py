"""Detect, then judge: the one path every entry point takes to a report."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from . import matrix as _matrix
from .detect import ProbeOptions, detect
from .detect.distributions import Distributions
from .judge import judge
from .matrix import Matrix
from .model import Framework, Report


def assess(
    *,
    environ: Optional[Mapping[str, str]] = None,
    assumed: Optional[Mapping[str, Any]] = None,
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
    detection = detect(
        environ,
        assumed=assumed,
        framework_hint=framework_hint,
        root=root,
        probe=probe,
        distributions=distributions,
    )
    report = judge(
        detection.stack,
        matrix if matrix is not None else _matrix.load(),
        requested=detection.requested,
        required=required,
        settings=detection.settings,
    )
    report = report.with_findings(detection.findings + report.findings)
    # Reports never hold a secret: a DD_* value quoted in a finding may be a pasted API key.
    from ._emit import redact_report, secret_values

    found = set(secret_values()) | (set(secret_values(environ)) if environ is not None else set())
    return redact_report(report, sorted(found, key=len, reverse=True))
