"""Careful reads of marker files: never raise, never block, never read much."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Optional

#: /proc/self/mountinfo of a busy host can be large; nothing we look for is past this.
MAX_READ = 1 << 20


def under(root: Path, absolute: str) -> Path:
    """``/proc/self/cgroup`` under ``root`` (``root`` is ``/`` outside tests)."""
    return root / absolute.lstrip("/")


def exists(path: Path) -> bool:
    """True when ``path`` exists; a broken link, a link loop or a denied directory is False."""
    try:
        return os.path.exists(path)
    except (OSError, ValueError):
        return False


def read_text(path: Path, limit: int = MAX_READ) -> Optional[str]:
    """The first ``limit`` bytes of a regular file as text (bad bytes replaced), or None.

    A FIFO, a device or a directory is not opened (it could block); an unreadable file, a
    link loop or any other OS error gives None.
    """
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return None
        with open(path, "rb") as fh:
            data = fh.read(limit)
    except (OSError, ValueError):
        return None
    return data.decode("utf-8", "replace")
