"""What ddtrace will really switch on in this process: the activation model.

The matrix says what a stack *can* do; this module says what ddtrace *will* do with the app's
settings. For one capability, a ddtrace release, the app's settings, Remote Configuration and
the deployment type, :func:`state` answers with an :class:`Activation`:

- ``on``: the settings switch it on at boot;
- ``remote``: it is off at boot, and Datadog can switch it on through Remote Configuration
  (AppSec's one-click activation, a user-tracking mode sent remotely);
- ``off``: the settings leave it off and nothing can switch it on in this process;
- ``unknown``: the guard cannot tell (a stable configuration file on disk, a value it cannot
  parse the way ddtrace does).

The facts (which release reads which setting, and how) are data, ``data/activation.json``,
each row with the ddtrace release and file it was read from; this module only combines them.
No I/O but reading that file once; whatever needs the filesystem (is a template readable, is a
stable configuration file present) is found by the settings detector and passed in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    FrozenSet,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
    cast,
)

from ._versions import base_version, contains
from .matrix import version_range
from .model import (
    API_SECURITY,
    CODE_SECURITY,
    CUSTOM_BLOCKING_RESPONSE,
    SCA,
    THREAT_DETECTION,
    THREAT_PROTECTION,
    USER_EVENT_TRACKING,
    Active,
    RemoteConfig,
)

if TYPE_CHECKING:
    from dataclasses import dataclass

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version
else:  # the same frozen classes, defined without exec (see _frozen.py)
    from ._frozen import dataclass

DATA_FILE = Path(__file__).parent / "data" / "activation.json"

APPSEC = "DD_APPSEC_ENABLED"
RC = "DD_REMOTE_CONFIGURATION_ENABLED"
SCA_VAR = "DD_APPSEC_SCA_ENABLED"
IAST = "DD_IAST_ENABLED"
TELEMETRY = "DD_INSTRUMENTATION_TELEMETRY_ENABLED"
DEPENDENCIES = "DD_TELEMETRY_DEPENDENCY_COLLECTION_ENABLED"
API_NEW = "DD_API_SECURITY_ENABLED"
API_OLD = "DD_EXPERIMENTAL_API_SECURITY_ENABLED"
API_RATE = "DD_API_SECURITY_REQUEST_SAMPLE_RATE"
USER_ENABLED = "DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING_ENABLED"
USER_MODE = "DD_APPSEC_AUTO_USER_INSTRUMENTATION_MODE"
USER_LEGACY = "DD_APPSEC_AUTOMATED_USER_EVENTS_TRACKING"
TEMPLATES = ("DD_APPSEC_HTTP_BLOCKED_TEMPLATE_JSON", "DD_APPSEC_HTTP_BLOCKED_TEMPLATE_HTML")


@dataclass(frozen=True)
class Settings:
    """The app's ddtrace settings as the judgement sees them: values, plus what the detector
    found on disk. ``values`` holds only names of the activation data (no secrets)."""

    values: Tuple[Tuple[str, str], ...] = ()
    #: stable configuration files present on disk (ddtrace 3.2+ reads them too)
    stable_config: Tuple[str, ...] = ()
    #: path settings (blocked-response templates) naming a file this process cannot read
    unreadable: FrozenSet[str] = frozenset()

    def get(self, name: str) -> Optional[str]:
        for key, value in self.values:
            if key == name:
                return value
        return None

    @classmethod
    def of(
        cls,
        env: Mapping[str, str],
        *,
        stable_config: Sequence[str] = (),
        unreadable: FrozenSet[str] = frozenset(),
    ) -> Settings:
        names = _data().settings
        return cls(
            tuple(sorted((k, v) for k, v in env.items() if k in names)),
            tuple(stable_config),
            frozenset(unreadable),
        )


@dataclass(frozen=True)
class Activation:
    capability: str
    state: Active
    reason: str
    #: the change that switches it on here ("" when it is on)
    remediation: str = ""
    #: the ddtrace release and file the deciding fact comes from
    source: str = ""
    #: the setting that decided it ("" when nothing did)
    setting: str = ""


# --- the data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Read:
    spec: SpecifierSet
    how: str  # asbool, envier, ignored, float, option_prefix, mapped, raw_lower, path
    source: str
    installs: str = ""  # a second reading that decides whether the feature is installed
    options: Tuple[str, ...] = ()


@dataclass(frozen=True)
class _Data:
    truthy: Mapping[str, FrozenSet[str]]
    settings: Mapping[str, Tuple[str, Tuple[_Read, ...]]]  # name -> (default, reads)
    remote_spec: SpecifierSet
    remote_source: str
    no_rc_deployments: FrozenSet[str]
    no_rc_source: str
    stable_spec: SpecifierSet
    stable_files: Mapping[str, Tuple[Tuple[str, str], ...]]  # os -> ((kind, path), ...)
    stable_source: str
    iast_never_os: FrozenSet[str]
    iast_never_os_source: str
    iast_python: Tuple[Tuple[SpecifierSet, Tuple[int, int], str], ...]


_DATA: Optional[_Data] = None


def _data() -> _Data:
    global _DATA
    if _DATA is None:
        from .matrix import DATA_DIR, PARSED, read_parsed

        parsed = read_parsed(DATA_DIR / PARSED)  # the shipped data, parsed ahead of time
        if parsed is not None and parsed["activation"] is not None:
            _DATA = cast("_Data", parsed["activation"])
        else:
            _DATA = parse(json.loads(DATA_FILE.read_text(encoding="utf-8")))
    return _DATA


def parse(doc: Dict[str, Any]) -> _Data:
    """Validate the activation data; a malformed document raises ValueError naming the place."""
    if doc.get("schema_version") != 1:
        raise ValueError(f"activation data: schema_version {doc.get('schema_version')!r} is not 1")
    hows = {"asbool", "envier", "ignored", "float", "option_prefix", "mapped", "raw_lower", "path"}
    settings: Dict[str, Tuple[str, Tuple[_Read, ...]]] = {}
    for name, row in doc["settings"].items():
        reads = []
        for i, r in enumerate(row["reads"]):
            where = f"activation data: settings.{name}.reads[{i}]"
            if r["as"] not in hows:
                raise ValueError(f"{where}.as: {r['as']!r} is not one of {', '.join(sorted(hows))}")
            if not r.get("source"):
                raise ValueError(f"{where}: no source")
            reads.append(
                _Read(
                    version_range(r["ddtrace"]),
                    r["as"],
                    r["source"],
                    r.get("installs", ""),
                    tuple(r.get("options", ())),
                )
            )
        settings[name] = (str(row["default"]), tuple(reads))
    stable = doc["stable_configuration"]
    platform = doc["code_security_platform"]
    return _Data(
        truthy={k: frozenset(v["true"]) for k, v in doc["booleans"].items()},
        settings=settings,
        remote_spec=version_range(doc["remote_activation"]["ddtrace"]),
        remote_source=doc["remote_activation"]["source"],
        no_rc_deployments=frozenset(doc["no_remote_configuration"]["deployments"]),
        no_rc_source=doc["no_remote_configuration"]["source"],
        stable_spec=version_range(stable["ddtrace"]),
        stable_files={
            os_: tuple((f["kind"], f["path"]) for f in files)
            for os_, files in stable["files"].items()
        },
        stable_source=stable["source"],
        iast_never_os=frozenset(platform["never_os"]),
        iast_never_os_source=platform["never_os_source"],
        iast_python=tuple(
            (version_range(r["ddtrace"]), _minor(r["below"]), r["source"])
            for r in platform["python_below"]
        ),
    )


def _minor(text: str) -> Tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def stable_config_files(os_name: str) -> Tuple[Tuple[str, str], ...]:
    """The (kind, path) of the stable configuration files ddtrace reads on ``os_name``."""
    return _data().stable_files.get(os_name, ())


# --- reading one setting as a release does ------------------------------------------------------


def _release(version: Version) -> Version:
    """A pre-release of 4.13.0 already reads its settings as 4.13.0 does (same code)."""
    return base_version(version)


def _contains(spec: SpecifierSet, version: Optional[Version]) -> bool:
    return version is None or contains(spec, _release(version))


def reading(name: str, version: Optional[Version]) -> _Read:
    """How ``version`` of ddtrace reads ``name`` (unknown version: as the newest release)."""
    _, reads = _data().settings[name]
    if version is None:
        return reads[-1]
    for r in reads:
        if _contains(r.spec, version):
            return r
    return _Read(version_range(""), "ignored", reads[0].source)


def parse_bool(how: str, raw: str) -> bool:
    return raw.lower() in _data().truthy[how]


def boolean(
    settings: Settings, name: str, version: Optional[Version]
) -> Tuple[Optional[bool], str]:
    """(value, source): None when the release does not read the setting or it is unset."""
    r = reading(name, version)
    raw = settings.get(name)
    if r.how == "ignored" or raw is None:
        return None, r.source
    return parse_bool(r.how, raw), r.source


def _default_bool(name: str) -> bool:
    return parse_bool("asbool", _data().settings[name][0])


def _who(version: Optional[Version]) -> str:
    return "ddtrace" if version is None else f"ddtrace {version}"


def _shown(raw: Optional[str]) -> str:
    text = raw or ""
    return repr(text if len(text) <= 40 else text[:40] + "...")


# --- the model ----------------------------------------------------------------------------------


def state(
    capability: str,
    ddtrace: Optional[Version],
    settings: Union[Settings, Mapping[str, str]],
    remote_config: RemoteConfig = RemoteConfig.UNKNOWN,
    deployment: str = "host",
) -> Activation:
    """Will ``capability`` be on in a process of ``ddtrace`` with these settings?"""
    s = settings if isinstance(settings, Settings) else Settings.of(settings)
    rule = _RULES.get(capability)
    if rule is None:
        return Activation(
            capability, Active.UNKNOWN, f"the guard has no activation rule for {capability}"
        )
    found = _stable_config(ddtrace, s)
    if found is not None:
        return Activation(
            capability,
            Active.UNKNOWN,
            f"{found} is on disk: {_who(ddtrace)} also reads its settings from it "
            "(a fleet file wins over the environment), and the guard does not read it",
            f"check {found} for the settings of {capability}, or state them in the environment "
            "and remove them from the file",
            _data().stable_source,
        )
    state_, reason, fix, source, setting = rule(ddtrace, s, remote_config, deployment)
    return Activation(
        capability, state_, reason, "" if state_ is Active.ON else fix, source, setting
    )


_Result = Tuple[Active, str, str, str, str]  # state, reason, remediation, source, setting


def _stable_config(version: Optional[Version], s: Settings) -> Optional[str]:
    if not s.stable_config or not _contains(_data().stable_spec, version):
        return None
    return s.stable_config[0]


def remote_possible(
    version: Optional[Version], s: Settings, rc: RemoteConfig, deployment: str
) -> Tuple[bool, str, str]:
    """(possible, why not, source): can Remote Configuration reach this process?"""
    d = _data()
    if not _contains(d.remote_spec, version):
        return False, f"{_who(version)} cannot be switched on remotely", d.remote_source
    on, source = boolean(s, RC, version)
    if on is False:
        return False, f"{RC}={_shown(s.get(RC))} turns Remote Configuration off", source
    if deployment in d.no_rc_deployments:
        return False, f"Remote Configuration does not reach {deployment}", d.no_rc_source
    if rc is RemoteConfig.DISABLED:
        return False, "Remote Configuration is turned off", d.remote_source
    if rc is RemoteConfig.UNAVAILABLE:
        return False, "the Datadog Agent does not offer Remote Configuration", d.remote_source
    return True, "", d.remote_source


def _appsec(v: Optional[Version], s: Settings, rc: RemoteConfig, dep: str) -> _Result:
    raw = s.get(APPSEC)
    r = reading(APPSEC, v)
    fix = f"set {APPSEC}=true"
    if raw is not None:
        if parse_bool(r.how, raw):
            return Active.ON, f"{APPSEC}={_shown(raw)} switches AppSec on", "", r.source, APPSEC
        return (
            Active.OFF,
            f"{APPSEC}={_shown(raw)} is set and {_who(v)} reads it as false; while it is set, "
            "Remote Configuration cannot switch AppSec on",
            fix,
            r.source,
            APPSEC,
        )
    possible, why_not, source = remote_possible(v, s, rc, dep)
    if possible:
        return (
            Active.REMOTE,
            f"{APPSEC} is not set: AppSec is off at boot until Datadog switches it on "
            "through Remote Configuration",
            f"{fix} to switch it on at boot",
            source,
            APPSEC,
        )
    return (
        Active.OFF,
        f"{APPSEC} is not set and {why_not}, so AppSec stays off",
        fix,
        source,
        APPSEC,
    )


def _inside_appsec(what: str, appsec: _Result, own: _Result) -> _Result:
    """A feature that runs only inside AppSec: the weaker of AppSec's state and its own."""
    order = [Active.OFF, Active.UNKNOWN, Active.REMOTE, Active.ON]
    if order.index(appsec[0]) < order.index(own[0]):
        return appsec[0], f"{what} runs only inside AppSec: {appsec[1]}", *appsec[2:]
    return own


def _blocked_response(v: Optional[Version], s: Settings, rc: RemoteConfig, dep: str) -> _Result:
    appsec = _appsec(v, s, rc, dep)
    set_names = [n for n in TEMPLATES if (s.get(n) or "").strip()]
    source = reading(TEMPLATES[0], v).source
    bad = [n for n in set_names if n in s.unreadable]
    if bad:
        own: _Result = (
            Active.OFF,
            f"{bad[0]} names a file this process cannot read: ddtrace serves its default page",
            f"make the file of {bad[0]} readable by the app (or fix the path)",
            source,
            bad[0],
        )
    elif set_names:
        own = (Active.ON, f"{set_names[0]} names the blocked-response template", "", source, "")
    else:
        possible, why_not, rc_source = remote_possible(v, s, rc, dep)
        own = (
            (Active.REMOTE, "no template is set; Datadog can send a custom response remotely")
            if possible
            else (Active.OFF, f"no DD_APPSEC_HTTP_BLOCKED_TEMPLATE_* is set and {why_not}")
        ) + (f"set {TEMPLATES[0]} (and _HTML) to your template files", rc_source, TEMPLATES[0])
    return _inside_appsec("a custom blocked response", appsec, own)


def _api_security(v: Optional[Version], s: Settings, rc: RemoteConfig, dep: str) -> _Result:
    appsec = _appsec(v, s, rc, dep)
    name = API_NEW if reading(API_NEW, v).how != "ignored" else API_OLD
    value, source = boolean(s, name, v)
    on = _default_bool(name) if value is None else value
    own: _Result = (Active.ON, f"{name} is on", "", source, name)
    if not on:
        shown = "is not set" if value is None else f"={_shown(s.get(name))} is read as false"
        own = (Active.OFF, f"{name} {shown}", f"set {name}=true", source, name)
    else:
        rate = reading(API_RATE, v)
        raw = s.get(API_RATE)
        if rate.how == "float" and raw is not None:
            try:
                value_rate: Optional[float] = float(raw)
            except ValueError:
                value_rate = None
            if value_rate is None:
                own = (
                    Active.UNKNOWN,
                    f"{API_RATE}={_shown(raw)} is not a number",
                    f"write {API_RATE}=0.1",
                    rate.source,
                    API_RATE,
                )
            elif value_rate <= 0:
                own = (
                    Active.OFF,
                    f"{API_RATE}={_shown(raw)}: {_who(v)} runs API Security only with a rate above 0",
                    f"set {API_RATE}=0.1 (or unset it)",
                    rate.source,
                    API_RATE,
                )
    return _inside_appsec("API Security", appsec, own)


def _user_tracking(v: Optional[Version], s: Settings, rc: RemoteConfig, dep: str) -> _Result:
    appsec = _appsec(v, s, rc, dep)
    own: _Result = (Active.ON, "user activity tracking is on by default", "", "", "")
    enabled, source = boolean(s, USER_ENABLED, v)
    mode_read = reading(USER_MODE, v)
    legacy = reading(USER_LEGACY, v)
    if enabled is False:
        own = (
            Active.OFF,
            f"{USER_ENABLED}={_shown(s.get(USER_ENABLED))} switches it off, "
            "and Remote Configuration with it",
            f"set {USER_ENABLED}=true",
            source,
            USER_ENABLED,
        )
    else:
        mode: Optional[str] = None
        var = ""
        if mode_read.how == "option_prefix" and s.get(USER_MODE) is not None:
            mode, var, source = (
                _prefix(s.get(USER_MODE) or "", mode_read.options),
                USER_MODE,
                mode_read.source,
            )
        elif legacy.how in ("raw_lower", "mapped") and s.get(USER_LEGACY) is not None:
            mode, var, source = (s.get(USER_LEGACY) or "").lower(), USER_LEGACY, legacy.source
        if mode == "disabled":
            possible = remote_possible(v, s, rc, dep)[0]
            fix = (
                f"set {USER_MODE}=identification"
                if mode_read.how != "ignored"
                else f"set {USER_LEGACY}=safe"
            )
            own = (
                (Active.REMOTE, f"{var} disables it at boot; Datadog can switch it on remotely")
                if possible and legacy.how != "mapped"
                else (Active.OFF, f"{var}={_shown(s.get(var))} switches it off")
            ) + (fix, source, var)
    return _inside_appsec("user activity tracking", appsec, own)


def _prefix(raw: str, options: Tuple[str, ...]) -> str:
    for option in options:
        if option.startswith(raw.lower()):
            return option
    return options[0]


def _sca(v: Optional[Version], s: Settings, rc: RemoteConfig, dep: str) -> _Result:
    for name in (TELEMETRY, DEPENDENCIES):
        value, source = boolean(s, name, v)
        if value is False:
            return (
                Active.OFF,
                f"{name}={_shown(s.get(name))} stops the dependency reports SCA is made of",
                f"unset {name} (or set it to true)",
                source,
                name,
            )
    r = reading(SCA_VAR, v)
    if r.how == "ignored":
        appsec = _appsec(v, s, rc, dep)
        return (
            appsec[0],
            f"{_who(v)} has no {SCA_VAR}; it reports dependencies for SCA with AppSec: {appsec[1]}",
            *appsec[2:],
        )
    value, source = boolean(s, SCA_VAR, v)
    if value:
        return Active.ON, f"{SCA_VAR}={_shown(s.get(SCA_VAR))} switches SCA on", "", source, SCA_VAR
    shown = "is not set" if value is None else f"={_shown(s.get(SCA_VAR))} is read as false"
    return Active.OFF, f"{SCA_VAR} {shown}", f"set {SCA_VAR}=true", source, SCA_VAR


def _code_security(v: Optional[Version], s: Settings, rc: RemoteConfig, dep: str) -> _Result:
    r = reading(IAST, v)
    raw = s.get(IAST)
    if raw is None or r.how == "ignored":
        return Active.OFF, f"{IAST} is not set", f"set {IAST}=true", r.source, IAST
    if not parse_bool(r.how, raw):
        return (
            Active.OFF,
            f"{_who(v)} reads {IAST}={_shown(raw)} as false",
            f"set {IAST}=true",
            r.source,
            IAST,
        )
    if r.installs and not parse_bool(r.installs, raw):
        return (
            Active.OFF,
            f"{_who(v)} reads {IAST}={_shown(raw)} as true but installs taint tracking only "
            "for 'true' or '1'",
            f"write {IAST}=true",
            r.source,
            IAST,
        )
    return Active.ON, f"{IAST}={_shown(raw)} switches Code Security on", "", r.source, IAST


_RULES = {
    THREAT_DETECTION: _appsec,
    THREAT_PROTECTION: _appsec,
    CUSTOM_BLOCKING_RESPONSE: _blocked_response,
    API_SECURITY: _api_security,
    USER_EVENT_TRACKING: _user_tracking,
    SCA: _sca,
    CODE_SECURITY: _code_security,
}


# --- platform facts -----------------------------------------------------------------------------


def platform_problem(
    capability: str,
    ddtrace: Optional[Version],
    os_name: str,
    python: Tuple[int, int],
    *,
    avoid: Callable[[Version], bool] = lambda v: False,
) -> Optional[Tuple[str, str, str]]:
    """(message, remediation, source) when ``ddtrace`` cannot run ``capability`` on this OS
    or Python at all, else None. Only Code Security has such limits beyond the runtime rows.
    ``avoid``: releases not to suggest (a line the matrix calls end of life)."""
    if capability != CODE_SECURITY:
        return None
    d = _data()
    if os_name in d.iast_never_os:
        return (
            f"ddtrace never runs Code Security on {os_name.capitalize()}",
            "run the service on Linux or macOS to use Code Security",
            d.iast_never_os_source,
        )
    for spec, below, source in d.iast_python:
        if _contains(spec, ddtrace) and python >= below:
            fixes = [f"run on Python below {below[0]}.{below[1]}"]
            for later, later_below, _ in d.iast_python:
                start = _floor(later)
                if (
                    later_below > python
                    and start is not None
                    and (ddtrace is None or start > ddtrace)
                    and not avoid(start)
                ):
                    fixes.insert(0, f"upgrade ddtrace to >={start}")
                    break
            return (
                f"{_who(ddtrace)} runs Code Security only on Python below "
                f"{below[0]}.{below[1]}; this is {python[0]}.{python[1]}",
                " or ".join(fixes),
                source,
            )
    return None


def _floor(spec: SpecifierSet) -> Optional[Version]:
    from packaging.version import Version

    lows = [Version(s.version) for s in spec if s.operator in (">=", "==")]
    return max(lows) if lows else None


def reads(name: str) -> List[Tuple[str, str, str]]:
    """(ddtrace range, how, source) for each release range reading ``name``: for docs and tests."""
    _, rows = _data().settings[name]
    return [(str(r.spec), r.how, r.source) for r in rows]
