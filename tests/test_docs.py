"""The README documents what users look up: every finding id, and the commands CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from appsec_guard.findings import CATALOG

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_finding_id_is_in_the_readme_table() -> None:
    table = dict(re.findall(r"^\| `(AG\d{3})` \| `([a-z-]+)` \|", README, re.M))
    assert table == {fid: kind.slug for fid, kind in CATALOG.items()}


def test_every_finding_id_the_code_emits_is_in_the_catalog() -> None:
    emitted = set()
    for path in (ROOT / "src" / "appsec_guard").rglob("*.py"):
        emitted.update(re.findall(r"\"(AG\d{3})\"", path.read_text(encoding="utf-8")))
    assert emitted <= set(CATALOG), emitted - set(CATALOG)


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```sh\n(.+?)\n```", README)
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
