"""The README documents what users look up: every finding id, and the commands CI runs."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from appsec_guard.findings import CATALOG

from .helpers.env import without_machine_settings

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


# The README's JSON report example: the command above it, run, gives exactly that document.
_EXAMPLE = re.compile(
    r"printed by\n?\s*`((?:[A-Z_]+=\S+\s+)*)appsec-guard (check --format json[^`]*)`.*?"
    r"```json\n(.+?)\n```",
    re.S,
)


def compact(value: object, indent: int = 0) -> str:
    """JSON as the README shows it: an object or list on one line when it fits in 96 columns."""
    one = json.dumps(value)
    if not isinstance(value, (dict, list)) or len(one) + indent <= 96:
        return one
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}: {compact(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + compact(v, indent + 2) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def test_the_json_report_example_is_what_the_command_prints() -> None:
    match = _EXAMPLE.search(README)
    assert match, "the JSON report example and the command that prints it"
    env_text, command, shown = match.groups()
    env = without_machine_settings(os.environ)
    env.update(dict(v.split("=", 1) for v in shlex.split(env_text)))
    env["PYTHONPATH"] = str(ROOT / "src")
    res = subprocess.run(
        [sys.executable, "-m", "appsec_guard", *shlex.split(command)],
        env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert res.returncode in (0, 1), res.stderr
    printed = json.loads(res.stdout)
    assert json.loads(shown) == printed, "README example is stale; it is now:\n" + compact(printed)
    for key in ("service", "env", "version"):
        assert f"`{key}`" in README.split("## JSON report", 1)[1].split("## Finding ids")[0]
