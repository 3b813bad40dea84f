"""Words shared by the messages of the judgement, the plan and the matrix diff."""

from __future__ import annotations

from typing import Sequence

OS_NAMES = {"linux": "Linux", "macos": "macOS", "windows": "Windows"}
IMPL_NAMES = {"cpython": "CPython", "pypy": "PyPy"}


def join_words(items: Sequence[str], word: str = "and") -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"
