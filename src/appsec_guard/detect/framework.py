"""Which web framework serves the app: told by an integration, else imported, else installed."""

from __future__ import annotations

from typing import List, Mapping, Optional, Tuple

from ..model import Evidence, Fact, Finding, Framework, Severity
from .distributions import Distributions

#: Web frameworks the guard recognises, by import name -> distribution name. Listed in the
#: order a tie is broken: a framework built on another (FastAPI on Starlette) comes first.
KNOWN_FRAMEWORKS = (
    ("django", "django"),
    ("flask", "flask"),
    ("fastapi", "fastapi"),
    ("quart", "quart"),
    ("starlette", "starlette"),
    ("litestar", "litestar"),
    ("sanic", "sanic"),
    ("tornado", "tornado"),
    ("aiohttp", "aiohttp"),
    ("pyramid", "pyramid"),
    ("falcon", "falcon"),
    ("bottle", "bottle"),
    ("cherrypy", "cherrypy"),
)

# Frameworks another framework imports for its own use: not evidence of what serves the app.
_BUILT_ON = {"fastapi": "starlette", "litestar": "starlette"}

# Also installed and imported as plain libraries (an HTTP client, an event loop, a toolkit under
# another framework): evidence only when imported and nothing else is.
_ALSO_LIBRARIES = frozenset({"aiohttp", "tornado", "starlette"})


def detect_framework(
    modules: Mapping[str, object],
    dists: Distributions,
    hint: Optional[Framework] = None,
) -> Fact:
    """The web framework serving the app (value: a Framework or None), its evidence, and
    findings when several are imported or installed."""
    return Fact.of(*_detect(modules, dists, hint))


def _detect(
    modules: Mapping[str, object],
    dists: Distributions,
    hint: Optional[Framework] = None,
) -> Tuple[Optional[Framework], List[Evidence], List[Finding]]:
    if hint is not None:
        return hint, [Evidence("framework", "integration", str(hint))], []

    running = [(mod, dist) for mod, dist in KNOWN_FRAMEWORKS if mod in modules]
    for outer, inner in _BUILT_ON.items():
        if any(m == outer for m, _ in running):
            running = [(m, d) for m, d in running if m != inner]
    if any(m not in _ALSO_LIBRARIES for m, _ in running):
        running = [(m, d) for m, d in running if m not in _ALSO_LIBRARIES]
    if running:
        mod, dist_name = running[0]
        fw = _framework(dist_name, dists)
        evidence = [Evidence("framework", "sys.modules", f"{mod} is imported")]
        findings = []
        if len(running) > 1:
            others = ", ".join(m for m, _ in running[1:])
            findings.append(
                Finding(
                    "AG305",
                    Severity.WARNING,
                    None,
                    f"several web frameworks are imported ({mod}, {others}); judging {mod}",
                    f"tell the guard which one serves the app: use its integration, "
                    f"or --assume framework={dist_name}==X.Y",
                )
            )
        return fw, evidence, findings

    installed = [
        dist for mod, dist in KNOWN_FRAMEWORKS if dist in dists and mod not in _ALSO_LIBRARIES
    ]
    if len(installed) == 1:
        fw = _framework(installed[0], dists)
        return (
            fw,
            [Evidence("framework", "installed distributions", f"only {installed[0]} is installed")],
            [],
        )
    if not installed:
        return (
            None,
            [Evidence("framework", "installed distributions", "no web framework installed")],
            [],
        )
    names = ", ".join(installed)
    return (
        None,
        [Evidence("framework", "installed distributions", f"{names} installed, none imported")],
        [
            Finding(
                "AG305",
                Severity.WARNING,
                None,
                f"several web frameworks are installed ({names}) and none is imported yet; "
                "framework rules are not applied",
                "run the guard from the app (its Django app, Flask extension or after the "
                f"framework import), or --assume framework={installed[0]}==X.Y",
            )
        ],
    )


def _framework(dist_name: str, dists: Distributions) -> Framework:
    dist = dists.get(dist_name)
    return Framework(dist_name, dist.version if dist else None)
