"""The running interpreter: implementation, version, OS and CPU as the matrix names them."""

from __future__ import annotations

import platform
import sys
from typing import TYPE_CHECKING, List, Tuple

from .._versions import parse
from ..model import Evidence, Fact, Runtime

if TYPE_CHECKING:
    from packaging.version import Version

_OS = {"linux": "linux", "darwin": "macos", "win32": "windows", "cygwin": "windows"}

# platform.machine() spellings -> the matrix's CPU names
ARCH_ALIASES = {
    "x86_64": "x86_64", "amd64": "x86_64", "x64": "x86_64", "intel": "x86_64", "64bit": "x86_64",
    "i386": "i686", "i486": "i686", "i586": "i686", "i686": "i686", "x86": "i686", "32bit": "i686",
    "win32": "i686",
    "aarch64": "aarch64", "arm64": "aarch64", "armv8": "aarch64", "armv8l": "aarch64",
    "apple_silicon": "aarch64", "apple-silicon": "aarch64",
}  # fmt: skip


def canonical_arch(machine: str, *, pointer_bits: int = 64) -> str:
    """The matrix's CPU name for a machine string; a 32-bit Python on x86-64 counts as i686."""
    arch = ARCH_ALIASES.get(machine.strip().lower(), machine.strip().lower() or "unknown")
    if pointer_bits == 32 and arch == "x86_64":
        return "i686"
    return arch


def python_version(info: Tuple[int, int, int, str, int] = tuple(sys.version_info)) -> Version:  # type: ignore[assignment]
    major, minor, micro, level, serial = info
    suffix = {"alpha": f"a{serial}", "beta": f"b{serial}", "candidate": f"rc{serial}"}.get(
        level, ""
    )
    version = parse(f"{major}.{minor}.{micro}{suffix}")
    assert version is not None  # digits, and a pre-release suffix packaging reads
    return version


def detect_runtime() -> Fact:
    """The running interpreter (value: a Runtime) and its evidence."""
    return Fact.of(*_runtime())


def _runtime() -> Tuple[Runtime, List[Evidence]]:
    bits = 64 if sys.maxsize > 2**32 else 32
    machine = platform.machine()
    runtime = Runtime(
        implementation=sys.implementation.name,
        version=python_version(),
        os=_OS.get(sys.platform, sys.platform),
        arch=canonical_arch(machine, pointer_bits=bits),
    )
    evidence = [
        Evidence("python", "sys.version_info", f"{runtime.implementation} {runtime.version}"),
        Evidence("os", "sys.platform", sys.platform),
        Evidence("arch", "platform.machine", f"{machine} ({bits}-bit interpreter)"),
    ]
    return runtime, evidence
