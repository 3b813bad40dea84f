"""Installed distributions, read from their metadata directories without importing them.

One pass over ``sys.path`` finds every ``*.dist-info`` / ``*.egg-info`` directory; a version
comes from the directory name and, failing that, from the ``Version:`` header of its metadata.
The first entry on ``sys.path`` wins, as it does for ``import``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, Optional, Tuple

from .._versions import parse
from ._io import read_text

if TYPE_CHECKING:
    from dataclasses import dataclass

    from packaging.version import Version
else:  # the same frozen classes, defined without exec (see _frozen.py)
    from .._frozen import dataclass

_NORMALIZE = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """PEP 503 name normalisation: ``Flask_Login`` -> ``flask-login``."""
    lowered = name.lower()
    if "_" in lowered or "." in lowered or "--" in lowered:
        return _NORMALIZE.sub("-", lowered)
    return lowered  # only single dashes, which the expression keeps: it would change nothing


@dataclass(frozen=True)
class Distribution:
    name: str  # normalised
    version: Optional[Version]  # None: the metadata has no readable version
    location: str  # the metadata directory, as evidence
    raw_version: str = ""


class Distributions:
    """A snapshot of what is installed. Build it once with :meth:`scan` and pass it around.

    The scan lists the metadata directories only; a distribution's version (and, when its
    directory name has none, its METADATA file) is read the first time it is asked for, once.
    """

    def __init__(self, dists: Dict[str, Distribution]) -> None:
        self._dists = dists
        self._found: Dict[str, Tuple[str, str]] = {}  # name -> (sys.path entry, directory)

    @classmethod
    def scan(cls, paths: Optional[Iterable[str]] = None) -> Distributions:
        found: Dict[str, Tuple[str, str]] = {}
        for entry in sys.path if paths is None else paths:
            if entry in _STANDARD_LIBRARY:
                continue
            try:
                names = os.listdir(entry or ".")  # names only: no per-entry stat
            except OSError:
                continue
            for dirname in names:
                if dirname.endswith(_SUFFIXES):
                    name = _dist_name(dirname)
                    if name not in found:
                        found[name] = (entry or ".", dirname)
        snapshot = cls({})
        snapshot._found = found
        return snapshot

    def get(self, name: str) -> Optional[Distribution]:
        key = normalize(name)
        dist = self._dists.get(key)
        if dist is None and key in self._found:
            dist = _parse_dir(*self._found[key])
            if dist is not None:
                self._dists[key] = dist
        return dist

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = normalize(name)
        return key in self._dists or key in self._found

    def names(self) -> Iterable[str]:
        return {**dict.fromkeys(self._found), **dict.fromkeys(self._dists)}.keys()


_SUFFIXES = (".dist-info", ".egg-info")
#: The standard library's directory and its extension modules' (CPython's layout): on
#: ``sys.path`` in every process, never holding an installed distribution (installers write
#: to site-packages), and long: listing them was two fifths of a scan.
_STDLIB = os.path.dirname(os.__file__)
_STANDARD_LIBRARY = frozenset({_STDLIB, os.path.join(_STDLIB, "lib-dynload")})


def _dist_name(dirname: str) -> str:
    for suffix in _SUFFIXES:
        if dirname.endswith(suffix):
            return normalize(dirname[: -len(suffix)].partition("-")[0])
    return normalize(dirname)


def _parse_dir(entry: str, dirname: str) -> Optional[Distribution]:
    for suffix in (".dist-info", ".egg-info"):
        if dirname.endswith(suffix):
            stem = dirname[: -len(suffix)]
            break
    else:
        return None
    name, _, rest = stem.partition("-")
    raw = rest.split("-", 1)[0]  # egg-info may carry "-py3.11"
    path = os.path.join(entry, dirname)
    version = _version(raw)
    if version is None:  # no version in the name, or one that does not parse: ask METADATA
        from_metadata = _metadata_version(path)
        if from_metadata:
            raw, version = from_metadata, _version(from_metadata)
    return Distribution(normalize(name), version, path, raw)


def _version(raw: str) -> Optional[Version]:
    """A PEP 440 version (``2.6.0rc1``, ``1.20.5.dev3+g1a2b3c``); None when it does not parse.

    Wheel installers write ``-`` in a version as ``_`` in the directory name; PEP 440
    normalisation reads ``_`` as a separator, so ``1.0_rc1`` is ``1.0rc1``.
    """
    return parse(raw) if raw else None


def _metadata_version(path: str) -> str:
    """The ``Version:`` header of METADATA (PKG-INFO for eggs); "" when there is none.

    Reads at most 64 KiB of a regular file: a FIFO, a link loop or an unreadable file gives "".
    """
    for filename in ("METADATA", "PKG-INFO"):
        target = os.path.join(path, filename) if os.path.isdir(path) else path
        text = read_text(Path(target), 64 * 1024)
        if text is None:
            continue
        for line in text.splitlines():
            if not line.strip():
                break  # end of the headers
            if line.lower().startswith("version:"):
                return line.split(":", 1)[1].strip()
    return ""
