"""Import Datadog's compatibility page (Markdown) into a matrix layer: pure text in, data out.

The page is Hugo Markdown: front matter, headings, pipe tables with ``{{< X >}}`` check marks,
notes under the tables and link references (``[2]: /agent/remote_config/...``). Each table is
recognised by its header and heading, not by its position or its rows, so a new framework row,
capability row, deployment row or column, or release branch comes through without code
changes. Names map to ids through small alias tables; a name the tables do not know becomes a
slug. A row that cannot be read is reported with its line number, never dropped silently.

Every row keeps its source: ``<source id>#<anchor of its section heading>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from .matrix import SUPPORTED_SCHEMA, expand_pythons

DEFAULT_SOURCE_ID = "dd-page"
DEFAULT_URL = "https://docs.datadoghq.com/security/application_security/setup/compatibility/python/"
DEFAULT_TITLE_PREFIX = "Datadog docs: Application Security, "
LAYER_NAME = "datadog-compatibility-page"

# Capability names as the page writes them (in tables, column headers and notes) -> ids.
CAPABILITY_ALIASES = {
    "threat detection": "threat_detection",
    "threat protection": "threat_protection",
    "customize response to blocked requests": "custom_blocking_response",
    "software composition analysis (sca)": "sca",
    "software composition analysis": "sca",
    "sca": "sca",
    "code security": "code_security",
    "automatic user activity event tracking": "user_event_tracking",
    "api security": "api_security",
}

DEPLOYMENT_ALIASES = {
    "docker": "docker",
    "kubernetes": "kubernetes",
    "amazon ecs": "ecs",
    "aws ecs": "ecs",
    "aws fargate": "fargate",
    "aws lambda": "lambda",
}

# The auth-framework table does not name its capability; its section heading does.
SECTION_CAPABILITIES = {"user authentication": "user_event_tracking"}

OS_ALIASES = {"linux": "linux", "macos": "macos", "mac os": "macos", "windows": "windows"}
_ANY_OS_CPUS = {
    "x86-64": "x86_64", "x86_64": "x86_64", "amd64": "x86_64",
    "i686": "i686", "x86": "i686",
    "aarch64": "aarch64", "arm64": "aarch64",
}  # fmt: skip
CPU_ALIASES: Dict[str, Dict[str, str]] = {
    "linux": dict(_ANY_OS_CPUS),
    "macos": {**_ANY_OS_CPUS, "intel": "x86_64", "apple silicon": "aarch64"},
    "windows": {**_ANY_OS_CPUS, "64bit": "x86_64", "32bit": "i686"},
}
IMPLEMENTATION_ALIASES = {"cpython": "cpython", "pypy": "pypy"}

_CHECK_MARKS = ("{{< x >}}", "{{<x>}}", "✓", "✔", "yes")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LINK_REF = re.compile(r"^\s*\[([^\]]+)\]:\s*(\S+)")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


@dataclass(frozen=True)
class ImportProblem:
    """Something on the page the importer could not read."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class ImportResult:
    layer: Dict[str, Any]
    problems: Tuple[ImportProblem, ...] = ()


@dataclass
class _Table:
    line: int
    anchor: str
    heading: str
    header: List[str]
    rows: List[Tuple[int, List[str]]]
    after: List[Tuple[int, str]] = field(default_factory=list)  # text lines up to the next table


@dataclass
class _Text:
    line: int
    anchor: str
    heading: str
    text: str


@dataclass
class _Page:
    front_matter: Dict[str, str]
    tables: List[_Table]
    texts: List[_Text]
    refs: Dict[str, str]
    headings: List[Tuple[int, str, str]]  # line, text, anchor


def slug(text: str, sep: str = "_") -> str:
    """``"AWS App Runner"`` -> ``"aws_app_runner"``."""
    return re.sub(r"[^a-z0-9]+", sep, text.lower()).strip(sep)


def anchor(heading: str) -> str:
    """The anchor Hugo gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.lower())
    return re.sub(r"\s", "-", text.strip())


def _plain(text: str) -> str:
    return text.replace("**", "").replace("`", "").strip()


def _split_row(line: str) -> List[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|"):
        body = body[:-1]
    return [c.strip() for c in body.split("|")]


def _scan(text: str) -> _Page:
    lines = text.splitlines()
    front: Dict[str, str] = {}
    i = 0
    if lines and lines[0].strip() == "---":
        for j in range(1, len(lines)):
            if lines[j].strip() == "---":
                for fm in lines[1:j]:
                    key, sep, value = fm.partition(":")
                    if sep:
                        front[key.strip()] = value.strip().strip("\"'")
                i = j + 1
                break
    tables: List[_Table] = []
    texts: List[_Text] = []
    refs: Dict[str, str] = {}
    headings: List[Tuple[int, str, str]] = []
    section_anchor, section_heading = "", ""
    current: Optional[_Table] = None
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        stripped = line.strip()
        m = _HEADING.match(stripped)
        if m:
            level, title = len(m.group(1)), _plain(m.group(2))
            headings.append((lineno, title, anchor(title)))
            if level <= 3:  # deeper headings are notes inside a section
                section_anchor, section_heading = anchor(title), title
            current = None
            i += 1
            continue
        ref = _LINK_REF.match(line)
        if ref:
            refs[ref.group(1)] = ref.group(2)
            i += 1
            continue
        if (
            stripped.startswith("|")
            and i + 1 < len(lines)
            and _SEPARATOR.match(lines[i + 1])
            and "-" in lines[i + 1]
        ):
            table = _Table(lineno, section_anchor, section_heading, _split_row(stripped), [])
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                table.rows.append((i + 1, _split_row(lines[i])))
                i += 1
            tables.append(table)
            current = table
            continue
        if stripped and stripped != "-":
            item = stripped[2:].strip() if stripped.startswith(("- ", "* ")) else stripped
            texts.append(_Text(lineno, section_anchor, section_heading, item))
            if current is not None and current.anchor == section_anchor:
                current.after.append((lineno, item))
        i += 1
    return _Page(front, tables, texts, refs, headings)


class _Importer:
    def __init__(self, page: _Page, source_id: str, url: str) -> None:
        self.page = page
        self.source_id = source_id
        self.url = url
        self.problems: List[ImportProblem] = []
        self.cap_names: Dict[str, str] = {}  # lower-case name on the page -> id
        self.cap_ids: List[str] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(ImportProblem(line, message))

    def src(self, section_anchor: str) -> str:
        return f"{self.source_id}#{section_anchor}" if section_anchor else self.source_id

    def link(self, target: str) -> str:
        if target.startswith("/"):
            m = re.match(r"^(\w+://[^/]+)", self.url)
            return (m.group(1) if m else "") + target
        return target

    def resolve_links(self, text: str) -> str:
        """``[text][2]`` and ``[text](url)`` -> ``text (url)``; emphasis dropped."""

        def ref(m: re.Match[str]) -> str:
            target = self.page.refs.get(m.group(2))
            return f"{m.group(1)} ({self.link(target)})" if target else m.group(1)

        text = re.sub(r"\[([^\]]+)\]\[([^\]]+)\]", ref, text)
        text = re.sub(
            r"\[([^\]]+)\]\(([^)]+)\)", lambda m: f"{m.group(1)} ({self.link(m.group(2))})", text
        )
        return _plain(text)

    def cap_id(self, name: str) -> str:
        text = _plain(name).rstrip("?").strip()
        text = re.sub(r"\s+(support|supported)$", "", text, flags=re.IGNORECASE).strip()
        key = text.lower()
        return CAPABILITY_ALIASES.get(key) or self.cap_names.get(key) or slug(text)

    # --- tables ------------------------------------------------------------------------------

    def kind(self, table: _Table) -> str:
        h0 = table.header[0].lower() if table.header else ""
        h1 = table.header[1].lower() if len(table.header) > 1 else ""
        heading = table.heading.lower()
        if "capability" in h0 and "version" in h1:
            return "capabilities"
        if "deployment" in heading or h0 in ("type", "deployment type"):
            return "deployments"
        if h0.startswith("release"):
            return "release_branches"
        if h0 == "os":
            return "runtimes"
        if "framework" in h0 and "auth" in heading:
            return "auth_frameworks"
        if "framework" in h0:
            return "web_frameworks"
        return ""

    def cells(self, table: _Table, line: int, row: List[str]) -> Optional[List[str]]:
        """A row padded to the header's width (Markdown renders missing cells empty)."""
        if len(row) > len(table.header):
            self.problem(
                line, f"row has {len(row)} cells, the table header has {len(table.header)}: skipped"
            )
            return None
        if not row[0]:
            self.problem(line, "row has no name in its first cell: skipped")
            return None
        return row + [""] * (len(table.header) - len(row))

    def checked(self, line: int, column: str, cell: str) -> Optional[bool]:
        value = cell.strip().lower()
        if not value:
            return False
        if value in _CHECK_MARKS:
            return True
        self.problem(line, f"column {column!r}: {cell!r} is neither a check mark nor empty")
        return None

    def marked(
        self, line: int, caps: Sequence[Optional[str]], columns: Sequence[str], cells: Sequence[str]
    ) -> Optional[List[str]]:
        """The capabilities a row checks, or None (each bad cell reported) if one is unreadable."""
        marks = [self.checked(line, col, cell) for col, cell in zip(columns, cells)]
        if any(m is None for m in marks):
            return None
        return [cap for cap, mark in zip(caps, marks) if mark and cap]

    def capabilities(self, table: _Table) -> List[Dict[str, Any]]:
        out = []
        for line, raw in table.rows:
            row = self.cells(table, line, raw)
            if row is None:
                continue
            name, minimum = _plain(row[0]), _plain(row[1])
            cap: Dict[str, Any] = {"id": self.cap_id(name), "name": name}
            try:
                cap["min_ddtrace"] = str(Version(minimum))
            except InvalidVersion:
                if "beta" in minimum.lower() or "preview" in minimum.lower():
                    cap["min_ddtrace"] = None
                    cap["stage"] = minimum.lower()
                else:
                    self.problem(
                        line, f"capability {name!r}: {minimum!r} is not a ddtrace version: skipped"
                    )
                    continue
            cap["source"] = self.src(table.anchor)
            self.cap_names[name.lower()] = cap["id"]
            self.cap_ids.append(cap["id"])
            out.append(cap)
        return out

    def column_caps(self, table: _Table, columns: Sequence[str]) -> List[Optional[str]]:
        out: List[Optional[str]] = []
        for col in columns:
            cid = self.cap_id(col)
            if cid not in self.cap_ids:
                self.problem(
                    table.line, f"column {col!r} names no capability of the capability table"
                )
                out.append(None)
            else:
                out.append(cid)
        return out

    def deployments(self, table: _Table) -> Dict[str, Any]:
        caps = self.column_caps(table, table.header[1:])
        rows = []
        for line, raw in table.rows:
            row = self.cells(table, line, raw)
            if row is None:
                continue
            name = _plain(row[0])
            supports = self.marked(line, caps, table.header[1:], row[1:])
            if supports is None:
                self.problem(line, f"deployment {name!r}: skipped")
                continue
            rows.append(
                {
                    "id": DEPLOYMENT_ALIASES.get(name.lower()) or slug(name),
                    "name": name,
                    "supports": supports,
                    "source": self.src(table.anchor),
                }
            )
        return {
            "capabilities": [c for c in caps if c],
            "source": self.src(table.anchor),
            "rows": rows,
        }

    def release_branches(self, table: _Table) -> List[Dict[str, Any]]:
        out = []
        for line, raw in table.rows:
            row = self.cells(table, line, raw)
            if row is None:
                continue
            spec, support = _plain(row[0]).replace(" ", ""), _plain(row[1]).lower()
            try:
                SpecifierSet(spec)
            except InvalidSpecifier:
                self.problem(
                    line, f"release {spec!r} is not a version range like >=1.0,<2: skipped"
                )
                continue
            if not support:
                self.problem(line, f"release {spec!r} has no support level: skipped")
                continue
            out.append({"ddtrace": spec, "support": support, "source": self.src(table.anchor)})
        return out

    def runtimes(self, table: _Table) -> List[Dict[str, Any]]:
        out = []
        for line, raw in table.rows:
            row = self.cells(table, line, raw)
            if row is None:
                continue
            if len(row) < 5:
                self.problem(
                    line, "runtime row needs OS, CPU, runtime, versions and ddtrace: skipped"
                )
                continue
            os_name = OS_ALIASES.get(_plain(row[0]).lower())
            if os_name is None:
                self.problem(line, f"OS {row[0]!r} is not one of Linux, macOS, Windows: skipped")
                continue
            cpus: List[str] = []
            for cpu in _plain(row[1]).split(","):
                canonical = CPU_ALIASES[os_name].get(cpu.strip().lower())
                if canonical is None:
                    self.problem(line, f"CPU {cpu.strip()!r} on {row[0]} is not known: skipped")
                    break
                if canonical not in cpus:
                    cpus.append(canonical)
            else:
                impl = IMPLEMENTATION_ALIASES.get(_plain(row[2]).lower())
                pythons = [p.strip() for p in _plain(row[3]).split(",") if p.strip()]
                spec = _plain(row[4]).replace(" ", "")
                try:
                    expand_pythons(pythons)
                    SpecifierSet(spec)
                    if impl is None or not pythons or not spec:
                        raise ValueError(f"runtime {row[2]!r} is not CPython or PyPy")
                except (ValueError, InvalidSpecifier) as exc:
                    self.problem(line, f"runtime row not readable ({exc}): skipped")
                    continue
                out.append(
                    {
                        "os": os_name,
                        "cpu": cpus,
                        "implementation": impl,
                        "python": pythons,
                        "ddtrace": spec,
                        "source": self.src(table.anchor),
                    }
                )
        return out

    def web_frameworks(self, table: _Table) -> Dict[str, Any]:
        caps = self.column_caps(table, table.header[2:])
        rows: List[Dict[str, Any]] = []
        for line, raw in table.rows:
            row = self.cells(table, line, raw)
            if row is None:
                continue
            name = _plain(row[0])
            version = re.sub(r"^(>=|\+)|\+$", "", _plain(row[1]).replace(" ", ""))
            try:
                version = str(Version(version))
            except InvalidVersion:
                self.problem(line, f"framework {name!r}: {row[1]!r} is not a version: skipped")
                continue
            supports = self.marked(line, caps, table.header[2:], row[2:])
            if supports is None:
                self.problem(line, f"framework {name!r}: skipped")
                continue
            rows.append(
                {
                    "id": slug(name, "-"),
                    "name": name,
                    "min_version": version,
                    "supports": supports,
                    "caveats": [],
                    "source": self.src(table.anchor),
                }
            )
        for _line, text in table.after:
            if text.startswith("<"):
                continue  # HTML (a feedback form), not a fact
            for fw in rows:
                if re.search(rf"\b{re.escape(fw['name'])}\b", text):
                    fw["caveats"].append(_caveat(self.resolve_links(text), fw["name"]))
        return {
            "capabilities": [c for c in caps if c],
            "all_frameworks": [],
            "source": self.src(table.anchor),
            "rows": rows,
        }

    def auth_frameworks(self, table: _Table) -> Dict[str, Any]:
        capability = next(
            (cap for key, cap in SECTION_CAPABILITIES.items() if key in table.heading.lower()), ""
        )
        if capability not in self.cap_ids:
            self.problem(
                table.line,
                f"no capability of the page matches section {table.heading!r}: table skipped",
            )
            capability = ""
        rows = []
        for line, raw in table.rows:
            row = self.cells(table, line, raw)
            if row is None:
                continue
            name = _plain(row[0])
            versions = [v.strip().replace(" ", "") for v in _plain(row[1]).split(",") if v.strip()]
            bad = [v for v in versions if not _auth_version_ok(v)]
            if bad or not versions:
                self.problem(
                    line, f"framework {name!r}: {row[1]!r} is not a list of versions: skipped"
                )
                continue
            rows.append(
                {
                    "id": slug(name, "-"),
                    "name": name,
                    "versions": versions,
                    "source": self.src(table.anchor),
                }
            )
        return {"capability": capability, "source": self.src(table.anchor), "rows": rows}

    # --- notes -------------------------------------------------------------------------------

    def remote_configuration(self) -> Optional[Dict[str, Any]]:
        pattern = re.compile(
            r"^(?:\*\*Note\*\*:\s*)?(?P<caps>.+?)\s+requires?\s+(?:enabling\s+)?"
            r"\[?Remote Configuration\]?(?:\[(?P<ref>[^\]]+)\])?",
            re.IGNORECASE,
        )
        for t in self.page.texts:
            m = pattern.match(t.text)
            if not m:
                continue
            names = re.split(r",\s*|\s+and\s+", _plain(m.group("caps")))
            ids = [self.cap_id(n) for n in names if n.strip()]
            unknown = [i for i in ids if i not in self.cap_ids]
            if unknown:
                self.problem(
                    t.line, f"Remote Configuration note names unknown capability {unknown[0]!r}"
                )
                continue
            out: Dict[str, Any] = {"required_by": ids, "source": self.src(t.anchor)}
            target = self.page.refs.get(m.group("ref") or "")
            if target:
                out["docs"] = self.link(target)
            return out
        return None

    def all_frameworks(self) -> List[str]:
        pattern = re.compile(
            r"^\*\*(?P<cap>[^*]+)\*\*\s+(?:is supported on|works (?:with|on)) (?:all|every) frameworks?",
            re.I,
        )
        out: List[str] = []
        for t in self.page.texts:
            m = pattern.match(t.text)
            if m:
                cid = self.cap_id(m.group("cap"))
                if cid not in self.cap_ids:
                    self.problem(t.line, f"note names unknown capability {m.group('cap')!r}")
                elif cid not in out:
                    out.append(cid)
        return out

    def datastores(self) -> Optional[Dict[str, str]]:
        """The data store notes, as facts: which databases, and which capability covers all.

        Sentences are read for their facts (a bold capability that works for all databases; the
        database API link and the databases it names), so rewording the page changes nothing.
        """
        out: Dict[str, str] = {}
        section = ""
        for t in self.page.texts:
            if "data store" not in t.heading.lower():
                continue
            section = t.anchor
            bold = re.match(r"^\*\*(?P<cap>[^*]+)\*\*", t.text)
            every = re.search(r"\b(all|every|any)\s+(databases?|data stores?)\b", t.text, re.I)
            if bold and every and self.cap_id(bold.group("cap")) in self.cap_ids:
                cap = _plain(bold.group("cap"))
                layer = " (it acts on the HTTP request)" if "http request" in t.text.lower() else ""
                out["protection_layer"] = f"{cap} covers every data store{layer}"
                continue
            link = re.search(r"\[([^\]]+)\](?:\[([^\]]+)\]|\(([^)]+)\))", t.text)
            if link and re.search(r"\bdatabase", t.text, re.I):
                target = self.page.refs.get(link.group(2) or "", link.group(3) or "")
                names = re.search(r"(?:such as|including|e\.g\.,?)\s+([^.]+)", t.text, re.I)
                covered = "any database driver implementing the Python database API"
                covered += f" ({self.link(target)})" if target else ""
                covered += f", e.g. {_plain(names.group(1))}" if names else ""
                out["covered"] = covered
        if not out:
            return None
        return {**out, "source": self.src(section)}


def _auth_version_ok(text: str) -> bool:
    try:
        if text[:1] in "<>=!~":
            SpecifierSet(text)
        else:
            Version(text)
    except (InvalidSpecifier, InvalidVersion):
        return False
    return True


def _caveat(sentence: str, framework: str) -> str:
    """A note under the framework table, as a caveat of the row it names.

    ``"Support for query strings is not available for Flask."``, ``"Query strings are not
    supported on Flask."`` and ``"Flask does not support query strings."`` all give
    ``"no support for query strings"``; other sentences are kept as written.
    """
    fw = re.escape(framework)
    on = r"\s+(?:for|on|with|in)\s+"
    for pattern in (
        rf"^support for (?P<what>.+?) is not available{on}{fw}\.?$",
        rf"^(?P<what>.+?) (?:is|are) not (?:supported|available){on}{fw}\.?$",
        rf"^{fw} does not support (?P<what>.+?)\.?$",
    ):
        m = re.match(pattern, sentence, re.I)
        if m:
            what = m.group("what")
            return "no support for " + what[:1].lower() + what[1:]
    return sentence


def import_page(
    text: str,
    *,
    source_id: str = DEFAULT_SOURCE_ID,
    url: str = DEFAULT_URL,
    title: Optional[str] = None,
) -> ImportResult:
    """Turn the page's Markdown into one matrix layer (a JSON-ready dict) and the problems met."""
    page = _scan(text)
    imp = _Importer(page, source_id, url)
    kinds = [(imp.kind(t), t) for t in page.tables]
    for kind, table in kinds:
        if not kind:
            imp.problem(
                table.line,
                f"table with columns {' | '.join(table.header)!r} is not one the importer knows: "
                "skipped",
            )
    layer: Dict[str, Any] = {
        "schema_version": SUPPORTED_SCHEMA,
        "layer": LAYER_NAME,
        "sources": {
            source_id: {
                "title": title
                or DEFAULT_TITLE_PREFIX + page.front_matter.get("title", "compatibility page"),
                "url": url,
            }
        },
    }
    caps: List[Dict[str, Any]] = []
    for kind, table in kinds:  # capabilities first: the other tables refer to them
        if kind == "capabilities":
            caps.extend(imp.capabilities(table))
    if not caps:
        imp.problem(1, "the page has no capability table (| capability | minimum version |)")
    layer["capabilities"] = caps
    rc = imp.remote_configuration()
    if rc is not None:
        layer["remote_configuration"] = rc
    for kind, table in kinds:
        if kind == "deployments":
            dep = imp.deployments(table)
            if "deployments" in layer:  # a second table: more rows and columns
                layer["deployments"]["rows"].extend(dep["rows"])
                layer["deployments"]["capabilities"].extend(
                    c for c in dep["capabilities"] if c not in layer["deployments"]["capabilities"]
                )
            else:
                layer["deployments"] = dep
    branches = [b for k, t in kinds if k == "release_branches" for b in imp.release_branches(t)]
    if branches:
        layer["release_branches"] = branches
    runtimes = [r for k, t in kinds if k == "runtimes" for r in imp.runtimes(t)]
    if runtimes:
        layer["runtimes"] = runtimes
    for kind, table in kinds:
        if kind == "web_frameworks":
            web = imp.web_frameworks(table)
            if "web_frameworks" in layer:
                layer["web_frameworks"]["rows"].extend(web["rows"])
            else:
                layer["web_frameworks"] = web
    all_fw = imp.all_frameworks()
    if all_fw:
        layer.setdefault("web_frameworks", {"capabilities": [], "rows": []})["all_frameworks"] = (
            all_fw
        )
    ds = imp.datastores()
    if ds is not None:
        layer["datastores"] = ds
    for kind, table in kinds:
        if kind == "auth_frameworks":
            auth = imp.auth_frameworks(table)
            if not auth["capability"]:
                continue  # reported: a table of no known capability
            if "auth_frameworks" in layer:
                layer["auth_frameworks"]["rows"].extend(auth["rows"])
            else:
                layer["auth_frameworks"] = auth
    problems = tuple(sorted(imp.problems, key=lambda p: p.line))
    return ImportResult(layer=layer, problems=problems)
