"""What changed between two matrices, in the words of a release note. Pure: matrices in, changes out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Set, Tuple, TypeVar

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from .judge import IMPL_NAMES, OS_NAMES, join_words
from .matrix import Matrix, RuntimeRule

T = TypeVar("T")


@dataclass(frozen=True)
class Change:
    """One difference. ``kind``: added, removed or changed; ``area``: which part of the matrix."""

    kind: str
    area: str
    subject: str
    text: str

    def to_dict(self) -> Dict[str, str]:
        return {"kind": self.kind, "area": self.area, "subject": self.subject, "text": self.text}


def _keyed(items: Iterable[T], key: Any) -> Dict[Any, T]:
    return {key(i): i for i in items}


def _moved(old: Version, new: Version) -> str:
    return "raised" if new > old else "lowered"


def _gained_lost(old: Iterable[str], new: Iterable[str]) -> Tuple[List[str], List[str]]:
    """What ``new`` has that ``old`` had not, and the reverse; each sorted."""
    before, after = set(old), set(new)
    return sorted(after - before), sorted(before - after)


def _names(matrix: Matrix, caps: Iterable[str]) -> str:
    names = []
    for cap in sorted(caps):
        try:
            names.append(matrix.capability(cap).name)
        except KeyError:
            names.append(cap)
    return join_words(names)


def _runtime(r: RuntimeRule) -> str:
    return (
        f"ddtrace {r.ddtrace} on {OS_NAMES.get(r.os, r.os)} ({', '.join(sorted(r.cpus))}): "
        f"{IMPL_NAMES.get(r.implementation, r.implementation)} {', '.join(r.python_text)}"
    )


def diff(old: Matrix, new: Matrix) -> List[Change]:
    """Every difference from ``old`` to ``new``, grouped by area, in a stable order."""
    out: List[Change] = []
    out += _capabilities(old, new)
    out += _deployments(old, new)
    out += _exclusions(old, new)
    out += _integrations(old, new)
    out += _release_branches(old, new)
    out += _runtimes(old, new)
    out += _frameworks(old, new)
    out += _auth(old, new)
    out += _misc(old, new)
    return out


def _range(spec: SpecifierSet) -> str:
    """``>=3.9,<3.11``: lower bounds first (str(SpecifierSet) sorts them as text)."""
    lower = (">=", ">", "==", "~=")
    return ",".join(str(s) for s in sorted(spec, key=lambda s: (s.operator not in lower, str(s))))


def _excluded(matrix: Matrix) -> Dict[Tuple[str, str], Set[str]]:
    """(deployment, ddtrace range) -> the capabilities those releases switch off there."""
    out: Dict[Tuple[str, str], Set[str]] = {}
    for e in matrix.exclusions:
        for spec in e.ddtrace:
            out.setdefault((e.deployment, _range(spec)), set()).update(e.capabilities)
    return out


def _exclusions(old: Matrix, new: Matrix) -> List[Change]:
    out = []
    a, b = _excluded(old), _excluded(new)
    for dep, rng in sorted(set(a) | set(b)):
        rule = new.deployment(dep) or old.deployment(dep)
        where = f"{rule.name if rule else dep}: ddtrace {rng}"
        gained, lost = _gained_lost(a.get((dep, rng), ()), b.get((dep, rng), ()))
        subject = f"{dep} ddtrace {rng}"
        if gained:
            out.append(
                Change("added", "exclusion", subject, f"{where} switches {_names(new, gained)} off")
            )
        if lost:
            out.append(
                Change(
                    "removed",
                    "exclusion",
                    subject,
                    f"{where} no longer switches {_names(old, lost)} off",
                )
            )
    return out


def _integration_ranges(matrix: Matrix) -> Dict[Tuple[str, str], str]:
    """(framework, ddtrace range) -> the framework versions those releases' integration runs."""
    return {
        (lim.framework, _range(spec)): _range(lim.runs)
        for lim in matrix.integration_limits
        for spec in lim.ddtrace
    }


def _integrations(old: Matrix, new: Matrix) -> List[Change]:
    out = []
    a, b = _integration_ranges(old), _integration_ranges(new)
    for fw, rng in sorted(set(a) | set(b)):
        rule = new.web_framework(fw) or old.web_framework(fw)
        name = rule.name if rule else fw
        subject = f"{fw} ddtrace {rng}"
        before, after = a.get((fw, rng)), b.get((fw, rng))
        if before == after:
            continue
        if before is None:
            text = f"ddtrace {rng}: its {name} integration runs {name}{after} only"
            out.append(Change("added", "integration", subject, text))
        elif after is None:
            text = f"ddtrace {rng}: its {name} integration is no longer limited to {name}{before}"
            out.append(Change("removed", "integration", subject, text))
        else:
            text = f"ddtrace {rng}: its {name} integration runs {name}{after}, was {name}{before}"
            out.append(Change("changed", "integration", subject, text))
    return out


def _cap_floor(cap: Any) -> str:
    return f"ddtrace >= {cap.min_ddtrace}" if cap.min_ddtrace else cap.stage or "no minimum"


def _capabilities(old: Matrix, new: Matrix) -> List[Change]:
    out = []
    a, b = _keyed(old.capabilities, lambda c: c.id), _keyed(new.capabilities, lambda c: c.id)
    for cid, cap in b.items():
        if cid not in a:
            out.append(
                Change(
                    "added", "capability", cid, f"new capability: {cap.name} ({_cap_floor(cap)})"
                )
            )
            continue
        was = a[cid]
        if was.name != cap.name:
            out.append(
                Change(
                    "changed", "capability", cid, f"capability {was.name!r} renamed {cap.name!r}"
                )
            )
        if was.min_ddtrace != cap.min_ddtrace or was.stage != cap.stage:
            if was.min_ddtrace and cap.min_ddtrace:
                text = (
                    f"{cap.name} minimum ddtrace {_moved(was.min_ddtrace, cap.min_ddtrace)} "
                    f"from {was.min_ddtrace} to {cap.min_ddtrace}"
                )
            elif cap.min_ddtrace and not cap.stage:
                text = f"{cap.name} is now generally available (ddtrace >= {cap.min_ddtrace})"
            else:
                text = f"{cap.name} is now {_cap_floor(cap)} (was {_cap_floor(was)})"
            out.append(Change("changed", "capability", cid, text))
        gained, lost = _gained_lost(was.requires, cap.requires)
        out += [
            Change("changed", "capability", cid, f"{cap.name} now needs {_names(new, [d])}")
            for d in gained
        ]
        out += [
            Change("changed", "capability", cid, f"{cap.name} no longer needs {_names(old, [d])}")
            for d in lost
        ]
    for cid, cap in a.items():
        if cid not in b:
            out.append(Change("removed", "capability", cid, f"capability removed: {cap.name}"))
    gained, lost = _gained_lost(old.remote_config_required_by, new.remote_config_required_by)
    area = "remote_configuration"
    out += [
        Change("changed", area, c, f"{_names(new, [c])} now requires Remote Configuration")
        for c in gained
    ]
    out += [
        Change("changed", area, c, f"{_names(old, [c])} no longer requires Remote Configuration")
        for c in lost
    ]
    return out


def _deployments(old: Matrix, new: Matrix) -> List[Change]:
    out = []
    gained, lost = _gained_lost(old.deployment_capabilities, new.deployment_capabilities)
    out += [
        Change("added", "deployment", c, f"deployment types now listed for {_names(new, [c])}")
        for c in gained
    ]
    out += [
        Change(
            "removed", "deployment", c, f"deployment types no longer listed for {_names(old, [c])}"
        )
        for c in lost
    ]
    a, b = _keyed(old.deployments, lambda d: d.id), _keyed(new.deployments, lambda d: d.id)
    for did, dep in b.items():
        if did not in a:
            what = (
                f"supports {_names(new, dep.supports)}"
                if dep.supports
                else "supports none of the listed capabilities"
            )
            out.append(
                Change("added", "deployment", did, f"new deployment type: {dep.name} ({what})")
            )
            continue
        was = a[did]
        gained, lost = _gained_lost(was.supports, dep.supports)
        out += [
            Change("changed", "deployment", did, f"{dep.name} now supports {_names(new, [c])}")
            for c in gained
        ]
        out += [
            Change(
                "changed", "deployment", did, f"{dep.name} no longer supports {_names(old, [c])}"
            )
            for c in lost
        ]
    for did, dep in a.items():
        if did not in b:
            out.append(Change("removed", "deployment", did, f"deployment type removed: {dep.name}"))
    gained, lost = _gained_lost(old.no_remote_config_deployments, new.no_remote_config_deployments)
    out += [Change("changed", "deployment", d, f"{d} has no Remote Configuration") for d in gained]
    out += [Change("changed", "deployment", d, f"{d} now has Remote Configuration") for d in lost]
    return out


def _release_branches(old: Matrix, new: Matrix) -> List[Change]:
    out = []
    a = _keyed(old.release_branches, lambda r: str(r.ddtrace))
    b = _keyed(new.release_branches, lambda r: str(r.ddtrace))
    for spec, br in b.items():
        if spec not in a:
            out.append(
                Change(
                    "added",
                    "release_branch",
                    spec,
                    f"new release branch: ddtrace {spec} ({br.support})",
                )
            )
        elif a[spec].support != br.support:
            out.append(
                Change(
                    "changed",
                    "release_branch",
                    spec,
                    f"ddtrace {spec} moved from {a[spec].support} to {br.support}",
                )
            )
    for spec, br in a.items():
        if spec not in b:
            out.append(
                Change(
                    "removed",
                    "release_branch",
                    spec,
                    f"release branch removed: ddtrace {spec} ({br.support})",
                )
            )
    return out


def _runtime_key(r: RuntimeRule) -> Tuple[str, str, str]:
    return (r.os, r.implementation, str(r.ddtrace))


def _runtimes(old: Matrix, new: Matrix) -> List[Change]:
    out = []
    a, b = _keyed(old.runtimes, _runtime_key), _keyed(new.runtimes, _runtime_key)
    for key, rt in b.items():
        subject = "/".join(key)
        if key not in a:
            out.append(Change("added", "runtime", subject, f"new runtime row: {_runtime(rt)}"))
            continue
        was = a[key]
        if was.pythons != rt.pythons or was.cpus != rt.cpus:
            out.append(
                Change(
                    "changed",
                    "runtime",
                    subject,
                    f"runtime row changed: {_runtime(was)} -> {_runtime(rt)}",
                )
            )
    for key, rt in a.items():
        if key not in b:
            out.append(
                Change("removed", "runtime", "/".join(key), f"runtime row removed: {_runtime(rt)}")
            )
    return out


def _frameworks(old: Matrix, new: Matrix) -> List[Change]:
    out = []
    a, b = _keyed(old.web_frameworks, lambda f: f.id), _keyed(new.web_frameworks, lambda f: f.id)
    for fid, fw in b.items():
        if fid not in a:
            caps = f" for {_names(new, fw.supports)}" if fw.supports else ""
            out.append(
                Change(
                    "added", "framework", fid, f"new framework: {fw.name} >= {fw.min_version}{caps}"
                )
            )
            continue
        was = a[fid]
        if was.min_version != fw.min_version:
            caps = f" for {_names(new, fw.supports)}" if fw.supports else ""
            out.append(
                Change(
                    "changed",
                    "framework",
                    fid,
                    f"{fw.name} minimum{caps} {_moved(was.min_version, fw.min_version)} "
                    f"from {was.min_version} to {fw.min_version}",
                )
            )
        gained, lost = _gained_lost(was.supports, fw.supports)
        out += [
            Change("changed", "framework", fid, f"{fw.name} now supports {_names(new, [c])}")
            for c in gained
        ]
        out += [
            Change("changed", "framework", fid, f"{fw.name} no longer supports {_names(old, [c])}")
            for c in lost
        ]
        gained, lost = _gained_lost(was.caveats, fw.caveats)
        out += [Change("changed", "framework", fid, f"{fw.name}: new caveat: {c}") for c in gained]
        out += [Change("changed", "framework", fid, f"{fw.name}: caveat lifted: {c}") for c in lost]
    for fid, fw in a.items():
        if fid not in b:
            out.append(Change("removed", "framework", fid, f"framework removed: {fw.name}"))
    gained, lost = _gained_lost(old.all_framework_capabilities, new.all_framework_capabilities)
    out += [
        Change("added", "framework", c, f"{_names(new, [c])} is now supported on all frameworks")
        for c in gained
    ]
    out += [
        Change(
            "removed",
            "framework",
            c,
            f"{_names(old, [c])} is no longer supported on all frameworks",
        )
        for c in lost
    ]
    return out


def _auth(old: Matrix, new: Matrix) -> List[Change]:
    out = []
    cap = _names(new, [new.auth_capability]) if new.auth_capability else "user tracking"
    if old.auth_capability != new.auth_capability:
        out.append(
            Change(
                "changed",
                "auth_framework",
                new.auth_capability,
                f"the authentication framework table now applies to {cap}",
            )
        )
    a, b = _keyed(old.auth_frameworks, lambda f: f.id), _keyed(new.auth_frameworks, lambda f: f.id)
    for fid, fw in b.items():
        if fid not in a:
            out.append(
                Change(
                    "added",
                    "auth_framework",
                    fid,
                    f"{cap}: new framework {fw.name} ({', '.join(fw.versions)})",
                )
            )
        elif a[fid].versions != fw.versions:
            out.append(
                Change(
                    "changed",
                    "auth_framework",
                    fid,
                    f"{cap} on {fw.name}: versions changed from {', '.join(a[fid].versions)} to {', '.join(fw.versions)}",
                )
            )
    for fid, fw in a.items():
        if fid not in b:
            out.append(
                Change("removed", "auth_framework", fid, f"{cap}: framework removed: {fw.name}")
            )
    return out


def _mapping(area: str, label: str, old: Mapping[str, str], new: Mapping[str, str]) -> List[Change]:
    out = []
    for key in sorted(set(old) | set(new)):
        if key == "source" or old.get(key) == new.get(key):
            continue
        if key not in old:
            out.append(Change("added", area, key, f"{label} {key}: {new[key]}"))
        elif key not in new:
            out.append(Change("removed", area, key, f"{label} {key} removed (was {old[key]})"))
        else:
            out.append(Change("changed", area, key, f"{label} {key}: {old[key]} -> {new[key]}"))
    return out


def _misc(old: Matrix, new: Matrix) -> List[Change]:
    return _mapping("datastores", "data stores:", old.datastores, new.datastores) + _mapping(
        "setting", "setting for", old.settings, new.settings
    )


def diff_dict(changes: Sequence[Change], old_label: str, new_label: str) -> Dict[str, Any]:
    return {"old": old_label, "new": new_label, "changes": [c.to_dict() for c in changes]}
