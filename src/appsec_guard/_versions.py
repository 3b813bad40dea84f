"""Versions on the boot path without importing ``packaging``: precompiled answers, packaging
the oracle.

``packaging`` is the one authority on PEP 440 versions and ranges. Importing it (and compiling
its regular expressions) costs more than the guard's whole boot budget, and the boot only ever
asks two questions: is this installed version in that range of the shipped matrix, and is it
older than that minimum. So:

- :func:`parse` reads a *plain release* (ASCII digits and dots: ``4.16.0``) into a
  :class:`Release`; anything else (a pre, post or dev release, a local version, an epoch, a
  ``v`` prefix, spaces) is parsed by ``packaging``. A plain release compares as packaging
  compares it: by its release numbers, trailing zeros ignored.
- :class:`CompiledRange` is a range of the shipped matrix that ``packaging`` compiled ahead of
  time (:mod:`appsec_guard._compile`, into ``data/compiled.json``) into intervals over release
  numbers. A :class:`Release` is answered from the intervals; any other version by the
  ``SpecifierSet`` of the same text, built on first use.

A ``Release`` stands in for a ``packaging.version.Version`` and a ``CompiledRange`` for a
``SpecifierSet``: same text, comparisons, equality and hash; any other attribute is read from
the packaging object built from the same text (importing packaging then, off the boot path).
tests/test_versions.py proves the fast answers equal packaging's for generated versions
against every range of the shipped matrix.
"""

from __future__ import annotations

import operator
import sys
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence, Tuple, cast

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

Key = Tuple[int, ...]  # release numbers without trailing zeros: what a plain release compares by
#: (lower, lower included, upper, upper included); None: unbounded on that side
Interval = Tuple[Optional[Key], bool, Optional[Key], bool]


def plain_release(text: str) -> Optional[Tuple[int, ...]]:
    """The release numbers of a plain release (``"4.16.0"`` -> (4, 16, 0)), else None."""
    if not text.isascii():
        return None
    parts = text.split(".")
    if not all(p.isdigit() for p in parts):  # "" (an empty part) is not a digit
        return None
    return tuple(int(p) for p in parts)


def key(release: Sequence[int]) -> Key:
    end = len(release)
    while end and release[end - 1] == 0:
        end -= 1
    return tuple(release[:end])


def _packaging_version(value: Any) -> Any:
    """``value`` if it is a packaging version (without importing packaging), else None."""
    module = sys.modules.get("packaging.version")
    if module is not None and isinstance(value, module._BaseVersion):
        return value
    return None


class Release:
    """A plain release (digits and dots) standing in for ``packaging.version.Version``."""

    __slots__ = ("_key", "_version", "release")

    def __init__(self, release: Tuple[int, ...]) -> None:
        if not release or any(not isinstance(n, int) or n < 0 for n in release):
            raise ValueError(f"not release numbers: {release!r}")
        self.release = release
        self._key = key(release)
        self._version: Optional[Version] = None

    def packaging(self) -> Version:
        """The same version as packaging's ``Version`` (imports packaging)."""
        if self._version is None:
            from packaging.version import Version

            self._version = Version(str(self))
        return self._version

    @property
    def major(self) -> int:
        return self.release[0]

    @property
    def minor(self) -> int:
        return self.release[1] if len(self.release) > 1 else 0

    @property
    def micro(self) -> int:
        return self.release[2] if len(self.release) > 2 else 0

    def __str__(self) -> str:
        return ".".join(map(str, self.release))

    def __repr__(self) -> str:
        return f"<Version({str(self)!r})>"

    def __hash__(self) -> int:
        return hash(self.packaging())  # equal to a Version, so the same hash

    def __reduce__(self) -> Tuple[Any, Tuple[Tuple[int, ...]]]:
        return (Release, (self.release,))

    def _compare(self, other: Any, op: Callable[[Any, Any], bool]) -> Any:
        if isinstance(other, Release):
            return op(self._key, other._key)
        if _packaging_version(other) is None:
            return NotImplemented
        return op(self.packaging(), other)

    def __eq__(self, other: object) -> Any:
        return self._compare(other, operator.eq)

    def __ne__(self, other: object) -> Any:
        return self._compare(other, operator.ne)

    def __lt__(self, other: Any) -> Any:
        return self._compare(other, operator.lt)

    def __le__(self, other: Any) -> Any:
        return self._compare(other, operator.le)

    def __gt__(self, other: Any) -> Any:
        return self._compare(other, operator.gt)

    def __ge__(self, other: Any) -> Any:
        return self._compare(other, operator.ge)

    def __getattr__(self, name: str) -> Any:
        # epoch, pre, post, dev, local, public, base_version, is_prerelease, ...: packaging's
        if name.startswith("_"):  # never packaging's private state (nor a slot not set yet)
            raise AttributeError(name)
        return getattr(self.packaging(), name)


def parse(text: str) -> Optional[Version]:
    """A version: a :class:`Release` for a plain release, else packaging's ``Version``;
    None when packaging does not read it as a PEP 440 version."""
    numbers = plain_release(text)
    if numbers is not None:
        return cast("Version", Release(numbers))
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        return None


def base_version(version: Any) -> Version:
    """The version without its pre, post, dev and local parts (``4.13.0rc1`` -> ``4.13.0``);
    a plain release is its own, so packaging is imported only for another version."""
    if isinstance(version, Release):
        return cast("Version", version)
    from packaging.version import Version

    return Version(version.base_version)


def as_packaging(version: Any) -> Any:
    """packaging's ``Version`` for a :class:`Release`; any other value as it is."""
    return version.packaging() if isinstance(version, Release) else version


def contains(spec: Any, version: Any) -> bool:
    """``spec.contains(version, prereleases=True)`` for a compiled range or a ``SpecifierSet``
    and a :class:`Release` or a ``Version`` (packaging's own objects do not know a Release)."""
    if isinstance(spec, CompiledRange):
        return spec.contains(version, prereleases=True)
    return bool(spec.contains(as_packaging(version), prereleases=True))


class CompiledRange:
    """A version range compiled by packaging into intervals over release numbers, standing in
    for the ``SpecifierSet`` of ``text``."""

    __slots__ = ("_spec", "intervals", "source", "text")

    def __init__(self, source: str, text: str, intervals: Sequence[Interval]) -> None:
        self.source = source  # the text it was compiled from
        self.text = text  # str(SpecifierSet(source))
        self.intervals = tuple(intervals)
        self._spec: Optional[SpecifierSet] = None

    @property
    def specifier(self) -> SpecifierSet:
        """packaging's ``SpecifierSet`` of the same text (imports packaging)."""
        if self._spec is None:
            from packaging.specifiers import SpecifierSet

            self._spec = SpecifierSet(self.source)
        return self._spec

    def holds(self, release_key: Key) -> bool:
        """Whether a plain release (as its :func:`key`) is in the range."""
        for lo, lo_in, hi, hi_in in self.intervals:
            if lo is not None and (release_key < lo or (release_key == lo and not lo_in)):
                continue
            if hi is not None and (release_key > hi or (release_key == hi and not hi_in)):
                continue
            return True
        return False

    def contains(self, item: Any, prereleases: Optional[bool] = None, **kwargs: Any) -> bool:
        if isinstance(item, str):
            parsed = parse(item)
            item = item if parsed is None else parsed
        if isinstance(item, Release):
            return self.holds(item._key)
        return bool(self.specifier.contains(item, prereleases=prereleases, **kwargs))

    def __contains__(self, item: Any) -> bool:
        return self.contains(item)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.specifier)

    def __len__(self) -> int:
        return len(self.specifier)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<SpecifierSet({self.text!r})>"

    def __eq__(self, other: object) -> Any:
        if isinstance(other, CompiledRange):
            return self.text == other.text
        if isinstance(other, str):
            return self.text == other or self.specifier == other
        return self.specifier == other

    def __hash__(self) -> int:
        return hash(self.specifier)

    def __reduce__(self) -> Tuple[Any, Tuple[str, str, Tuple[Interval, ...]]]:
        return (CompiledRange, (self.source, self.text, self.intervals))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # never packaging's private state (nor a slot not set yet)
            raise AttributeError(name)
        return getattr(self.specifier, name)
