"""The catalogue of finding ids. Ids are stable: a new rule gets a new id, none is reused.

Each id names one kind of rule, so a team can silence it (``APPSEC_GUARD_SILENCE``,
Django's ``SILENCED_SYSTEM_CHECKS``) or alert on it in a log pipeline.
"""

from __future__ import annotations

from typing import Dict, NamedTuple


class Kind(NamedTuple):
    slug: str
    title: str


CATALOG: Dict[str, Kind] = {
    # ddtrace itself
    "AG100": Kind("ddtrace-missing", "ddtrace is not installed"),
    "AG101": Kind("ddtrace-too-old", "ddtrace is older than the capability's minimum version"),
    "AG102": Kind(
        "ddtrace-maintenance", "the ddtrace release line is in maintenance or end of life"
    ),
    "AG103": Kind(
        "ddtrace-line-unlisted", "the matrix lists no support level for this ddtrace release line"
    ),
    "AG104": Kind("ddtrace-version-unknown", "ddtrace is installed but its version is unreadable"),
    "AG110": Kind("capability-beta", "the capability is in beta"),
    "AG111": Kind(
        "capability-dependency", "the capability needs another capability that does not work here"
    ),
    # runtime
    "AG200": Kind(
        "runtime-unsupported", "this ddtrace release does not support this OS, CPU or Python"
    ),
    "AG201": Kind("runtime-no-data", "the matrix has no runtime rows for this ddtrace release"),
    "AG202": Kind(
        "runtime-capability-unsupported",
        "this ddtrace release never runs the capability on this OS or Python",
    ),
    # frameworks
    "AG300": Kind("framework-too-old", "the web framework is older than the matrix's minimum"),
    "AG301": Kind("framework-unlisted", "the web framework is not in the matrix"),
    "AG302": Kind("framework-version-unknown", "the web framework's version could not be read"),
    "AG303": Kind("framework-caveat", "the framework has a documented limitation"),
    "AG304": Kind(
        "auth-framework-unsupported",
        "automatic user activity tracking does not cover this framework or version",
    ),
    "AG305": Kind(
        "framework-ambiguous", "several web frameworks are installed and none is running"
    ),
    "AG306": Kind(
        "framework-capability-unsupported", "the framework is listed, but not for this capability"
    ),
    # deployment
    "AG400": Kind(
        "deployment-unsupported", "the capability is not available on this deployment type"
    ),
    "AG401": Kind("deployment-unlisted", "the deployment type is not in the matrix"),
    "AG402": Kind(
        "deployment-excluded",
        "this ddtrace release turns the capability off on this deployment type",
    ),
    # remote configuration
    "AG500": Kind("remote-config-disabled", "Remote Configuration is turned off"),
    "AG501": Kind("remote-config-unavailable", "Remote Configuration is not available here"),
    "AG502": Kind("remote-config-unknown", "Remote Configuration could not be checked"),
    # settings the app gave ddtrace
    "AG600": Kind(
        "setting-misread", "ddtrace reads a DD_* value differently from what it seems to mean"
    ),
    "AG601": Kind("setting-invalid", "a DD_* value is malformed"),
    "AG610": Kind("setting-off", "the settings leave a wanted capability off in this process"),
    "AG611": Kind(
        "setting-remote-only",
        "a wanted capability is off at boot; only Remote Configuration can switch it on",
    ),
    "AG612": Kind(
        "setting-unknown", "whether the settings switch a wanted capability on cannot be told"
    ),
    # the guard's own configuration
    "AG700": Kind("guard-config-invalid", "an APPSEC_GUARD_* value is malformed"),
    "AG701": Kind("guard-matrix-invalid", "the user matrix file is malformed"),
    # the guard itself
    "AG900": Kind("detector-failed", "a detector failed; its fact is unknown"),
    "AG901": Kind("emitter-failed", "the guard could not log its findings"),
}
