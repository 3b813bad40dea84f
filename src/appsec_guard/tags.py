"""Unified service tagging: the ``service``, ``env`` and ``version`` of this process, read as
ddtrace reads them, so the guard's logs, report and metric join the service in Datadog.

``DD_SERVICE``, ``DD_ENV`` and ``DD_VERSION`` win; otherwise the ``service:``, ``env:`` and
``version:`` tags of ``DD_TAGS`` (ddtrace 4.16.0: ddtrace/internal/settings/_config.py sets
env, service and version from those variables, falling back to ``self.tags``; ddtrace 2.9.0:
ddtrace/settings/config.py does the same). ``DD_TAGS`` is split on commas when it has one,
else on whitespace; each tag is ``key:value`` split at the first colon, both sides stripped;
a tag with no colon has an empty value (ddtrace 4.16.0: ddtrace/internal/utils/formats.py,
``parse_tags_str``). ddtrace 2.9.0 tried both separators and kept the split with more
``key:value`` tags, which agrees on every well-formed list. An empty variable counts as unset.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional

TAG_KEYS = ("service", "env", "version")
_VARIABLES = {"service": "DD_SERVICE", "env": "DD_ENV", "version": "DD_VERSION"}


def parse_dd_tags(text: str) -> Dict[str, str]:
    """``DD_TAGS`` as ddtrace 4.16.0 reads it: ``"env:prod,team:shop"`` or ``"env:prod team:shop"``."""
    tags: Dict[str, str] = {}
    if not text:
        return tags
    for tag in text.split("," if "," in text else None):
        key, _, value = tag.strip().partition(":")
        if key.strip():
            tags[key.strip()] = value.strip()
    return tags


def unified_service_tags(environ: Optional[Mapping[str, str]] = None) -> Dict[str, Optional[str]]:
    """``{"service": ..., "env": ..., "version": ...}``, None for what is not set."""
    env = os.environ if environ is None else environ
    from_tags = parse_dd_tags(env.get("DD_TAGS", ""))
    return {key: env.get(var) or from_tags.get(key) or None for key, var in _VARIABLES.items()}


def tagged(doc: Mapping[str, Any], environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """A JSON report with ``service``, ``env`` and ``version`` after ``schema_version``."""
    out: Dict[str, Any] = {}
    tags = unified_service_tags(environ)
    for key, value in doc.items():
        out[key] = value
        if key == "schema_version":
            out.update(tags)
    if "service" not in out:
        out.update(tags)
    return out
