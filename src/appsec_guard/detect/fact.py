"""What every detector returns: one typed result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Tuple

from ..model import Evidence, Finding

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same frozen classes, defined without exec (see _frozen.py)
    from .._frozen import dataclass


@dataclass(frozen=True)
class Fact:
    """One detector's answer: the value of its fact, the evidence that decided it, and the
    findings about it (an ambiguous framework, an Agent that could not be asked)."""

    value: Any
    evidence: Tuple[Evidence, ...] = ()
    findings: Tuple[Finding, ...] = ()

    @classmethod
    def of(cls, value: Any, evidence: Iterable[Evidence], findings: Iterable[Finding] = ()) -> Fact:
        return cls(value, tuple(evidence), tuple(findings))
