"""The compatibility matrix: JSON data, validated into frozen rules.

The shipped matrix has two layers, both in ``appsec_guard/data/``:

* ``compatibility.json`` holds the facts of Datadog's Python compatibility page, table by table;
* ``supplement.json`` holds facts from other sources (ddtrace's own docs and releases), such as
  the runtime rows for ddtrace 2.x and later, which the page does not list.

A user matrix file (``APPSEC_GUARD_MATRIX``) is one more layer. Layers merge row by row: a
later layer's row with the same key replaces the earlier one, new rows are added. Every rule
keeps the source it came from, so a finding can cite it.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from types import MappingProxyType
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    cast,
)

from . import _versions
from ._versions import CompiledRange, contains

if TYPE_CHECKING:
    from dataclasses import dataclass, field, replace

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version
else:  # the same frozen classes, defined without exec (see _frozen.py)
    from ._frozen import dataclass, field, replace

DATA_DIR = Path(__file__).parent / "data"
SHIPPED_LAYERS = ("compatibility.json", "supplement.json")
#: The shipped layers merged, with every version range compiled by packaging (see
#: appsec_guard._compile): what the boot reads instead of the layers.
COMPILED = "compiled.json"
#: compiled.json and activation.json parsed: the objects their readers build, pickled by
#: appsec_guard._compile, so that the boot loads them instead of running the readers. Only
#: this file of the package itself is unpickled, never a path from a setting; when it cannot
#: be loaded into today's classes, the JSON files are read as before.
PARSED = "compiled.pickle"
PARSED_FORMAT = 2  # 2: with the merged matrix, each equal value one object
SHIPPED_ORIGIN = "shipped matrix"
SUPPORTED_SCHEMA = 1

#: The sections of a layer document; data/schema/matrix-layer.schema.json states the same
#: shape for other tools (a test keeps the two in step).
SECTIONS = (
    "schema_version", "layer", "sources", "capabilities", "remote_configuration",
    "deployments", "release_branches", "runtimes", "web_frameworks", "datastores",
    "auth_frameworks", "capability_requirements", "deployments_without_remote_configuration",
    "capability_settings", "deployment_exclusions", "framework_integrations",
)  # fmt: skip
SCHEMA_DIR = DATA_DIR / "schema"
OSES = ("linux", "macos", "windows")
CPUS = ("x86_64", "i686", "aarch64")
IMPLEMENTATIONS = ("cpython", "pypy")


class MatrixError(ValueError):
    """The matrix data is malformed. The message names the file, the place and the value."""


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    url: str = ""


@dataclass(frozen=True)
class CapabilityRule:
    id: str
    name: str
    min_ddtrace: Optional[Version]  # None: no released minimum (private beta)
    stage: str = ""  # "" for generally available, else e.g. "private beta"
    source: str = ""
    requires: Tuple[str, ...] = ()
    requires_source: str = ""

    @property
    def beta(self) -> bool:
        return bool(self.stage)


@dataclass(frozen=True)
class DeploymentRule:
    id: str
    name: str
    supports: FrozenSet[str]
    source: str = ""


@dataclass(frozen=True)
class Exclusion:
    """Releases of ddtrace that turn capabilities off on one deployment type, whatever the page
    says about that deployment type (e.g. AppSec switched off on AWS Lambda in 3.0-3.8)."""

    deployment: str
    ddtrace: Tuple[SpecifierSet, ...]  # any of these ranges
    capabilities: FrozenSet[str]
    reason: str
    source: str = ""

    def matching(self, version: Version) -> Optional[SpecifierSet]:
        return next((s for s in self.ddtrace if contains(s, version)), None)


@dataclass(frozen=True)
class IntegrationLimit:
    """The framework versions that some ddtrace releases' integration of one framework can run:
    outside them the integration fails (e.g. ddtrace 1.9.0 wraps ``Flask.before_first_request``,
    which Flask 2.3 removed, so the app fails at import under ddtrace-run)."""

    framework: str
    ddtrace: Tuple[SpecifierSet, ...]  # any of these ranges
    runs: SpecifierSet  # the framework versions those releases can run
    capabilities: FrozenSet[str]
    reason: str
    source: str = ""

    def matching(self, version: Version) -> Optional[SpecifierSet]:
        return next((s for s in self.ddtrace if s.contains(version, prereleases=True)), None)


@dataclass(frozen=True)
class ReleaseBranch:
    ddtrace: SpecifierSet
    support: str
    source: str = ""


@dataclass(frozen=True)
class RuntimeRule:
    os: str
    cpus: FrozenSet[str]
    implementation: str
    pythons: FrozenSet[Tuple[int, int]]
    ddtrace: SpecifierSet
    source: str = ""
    python_text: Tuple[str, ...] = ()

    def covers_ddtrace(self, version: Version) -> bool:
        return contains(self.ddtrace, version)


@dataclass(frozen=True)
class FrameworkRule:
    id: str
    name: str
    min_version: Version
    supports: FrozenSet[str]
    caveats: Tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class AuthFrameworkRule:
    id: str
    name: str
    versions: Tuple[str, ...]  # as the page writes them: "1.11", ">=4.0"
    source: str = ""

    @property
    def specifiers(self) -> Tuple[SpecifierSet, ...]:
        return tuple(_auth_specifier(v) for v in self.versions)

    def allows(self, version: Version) -> bool:
        return any(contains(s, version) for s in self.specifiers)


class FrozenMap(Mapping[str, str]):
    """A read-only, hashable str -> str mapping: the matrix is frozen, so are its tables.

    (A bare ``MappingProxyType`` is read-only but not hashable, so ``hash(matrix)`` would
    still fail.) Equal to any mapping with the same items, a plain dict included.
    """

    def __init__(self, data: Mapping[str, str] = MappingProxyType({})) -> None:
        self._data: Mapping[str, str] = MappingProxyType(dict(data))

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return f"FrozenMap({dict(self._data)!r})"

    def __reduce__(self) -> Tuple[Any, Tuple[Dict[str, str]]]:  # pickle and copy
        return (FrozenMap, (dict(self._data),))


@dataclass(frozen=True)
class Matrix:
    capabilities: Tuple[CapabilityRule, ...]
    remote_config_required_by: FrozenSet[str] = frozenset()
    remote_config_source: str = ""
    deployment_capabilities: FrozenSet[str] = frozenset()
    deployments: Tuple[DeploymentRule, ...] = ()
    no_remote_config_deployments: FrozenSet[str] = frozenset()
    no_remote_config_source: str = ""
    exclusions: Tuple[Exclusion, ...] = ()
    integration_limits: Tuple[IntegrationLimit, ...] = ()
    release_branches: Tuple[ReleaseBranch, ...] = ()
    runtimes: Tuple[RuntimeRule, ...] = ()
    web_framework_capabilities: FrozenSet[str] = frozenset()
    all_framework_capabilities: FrozenSet[str] = frozenset()
    web_frameworks: Tuple[FrameworkRule, ...] = ()
    web_frameworks_source: str = ""
    auth_capability: str = ""
    auth_frameworks: Tuple[AuthFrameworkRule, ...] = ()
    auth_source: str = ""
    datastores: Mapping[str, str] = field(default_factory=FrozenMap)
    settings: Mapping[str, str] = field(default_factory=FrozenMap)  # capability -> DD_* variable
    sources: Tuple[Source, ...] = ()

    def __post_init__(self) -> None:
        # a caller's dict is copied into a read-only map: no one can edit a (cached) matrix
        for name in ("datastores", "settings"):
            value = getattr(self, name)
            if not isinstance(value, FrozenMap):
                object.__setattr__(self, name, FrozenMap(value))

    @property
    def capability_ids(self) -> Tuple[str, ...]:
        return tuple(c.id for c in self.capabilities)

    def capability(self, capability_id: str) -> CapabilityRule:
        for c in self.capabilities:
            if c.id == capability_id:
                return c
        raise KeyError(capability_id)

    def deployment(self, deployment_id: str) -> Optional[DeploymentRule]:
        return next((d for d in self.deployments if d.id == deployment_id), None)

    def web_framework(self, name: str) -> Optional[FrameworkRule]:
        return next((f for f in self.web_frameworks if f.id == name), None)

    def auth_framework(self, name: str) -> Optional[AuthFrameworkRule]:
        return next((f for f in self.auth_frameworks if f.id == name), None)

    def source(self, ref: str) -> Optional[Source]:
        key = ref.split("#", 1)[0]
        return next((s for s in self.sources if s.id == key), None)

    def cite(self, ref: str) -> str:
        """A human citation for a rule's ``source`` reference."""
        src = self.source(ref)
        if src is None:
            return ref
        anchor = ref.split("#", 1)[1] if "#" in ref else ""
        url = f"{src.url}#{anchor}" if src.url and anchor else src.url
        return f"{src.title} ({url})" if url else src.title


def floor(spec: SpecifierSet) -> Optional[Version]:
    """The version a range starts at (``>=``, ``>``, ``==``, ``~=``; ``==3.2.*`` starts at 3.2),
    or None for a range with no lower bound (``<2``)."""
    from packaging.version import Version

    bounds = [
        Version(s.version[:-2] if s.version.endswith(".*") else s.version)
        for s in spec
        if s.operator in (">=", ">", "==", "~=")
    ]
    return max(bounds) if bounds else None


def auth_range_text(text: str) -> str:
    """The page lists release series ("3.2") and open ranges (">= 4.0"): "==3.2.*", ">=4.0"."""
    text = text.replace(" ", "")
    return text if text[:1] in "<>=!~" else f"=={text}.*"


def _auth_specifier(text: str) -> SpecifierSet:
    return version_range(auth_range_text(text))


#: Ranges compiled ahead of time (compiled.json), by the text they were compiled from.
_RANGES: Dict[str, CompiledRange] = {}
_RANGES_READ = False  # the shipped ranges registered (by load, read_compiled or version_range)


def parse_ranges(rows: Iterable[Dict[str, Any]]) -> Dict[str, CompiledRange]:
    """The compiled ranges of compiled.json, by the text they were compiled from."""
    out: Dict[str, CompiledRange] = {}
    for row in rows:
        intervals = tuple(
            (None if lo is None else tuple(lo), lo_in, None if hi is None else tuple(hi), hi_in)
            for lo, lo_in, hi, hi_in in row["intervals"]
        )
        out[row["source"]] = CompiledRange(row["source"], row["text"], intervals)
    return out


def _register(ranges: Mapping[str, CompiledRange]) -> None:
    global _RANGES_READ
    _RANGES_READ = True
    _RANGES.update(ranges)


def _shipped_parsed() -> Optional[Dict[str, Any]]:
    """The shipped data as :data:`PARSED` holds it, its ranges registered; None when it does
    not load."""
    parsed = read_parsed(DATA_DIR / PARSED)
    if parsed is not None:
        _register(parsed["ranges"])
    return parsed


def _register_shipped() -> None:
    if _shipped_parsed() is not None:
        return
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):  # none: packaging
        _register(parse_ranges(json.loads((DATA_DIR / COMPILED).read_text("utf-8"))["ranges"]))


def version_range(text: str) -> SpecifierSet:
    """The range of ``text``: compiled ahead of time when the shipped data has it (the
    matrix's and the activation data's ranges), else packaging's SpecifierSet (raises
    InvalidSpecifier). Each compiled range is a function of its text alone, so it serves any
    layer that writes the same text."""
    if not _RANGES_READ:
        _register_shipped()
    compiled = _RANGES.get(text)
    if compiled is not None:
        return cast("SpecifierSet", compiled)
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(text)


def expand_pythons(items: Iterable[str]) -> FrozenSet[Tuple[int, int]]:
    """``["2.7", "3.5-3.11"]`` -> {(2, 7), (3, 5), ..., (3, 11)}."""
    out: Set[Tuple[int, int]] = set()
    for item in items:
        lo_text, _, hi_text = item.partition("-")
        lo = _minor(lo_text)
        hi = _minor(hi_text) if hi_text else lo
        if lo[0] != hi[0] or lo[1] > hi[1]:
            raise ValueError(f"not a range of Python versions: {item!r}")
        out.update((lo[0], m) for m in range(lo[1], hi[1] + 1))
    return frozenset(out)


def _minor(text: str) -> Tuple[int, int]:
    parts = text.strip().split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a Python version like 3.11: {text!r}")
    return (int(parts[0]), int(parts[1]))


# --- loading ---------------------------------------------------------------------------------


class _Reader:
    """Walks one layer's JSON, turning every type error into a MatrixError with a location."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, problem: str) -> MatrixError:
        return MatrixError(f"{self.origin}: {where}: {problem}")

    def obj(self, value: Any, where: str) -> Dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {_kind(value)}")
        return value

    def items(self, value: Any, where: str, *, nonempty: bool = False) -> List[Any]:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list, got {_kind(value)}")
        if nonempty and not value:
            raise self.fail(where, "expected a non-empty list, got []")
        return value

    def text(self, value: Any, where: str, *, choices: Sequence[str] = ()) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"expected a non-empty string, got {_kind(value)}")
        if choices and value not in choices:
            raise self.fail(where, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def opt_text(self, value: Any, where: str) -> str:
        """An optional string: null or missing is "", anything but a string is refused."""
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(where, f"expected a string or null, got {_kind(value)}")
        return value

    def strs(
        self, value: Any, where: str, *, choices: Sequence[str] = (), nonempty: bool = False
    ) -> Tuple[str, ...]:
        items = self.items(value, where, nonempty=nonempty)
        return tuple(self.text(v, f"{where}[{i}]", choices=choices) for i, v in enumerate(items))

    def version(self, value: Any, where: str) -> Version:
        text = self.text(value, where)
        parsed = _versions.parse(text)
        if parsed is None:
            raise self.fail(where, f"{text!r} is not a PEP 440 version like 1.19.0")
        return parsed

    def spec(self, value: Any, where: str) -> SpecifierSet:
        text = self.text(value, where)
        if text in _RANGES:
            return version_range(text)
        from packaging.specifiers import InvalidSpecifier

        try:
            return version_range(text)
        except InvalidSpecifier:
            raise self.fail(where, f"{text!r} is not a version range like >=2,<3") from None

    def specs(self, value: Any, where: str) -> Tuple[SpecifierSet, ...]:
        """A non-empty list of version ranges (any of them)."""
        return tuple(
            self.spec(v, f"{where}[{j}]")
            for j, v in enumerate(self.items(value, where, nonempty=True))
        )


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def parse_layer(data: Any, origin: str) -> Dict[str, Any]:
    """Validate one layer and return its rows keyed for merging. Raises MatrixError."""
    r = _Reader(origin)
    doc = r.obj(data, "document")
    version = doc.get("schema_version")
    if version != SUPPORTED_SCHEMA:
        raise r.fail(
            "schema_version", f"{version!r} is not supported (expected {SUPPORTED_SCHEMA})"
        )
    known = set(SECTIONS)
    unknown = sorted(set(doc) - known)
    if unknown:
        raise r.fail(unknown[0], f"unknown section (expected one of {', '.join(sorted(known))})")

    out: Dict[str, Any] = {}
    sources = r.obj(doc.get("sources", {}), "sources")
    out["sources"] = {
        key: Source(
            key,
            r.text(r.obj(val, f"sources.{key}").get("title"), f"sources.{key}.title"),
            r.opt_text(val.get("url"), f"sources.{key}.url"),
        )
        for key, val in sources.items()
    }

    caps: Dict[str, CapabilityRule] = {}
    for i, raw in enumerate(r.items(doc.get("capabilities", []), "capabilities")):
        where = f"capabilities[{i}]"
        row = r.obj(raw, where)
        min_raw = row.get("min_ddtrace")
        stage = r.opt_text(row.get("stage"), f"{where}.stage")
        if min_raw is None and not stage:
            raise r.fail(
                f"{where}.min_ddtrace", "null is only allowed with a stage such as 'private beta'"
            )
        cid = r.text(row.get("id"), f"{where}.id")
        caps[cid] = CapabilityRule(
            id=cid,
            name=r.text(row.get("name"), f"{where}.name"),
            min_ddtrace=None if min_raw is None else r.version(min_raw, f"{where}.min_ddtrace"),
            stage=stage,
            source=r.opt_text(row.get("source"), f"{where}.source"),
        )
    out["capabilities"] = caps

    if "remote_configuration" in doc:
        rc = r.obj(doc["remote_configuration"], "remote_configuration")
        out["remote_config_required_by"] = r.strs(
            rc.get("required_by", []), "remote_configuration.required_by"
        )
        out["remote_config_source"] = r.opt_text(rc.get("source"), "remote_configuration.source")

    if "deployments" in doc:
        dep = r.obj(doc["deployments"], "deployments")
        dep_source = r.opt_text(dep.get("source"), "deployments.source")
        out["deployment_capabilities"] = r.strs(
            dep.get("capabilities", []), "deployments.capabilities"
        )
        rows = {}
        for i, raw in enumerate(r.items(dep.get("rows", []), "deployments.rows")):
            where = f"deployments.rows[{i}]"
            row = r.obj(raw, where)
            did = r.text(row.get("id"), f"{where}.id")
            rows[did] = DeploymentRule(
                id=did,
                name=r.text(row.get("name"), f"{where}.name"),
                supports=frozenset(r.strs(row.get("supports", []), f"{where}.supports")),
                source=r.opt_text(row.get("source"), f"{where}.source") or dep_source,
            )
        out["deployments"] = rows

    if "deployments_without_remote_configuration" in doc:
        where = "deployments_without_remote_configuration"
        norc = r.obj(doc[where], where)
        out["no_remote_config_deployments"] = r.strs(
            norc.get("deployments", []), f"{where}.deployments"
        )
        out["no_remote_config_source"] = r.opt_text(norc.get("source"), f"{where}.source")

    if "deployment_exclusions" in doc:
        where = "deployment_exclusions"
        section = r.obj(doc[where], where)
        section_source = r.opt_text(section.get("source"), f"{where}.source")
        exclusions = {}
        for i, raw in enumerate(r.items(section.get("rows", []), f"{where}.rows")):
            at = f"{where}.rows[{i}]"
            row = r.obj(raw, at)
            specs = r.specs(row.get("ddtrace"), f"{at}.ddtrace")
            exclusion = Exclusion(
                deployment=r.text(row.get("deployment"), f"{at}.deployment"),
                ddtrace=specs,
                capabilities=frozenset(r.strs(row.get("capabilities"), f"{at}.capabilities")),
                reason=r.text(row.get("reason"), f"{at}.reason"),
                source=r.opt_text(row.get("source"), f"{at}.source") or section_source,
            )
            key = (
                exclusion.deployment,
                tuple(map(str, specs)),
                tuple(sorted(exclusion.capabilities)),
            )
            exclusions[key] = exclusion
        out["deployment_exclusions"] = exclusions

    if "framework_integrations" in doc:
        out["framework_integrations"] = _integration_limits(r, doc["framework_integrations"])

    branches = {}
    for i, raw in enumerate(r.items(doc.get("release_branches", []), "release_branches")):
        where = f"release_branches[{i}]"
        row = r.obj(raw, where)
        spec = r.spec(row.get("ddtrace"), f"{where}.ddtrace")
        branches[str(spec)] = ReleaseBranch(
            spec,
            r.text(row.get("support"), f"{where}.support"),
            r.opt_text(row.get("source"), f"{where}.source"),
        )
    out["release_branches"] = branches

    runtimes = {}
    for i, raw in enumerate(r.items(doc.get("runtimes", []), "runtimes")):
        where = f"runtimes[{i}]"
        row = r.obj(raw, where)
        python_text = r.strs(row.get("python"), f"{where}.python", nonempty=True)
        try:
            pythons = expand_pythons(python_text)
        except ValueError as exc:
            raise r.fail(f"{where}.python", str(exc)) from None
        rule = RuntimeRule(
            os=r.text(row.get("os"), f"{where}.os", choices=OSES),
            cpus=frozenset(r.strs(row.get("cpu"), f"{where}.cpu", choices=CPUS, nonempty=True)),
            implementation=r.text(
                row.get("implementation"), f"{where}.implementation", choices=IMPLEMENTATIONS
            ),
            pythons=pythons,
            ddtrace=r.spec(row.get("ddtrace"), f"{where}.ddtrace"),
            source=r.opt_text(row.get("source"), f"{where}.source"),
            python_text=python_text,
        )
        runtimes[(rule.os, rule.implementation, str(rule.ddtrace))] = rule
    out["runtimes"] = runtimes

    if "web_frameworks" in doc:
        web = r.obj(doc["web_frameworks"], "web_frameworks")
        out["web_framework_capabilities"] = r.strs(
            web.get("capabilities", []), "web_frameworks.capabilities"
        )
        out["all_framework_capabilities"] = r.strs(
            web.get("all_frameworks", []), "web_frameworks.all_frameworks"
        )
        out["web_frameworks_source"] = web_source = r.opt_text(
            web.get("source"), "web_frameworks.source"
        )
        frameworks = {}
        for i, raw in enumerate(r.items(web.get("rows", []), "web_frameworks.rows")):
            where = f"web_frameworks.rows[{i}]"
            row = r.obj(raw, where)
            fid = r.text(row.get("id"), f"{where}.id")
            frameworks[fid] = FrameworkRule(
                id=fid,
                name=r.text(row.get("name"), f"{where}.name"),
                min_version=r.version(row.get("min_version"), f"{where}.min_version"),
                supports=frozenset(r.strs(row.get("supports", []), f"{where}.supports")),
                caveats=r.strs(row.get("caveats", []), f"{where}.caveats"),
                source=r.opt_text(row.get("source"), f"{where}.source") or web_source,
            )
        out["web_frameworks"] = frameworks

    if "auth_frameworks" in doc:
        auth = r.obj(doc["auth_frameworks"], "auth_frameworks")
        out["auth_capability"] = r.text(auth.get("capability"), "auth_frameworks.capability")
        out["auth_source"] = auth_source = r.opt_text(auth.get("source"), "auth_frameworks.source")
        rows_auth = {}
        for i, raw in enumerate(r.items(auth.get("rows", []), "auth_frameworks.rows")):
            where = f"auth_frameworks.rows[{i}]"
            row = r.obj(raw, where)
            versions = r.strs(row.get("versions"), f"{where}.versions")
            for j, v in enumerate(versions):
                if auth_range_text(v) in _RANGES:
                    continue
                from packaging.specifiers import InvalidSpecifier

                try:
                    _auth_specifier(v)
                except InvalidSpecifier:
                    raise r.fail(
                        f"{where}.versions[{j}]",
                        f"{v!r} is not a release like 3.2 or a range like >=4.0",
                    ) from None
            aid = r.text(row.get("id"), f"{where}.id")
            rows_auth[aid] = AuthFrameworkRule(
                aid,
                r.text(row.get("name"), f"{where}.name"),
                versions,
                r.opt_text(row.get("source"), f"{where}.source") or auth_source,
            )
        out["auth_frameworks"] = rows_auth

    if "datastores" in doc:
        ds = r.obj(doc["datastores"], "datastores")
        out["datastores"] = {k: r.opt_text(v, f"datastores.{k}") for k, v in ds.items()}

    reqs = []
    for i, raw in enumerate(
        r.items(doc.get("capability_requirements", []), "capability_requirements")
    ):
        where = f"capability_requirements[{i}]"
        row = r.obj(raw, where)
        reqs.append(
            (
                r.text(row.get("capability"), f"{where}.capability"),
                r.strs(row.get("requires"), f"{where}.requires"),
                r.opt_text(row.get("source"), f"{where}.source"),
            )
        )
    out["capability_requirements"] = reqs

    if "capability_settings" in doc:
        cs = r.obj(doc["capability_settings"], "capability_settings")
        settings = r.obj(cs.get("settings", {}), "capability_settings.settings")
        out["capability_settings"] = {
            k: r.text(v, f"capability_settings.settings.{k}") for k, v in settings.items()
        }
    return out


def _integration_limits(r: _Reader, raw: Any) -> Dict[Any, IntegrationLimit]:
    where = "framework_integrations"
    section = r.obj(raw, where)
    section_source = r.opt_text(section.get("source"), f"{where}.source")
    section_caps = r.strs(section.get("capabilities", []), f"{where}.capabilities")
    limits = {}
    for i, item in enumerate(r.items(section.get("rows", []), f"{where}.rows")):
        at = f"{where}.rows[{i}]"
        row = r.obj(item, at)
        specs = r.specs(row.get("ddtrace"), f"{at}.ddtrace")
        caps = row.get("capabilities")
        limit = IntegrationLimit(
            framework=r.text(row.get("framework"), f"{at}.framework"),
            ddtrace=specs,
            runs=r.spec(row.get("runs"), f"{at}.runs"),
            capabilities=frozenset(
                section_caps if caps is None else r.strs(caps, f"{at}.capabilities")
            ),
            reason=r.text(row.get("reason"), f"{at}.reason"),
            source=r.opt_text(row.get("source"), f"{at}.source") or section_source,
        )
        limits[(limit.framework, tuple(map(str, specs)))] = limit
    return limits


def merge_layers(layers: Sequence[Dict[str, Any]], origin: str = "matrix") -> Matrix:
    """Merge parsed layers (later ones win, row by row) and check cross-references."""
    merged: Dict[str, Any] = {}
    keyed = (
        "sources",
        "capabilities",
        "capability_settings",
        "deployments",
        "release_branches",
        "runtimes",
        "web_frameworks",
        "auth_frameworks",
        "framework_integrations",
    )
    for layer in layers:
        for key, value in layer.items():
            if key in keyed:
                merged.setdefault(key, {}).update(value)
            elif key == "capability_requirements":
                merged.setdefault(key, []).extend(value)
            else:
                merged[key] = value

    caps: Dict[str, CapabilityRule] = dict(merged.get("capabilities", {}))
    if not caps:
        raise MatrixError(f"{origin}: capabilities: the matrix lists no capability")
    for cap_id, requires, src in merged.get("capability_requirements", []):
        if cap_id not in caps:
            raise MatrixError(f"{origin}: capability_requirements: unknown capability {cap_id!r}")
        caps[cap_id] = replace(caps[cap_id], requires=tuple(requires), requires_source=src)

    def check_caps(names: Iterable[str], where: str) -> FrozenSet[str]:
        names = frozenset(names)
        for name in sorted(names):
            if name not in caps:
                raise MatrixError(
                    f"{origin}: {where}: unknown capability {name!r} (known: {', '.join(caps)})"
                )
        return names

    for cap in caps.values():
        check_caps(cap.requires, f"capability_requirements[{cap.id}]")
    deployments = tuple(merged.get("deployments", {}).values())
    for d in deployments:
        check_caps(d.supports, f"deployments.rows[{d.id}].supports")
    frameworks = tuple(merged.get("web_frameworks", {}).values())
    for f in frameworks:
        check_caps(f.supports, f"web_frameworks.rows[{f.id}].supports")
    exclusions = tuple(merged.get("deployment_exclusions", {}).values())
    for e in exclusions:
        check_caps(e.capabilities, f"deployment_exclusions[{e.deployment}].capabilities")
    limits = tuple(merged.get("framework_integrations", {}).values())
    for lim in limits:
        check_caps(lim.capabilities, f"framework_integrations[{lim.framework}].capabilities")
    auth_capability = merged.get("auth_capability", "")
    if auth_capability:
        check_caps([auth_capability], "auth_frameworks.capability")

    return Matrix(
        capabilities=tuple(caps.values()),
        remote_config_required_by=check_caps(
            merged.get("remote_config_required_by", ()), "remote_configuration"
        ),
        remote_config_source=merged.get("remote_config_source", ""),
        deployment_capabilities=check_caps(
            merged.get("deployment_capabilities", ()), "deployments.capabilities"
        ),
        deployments=deployments,
        no_remote_config_deployments=frozenset(merged.get("no_remote_config_deployments", ())),
        no_remote_config_source=merged.get("no_remote_config_source", ""),
        exclusions=exclusions,
        integration_limits=limits,
        release_branches=tuple(merged.get("release_branches", {}).values()),
        runtimes=tuple(merged.get("runtimes", {}).values()),
        web_framework_capabilities=check_caps(
            merged.get("web_framework_capabilities", ()), "web_frameworks.capabilities"
        ),
        all_framework_capabilities=check_caps(
            merged.get("all_framework_capabilities", ()), "web_frameworks.all_frameworks"
        ),
        web_frameworks=frameworks,
        web_frameworks_source=merged.get("web_frameworks_source", ""),
        auth_capability=auth_capability,
        auth_frameworks=tuple(merged.get("auth_frameworks", {}).values()),
        auth_source=merged.get("auth_source", ""),
        datastores=merged.get("datastores", {}),
        settings=merged.get("capability_settings", {}),
        sources=tuple(merged.get("sources", {}).values()),
    )


def read_layer(path: Path) -> Dict[str, Any]:
    """Read and validate one layer file. Raises MatrixError naming the file and line."""
    import os
    import stat

    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
        # a FIFO or a device could block the boot: not opened
        text = path.read_text(encoding="utf-8") if regular else ""
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: a NUL in the path
        raise MatrixError(f"{path}: cannot read: {exc.__class__.__name__}: {exc}") from None
    if not regular:
        raise MatrixError(f"{path}: cannot read: not a regular file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MatrixError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    return parse_layer(data, str(path))


_SHIPPED: Optional[Matrix] = None
_SHIPPED_LAYERS: Optional[List[Dict[str, Any]]] = None  # parsed once; merging does not mutate them


def read_compiled(path: Path) -> Dict[str, Any]:
    """Read the compiled shipped matrix (:data:`COMPILED`): its ranges are registered, so that
    every range it lists is answered without packaging, and its merged layer is returned."""
    data = json.loads(path.read_text(encoding="utf-8"))
    _register(parse_ranges(data["ranges"]))
    return parse_layer(data["matrix"], SHIPPED_ORIGIN)


_PARSED: Dict[Path, Optional[Dict[str, Any]]] = {}


def read_parsed(path: Path, *, fresh: bool = False) -> Optional[Dict[str, Any]]:
    """The shipped data as :data:`PARSED` holds it (``ranges``: the compiled ranges by text,
    ``layer``: what :func:`read_compiled` returns, ``activation``: the activation data), read
    once (``fresh``: again); None when the file is missing or does not load into today's
    classes."""
    if fresh or path not in _PARSED:
        import pickle

        try:
            data = pickle.loads(path.read_bytes())  # nosec B301: the package's own file
        except Exception:  # missing, truncated, or naming a class that moved: read the JSON
            data = None
        usable = isinstance(data, dict) and data.get("format") == PARSED_FORMAT
        _PARSED[path] = data if usable and _same_fields(data.get("fields")) else None
    return _PARSED[path]


def _same_fields(fields: Any) -> bool:
    """Whether the value classes a pickle was written for have the same fields today (its
    objects' fields are set by name, so a class that gained one would load without it)."""
    if not isinstance(fields, dict):
        return False
    for name, names in fields.items():
        module, _, qualname = name.partition(":")
        cls = getattr(sys.modules.get(module), qualname, None)
        if getattr(cls, "__match_args__", None) != names:
            return False
    return True


def _shipped_layer() -> Dict[str, Any]:
    parsed = _shipped_parsed()
    if parsed is None:
        return read_compiled(DATA_DIR / COMPILED)
    return cast("Dict[str, Any]", parsed["layer"])


def load(extra: Sequence[Path] = ()) -> Matrix:
    """The shipped matrix, merged with ``extra`` layer files (a user's own rows).

    The shipped matrix is read once per process, lazily (on the first run), already merged
    (:data:`PARSED`), else from its compiled form (:data:`COMPILED`); both are kept equal to
    the layer files by the tests.
    """
    global _SHIPPED, _SHIPPED_LAYERS
    if not extra and _SHIPPED is None:
        parsed = _shipped_parsed()
        if parsed is not None:  # merged by the compiler, as below
            _SHIPPED = cast(Matrix, parsed["matrix"])
    if not extra and _SHIPPED is not None:
        return _SHIPPED
    if _SHIPPED_LAYERS is None:
        _SHIPPED_LAYERS = [_shipped_layer()]
    layers = list(_SHIPPED_LAYERS)
    layers.extend(read_layer(Path(p)) for p in extra)
    origin = SHIPPED_ORIGIN + "".join(f" + {p}" for p in extra)
    matrix = merge_layers(layers, origin)
    if not extra:
        _SHIPPED = matrix
    return matrix


def to_layer(matrix: Matrix) -> Dict[str, Any]:
    """The merged matrix as one layer document (loadable again with :func:`parse_layer`)."""
    requirements = [
        {"capability": c.id, "requires": list(c.requires), "source": c.requires_source}
        for c in matrix.capabilities
        if c.requires
    ]
    doc: Dict[str, Any] = {
        "schema_version": SUPPORTED_SCHEMA,
        "layer": "merged",
        "sources": {s.id: {"title": s.title, "url": s.url} for s in matrix.sources},
        "capabilities": [
            {
                "id": c.id,
                "name": c.name,
                "min_ddtrace": None if c.min_ddtrace is None else str(c.min_ddtrace),
                **({"stage": c.stage} if c.stage else {}),
                "source": c.source,
            }
            for c in matrix.capabilities
        ],
        "capability_requirements": requirements,
        "capability_settings": {"settings": dict(matrix.settings)},
        "remote_configuration": {
            "required_by": sorted(matrix.remote_config_required_by),
            "source": matrix.remote_config_source,
        },
        "deployments": {
            "capabilities": sorted(matrix.deployment_capabilities),
            "rows": [
                {"id": d.id, "name": d.name, "supports": sorted(d.supports), "source": d.source}
                for d in matrix.deployments
            ],
        },
        "deployments_without_remote_configuration": {
            "deployments": sorted(matrix.no_remote_config_deployments),
            "source": matrix.no_remote_config_source,
        },
        "deployment_exclusions": {
            "rows": [
                {
                    "deployment": e.deployment,
                    "ddtrace": [str(s) for s in e.ddtrace],
                    "capabilities": sorted(e.capabilities),
                    "reason": e.reason,
                    "source": e.source,
                }
                for e in matrix.exclusions
            ]
        },
        "framework_integrations": {
            "rows": [
                {
                    "framework": lim.framework,
                    "ddtrace": [str(s) for s in lim.ddtrace],
                    "runs": str(lim.runs),
                    "capabilities": sorted(lim.capabilities),
                    "reason": lim.reason,
                    "source": lim.source,
                }
                for lim in matrix.integration_limits
            ]
        },
        "release_branches": [
            {"ddtrace": str(b.ddtrace), "support": b.support, "source": b.source}
            for b in matrix.release_branches
        ],
        "runtimes": [
            {
                "os": r.os,
                "cpu": sorted(r.cpus),
                "implementation": r.implementation,
                "python": list(r.python_text),
                "ddtrace": str(r.ddtrace),
                "source": r.source,
            }
            for r in matrix.runtimes
        ],
        "web_frameworks": {
            "capabilities": sorted(matrix.web_framework_capabilities),
            "all_frameworks": sorted(matrix.all_framework_capabilities),
            "source": matrix.web_frameworks_source,
            "rows": [
                {
                    "id": f.id,
                    "name": f.name,
                    "min_version": str(f.min_version),
                    "supports": sorted(f.supports),
                    "caveats": list(f.caveats),
                    "source": f.source,
                }
                for f in matrix.web_frameworks
            ],
        },
        "datastores": dict(matrix.datastores),
        "auth_frameworks": {
            "capability": matrix.auth_capability,
            "source": matrix.auth_source,
            "rows": [
                {"id": a.id, "name": a.name, "versions": list(a.versions), "source": a.source}
                for a in matrix.auth_frameworks
            ],
        },
    }
    return doc
