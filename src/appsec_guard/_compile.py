"""Compile the shipped matrix for the boot: ``python -m appsec_guard._compile [DATA_DIR]``
writes ``data/compiled.json`` from ``compatibility.json`` and ``supplement.json``, then
``data/compiled.pickle``: compiled.json and ``activation.json`` as their readers parse them,
and the matrix merged from that parse.

The boot reads the compiled file instead of the layers: one merged layer (validated again
when read, but with nothing left to merge) and every version range it uses, compiled by
``packaging`` into intervals over release numbers (see :mod:`appsec_guard._versions`).

Compiling asks packaging, never a rule of our own: the plain releases a range holds change
only at the release numbers its specifiers name (and, for ``X.*`` and ``~=``, the next
series), so the compiler lists those points, asks ``SpecifierSet.contains`` about each point
and about a release between each two, and joins the answers into intervals. It then checks
every interval against packaging again. ``===`` (arbitrary equality) is not compiled: such a
range stays packaging's.

The boot unpickles the parsed objects instead of running the readers (see
:data:`appsec_guard.matrix.PARSED`); compiled.json stays the form a person reviews, and the one
read when the pickle cannot be loaded. Pickles of equal objects may differ byte for byte (the
order of a frozenset's items changes from one process to the next), so the pickle is rewritten
only when what it holds changes.

``appsec-guard matrix import --output .../data/compatibility.json`` runs it after writing the
layer; run it by hand after editing ``supplement.json`` or ``activation.json`` (whose ranges
are compiled too). tests/test_versions.py rebuilds both files and fails when a shipped one
differs.
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple, cast

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from . import matrix as _matrix
from ._versions import CompiledRange, Interval, Key, Release, key

COMPILED_PATH = _matrix.DATA_DIR / _matrix.COMPILED
ACTIVATION = "activation.json"  # the activation data: its ranges are compiled too
ABOUT = (
    "Written by `python -m appsec_guard._compile` from "
    + ", ".join((*_matrix.SHIPPED_LAYERS, ACTIVATION))
    + "; do not edit by hand."
)


def _text(release: Key) -> str:
    return ".".join(map(str, release)) if release else "0"


def _between(low: Key, high: Optional[Key]) -> Key:
    """A plain release above ``low`` and below ``high``: ``low`` followed by as many zeros as
    ``high`` has numbers, then 1 (``(3,)`` and ``(3, 0, 5)`` give ``3.0.0.0.1``)."""
    return low + (0,) * (len(high) if high is not None else 0) + (1,)


def _points(spec: SpecifierSet) -> List[Key]:
    points: Set[Key] = {()}  # 0, the lowest plain release
    for s in spec:
        wildcard = s.version.endswith(".*")
        release = Version(s.version[:-2] if wildcard else s.version).release
        points.add(key(release))
        if wildcard:
            points.add(key((*release[:-1], release[-1] + 1)))
        if s.operator == "~=":  # ~=2.2.0 ends where 2.3 starts
            points.add(key((*release[:-2], release[-2] + 1)))
    return sorted(points)


def compile_range(source: str) -> Tuple[str, Tuple[Interval, ...]]:
    """``(str(SpecifierSet(source)), intervals)``: the plain releases the range holds, as
    packaging answers. Raises ValueError for a range that cannot be compiled (``===``)."""
    spec = SpecifierSet(source)
    if any(s.operator == "===" for s in spec):
        raise ValueError(f"{source!r}: arbitrary equality (===) is left to packaging")

    def holds(release: Key) -> bool:
        return spec.contains(Version(_text(release)), prereleases=True)

    points = _points(spec)
    intervals: List[Interval] = []
    start: Optional[Tuple[Key, bool]] = None  # the open interval reaching this point
    for i, point in enumerate(points):
        above = points[i + 1] if i + 1 < len(points) else None
        at, after = holds(point), holds(_between(point, above))
        if start is not None and not at:
            intervals.append((start[0], start[1], point, False))
            start = None
        elif start is None and at:
            start = (point, True)
        if start is not None and not after:
            intervals.append((start[0], start[1], point, True))
            start = None
        elif start is None and after:
            start = (point, False)
    if start is not None:
        intervals.append((start[0], start[1], None, False))
    if intervals and intervals[0][0] == () and intervals[0][1]:  # from 0 on: no lower bound
        intervals[0] = (None, True, intervals[0][2], intervals[0][3])
    _check(spec, points, intervals)
    return str(spec), tuple(intervals)


def _check(spec: SpecifierSet, points: Sequence[Key], intervals: Sequence[Interval]) -> None:
    from ._versions import CompiledRange

    compiled = CompiledRange(str(spec), str(spec), intervals)
    probes = list(points)
    probes += [_between(p, q) for p, q in zip(points, [*points[1:], None])]
    for release in probes:
        want = spec.contains(Version(_text(release)), prereleases=True)
        if compiled.holds(key(release)) != want:  # pragma: no cover - a compiler bug
            raise AssertionError(f"{spec}: {_text(release)} compiled wrong")


def range_texts(layer: Dict[str, Any]) -> List[str]:
    """Every range text of a merged layer, as the loader will look it up."""
    texts = [row["ddtrace"] for row in layer["runtimes"]]
    texts += [row["ddtrace"] for row in layer["release_branches"]]
    texts += [t for row in layer["deployment_exclusions"]["rows"] for t in row["ddtrace"]]
    texts += [
        _matrix.auth_range_text(v)
        for row in layer["auth_frameworks"]["rows"]
        for v in row["versions"]
    ]
    for row in layer.get("framework_integrations", {}).get("rows", []):
        texts += [*row["ddtrace"], row["runs"]]
    return sorted(set(texts))


def activation_range_texts(doc: Dict[str, Any]) -> List[str]:
    """Every range text of the activation data (``""``: a release no row reads, all of them)."""
    texts = [""]
    texts += [r["ddtrace"] for row in doc.get("settings", {}).values() for r in row["reads"]]
    texts += [doc[k]["ddtrace"] for k in ("remote_activation", "stable_configuration") if k in doc]
    texts += [r["ddtrace"] for r in doc.get("code_security_platform", {}).get("python_below", [])]
    return sorted(set(texts))


def all_range_texts(data_dir: Path, merged: Dict[str, Any]) -> List[str]:
    texts = set(range_texts(merged))
    activation = data_dir / ACTIVATION
    if activation.is_file():
        texts.update(activation_range_texts(json.loads(activation.read_text(encoding="utf-8"))))
    return sorted(texts)


def compiled_document(data_dir: Path = _matrix.DATA_DIR) -> Dict[str, Any]:
    """The compiled form of the data files in ``data_dir``: the merged layer, and the ranges of
    the matrix and of the activation data."""
    layers = [_matrix.read_layer(data_dir / name) for name in _matrix.SHIPPED_LAYERS]
    merged = _matrix.to_layer(_matrix.merge_layers(layers, _matrix.SHIPPED_ORIGIN))
    ranges = []
    for source in all_range_texts(data_dir, merged):
        try:
            text, intervals = compile_range(source)
        except ValueError:
            continue
        ranges.append(
            {
                "source": source,
                "text": text,
                "intervals": [
                    [
                        None if lo is None else list(lo),
                        lo_in,
                        None if hi is None else list(hi),
                        hi_in,
                    ]
                    for lo, lo_in, hi, hi_in in intervals
                ],
            }
        )
    return {"about": ABOUT, "ranges": ranges, "matrix": merged}


def render(document: Dict[str, Any]) -> str:
    """JSON with one line per compiled range, so that a change to a range reads as one line."""
    ranges = ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in document["ranges"])
    matrix = json.dumps(document["matrix"], indent=1, ensure_ascii=False).replace("\n", "\n ")
    return (
        "{\n"
        f' "about": {json.dumps(document["about"])},\n'
        f' "ranges": [\n{ranges}\n ],\n'
        f' "matrix": {matrix}\n'
        "}\n"
    )


def parsed_document(data_dir: Path = _matrix.DATA_DIR) -> Dict[str, Any]:
    """What :data:`~appsec_guard.matrix.PARSED` holds: ``data_dir``'s compiled.json and
    activation.json (when there is one) as the boot's readers parse them."""
    from . import activation

    compiled = json.loads((data_dir / _matrix.COMPILED).read_text(encoding="utf-8"))
    ranges = _matrix.parse_ranges(compiled["ranges"])
    _matrix._register(ranges)  # the readers look each range up by its text: these ones
    layer = _matrix.parse_layer(compiled["matrix"], _matrix.SHIPPED_ORIGIN)
    path = data_dir / ACTIVATION
    data = activation.parse(json.loads(path.read_text("utf-8"))) if path.is_file() else None
    document = {"format": _matrix.PARSED_FORMAT, "ranges": ranges, "layer": layer}
    document["matrix"] = _matrix.merge_layers([layer], _matrix.SHIPPED_ORIGIN)
    document["activation"] = data
    document["fields"] = fields_of_classes(document)
    return cast("Dict[str, Any]", shared(document))


def shared(value: Any, pool: Optional[Dict[Any, Any]] = None) -> Any:
    """``value`` with every string, tuple and frozenset that equals another one made that one
    object, so that the pickle holds each value once and the boot builds each once (the
    parse repeats the same texts and tuples: about half its objects).

    Built from the leaves up, each container keyed by the identity of its already shared
    items: equal only with items of the same types (``(1,)`` and ``(True,)`` stay apart).
    Dicts, lists and the fields of the value classes are updated in place: this is the
    compiler's own parse, made to be pickled."""
    pool = {} if pool is None else pool
    kind = type(value)
    if kind is str:
        return pool.setdefault((str, value), value)
    if kind is tuple or kind is frozenset:
        items = kind(shared(v, pool) for v in value)
        return pool.setdefault((kind, kind(map(id, items))), items)
    if kind is dict:
        items = [(shared(k, pool), shared(v, pool)) for k, v in value.items()]
        value.clear()
        value.update(items)
    elif kind is list:
        value[:] = [shared(v, pool) for v in value]
    elif kind is CompiledRange:
        object.__setattr__(value, "intervals", shared(value.intervals, pool))
        object.__setattr__(value, "source", shared(value.source, pool))
        object.__setattr__(value, "text", shared(value.text, pool))
    elif kind is Release:
        object.__setattr__(value, "release", shared(value.release, pool))
    elif getattr(kind, "__match_args__", None) is not None:  # a frozen value class
        fields = value.__dict__
        for name in kind.__match_args__:
            fields[name] = shared(fields[name], pool)
    return value


def fields_of_classes(
    value: Any, out: Optional[Dict[str, Tuple[str, ...]]] = None
) -> Dict[str, Tuple[str, ...]]:
    """``{"module:qualname": fields}`` of every frozen value class in ``value``: a pickle keeps
    an object's fields by name, so the boot sets aside one written for other fields."""
    out = {} if out is None else out
    if isinstance(value, Mapping):
        for v in value.values():
            fields_of_classes(v, out)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            fields_of_classes(v, out)
    else:
        names = getattr(type(value), "__match_args__", None)
        if names is not None:
            out[f"{type(value).__module__}:{type(value).__qualname__}"] = tuple(names)
            for name in names:
                fields_of_classes(getattr(value, name), out)
    return out


def canonical(value: Any) -> Any:
    """``value`` as plain tuples, for comparing two parses field by field (a compiled range's
    intervals included, which its own ``==`` leaves out)."""
    if isinstance(value, CompiledRange):
        return ("range", value.source, value.text, value.intervals)
    if isinstance(value, Release):
        return ("release", value.release)
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((k, canonical(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return tuple(canonical(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted((canonical(v) for v in value), key=repr)))
    names = getattr(type(value), "__match_args__", None)  # a frozen value class
    if names is not None:
        fields = tuple(canonical(getattr(value, n)) for n in names)
        return (type(value).__module__, type(value).__qualname__, fields)
    return value


def write(data_dir: Path = _matrix.DATA_DIR) -> Path:
    """Compile the layer files of ``data_dir`` into its :data:`~appsec_guard.matrix.COMPILED`,
    then its parse into :data:`~appsec_guard.matrix.PARSED`."""
    out = data_dir / _matrix.COMPILED
    out.write_text(render(compiled_document(data_dir)), encoding="utf-8")
    parsed = parsed_document(data_dir)
    target = data_dir / _matrix.PARSED
    shipped = _matrix.read_parsed(target, fresh=True)
    if shipped is None or canonical(shipped) != canonical(parsed):
        target.write_bytes(pickle.dumps(parsed, protocol=4))  # protocol 4: Python 3.4 and later
        _matrix.read_parsed(target, fresh=True)  # what this process reads next is the new file
    return out


def is_data_dir(directory: Path) -> bool:
    """Whether ``directory`` holds the shipped layer files (the package's, or a copy of it)."""
    return all((directory / name).is_file() for name in _matrix.SHIPPED_LAYERS)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = write(Path(args[0]) if args else _matrix.DATA_DIR)
    sys.stdout.write(f"wrote {out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
