"""Unified service tagging: service, env and version on every event and in the JSON report."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List

import pytest

from appsec_guard import _emit
from appsec_guard.cli import main
from appsec_guard.judge import judge
from appsec_guard.tags import parse_dd_tags, tagged, unified_service_tags
from appsec_guard.testing import make_stack

from .conftest import child_env, guard_events, run_py

# The attributes every LogRecord has: what a JSON formatter leaves out (as python-json-logger
# does), so what is left is what the logger's caller attached.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        return json.dumps({"message": record.getMessage(), **extra}, default=str)


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("env:prod,service:shop", {"env": "prod", "service": "shop"}),
        ("env:prod service:shop", {"env": "prod", "service": "shop"}),
        ("env:prod, service:shop ,team:a b", {"env": "prod", "service": "shop", "team": "a b"}),
        ("version:1.2:rc1", {"version": "1.2:rc1"}),
        ("lonely,:nokey", {"lonely": ""}),
        ("", {}),
    ],
)
def test_dd_tags_as_ddtrace_reads_them(text: str, tags: Dict[str, str]) -> None:
    assert parse_dd_tags(text) == tags


def test_dd_variables_win_over_dd_tags() -> None:
    env = {"DD_TAGS": "service:from-tags,env:staging,version:0.9", "DD_SERVICE": "shop",
           "DD_VERSION": ""}  # fmt: skip
    assert unified_service_tags(env) == {"service": "shop", "env": "staging", "version": "0.9"}
    assert unified_service_tags({}) == {"service": None, "env": None, "version": None}


def test_stdlib_records_carry_the_tags_as_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DD_SERVICE", "checkout")
    monkeypatch.setenv("DD_ENV", "prod")
    monkeypatch.setenv("DD_TAGS", "version:2024.1,team:payments")
    monkeypatch.delenv("DD_VERSION", raising=False)
    lines: List[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(_emit.LOGGER_NAME)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        report = judge(make_stack(deployment="lambda"), _load(), requested={"sca"})
        assert _emit.emit(report, report.findings, mode="warn", entry="check") is None
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    docs = [json.loads(line) for line in lines]
    assert len(docs) == len(report.findings) + 1
    for doc in docs:
        assert (doc["service"], doc["env"], doc["version"]) == ("checkout", "prod", "2024.1")
        assert doc["appsec_guard"]["service"] == "checkout"  # and in the event dict


def _load() -> Any:
    from appsec_guard.matrix import load

    return load()


def test_structlog_events_carry_the_tags() -> None:
    res = run_py(
        ["-c", "import structlog_json; import appsec_guard"],
        child_env({"DD_SERVICE": "checkout", "DD_TAGS": "env:prod version:7",
                   "APPSEC_GUARD_PROBE": "off", "DD_APPSEC_ENABLED": "true"}),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    events = guard_events(res.stdout)
    assert events and {e["event"] for e in events} >= {"appsec_guard.summary"}
    assert {(e["service"], e["env"], e["version"]) for e in events} == {("checkout", "prod", "7")}


def test_json_report_has_the_tags_after_schema_version(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DD_SERVICE", "checkout")
    monkeypatch.setenv("DD_ENV", "prod")
    monkeypatch.delenv("DD_VERSION", raising=False)
    monkeypatch.delenv("DD_TAGS", raising=False)
    main(["check", "--format", "json", "--no-probe", "--assume", "ddtrace=2.9.0"])
    doc = json.loads(capsys.readouterr().out)
    assert list(doc)[:4] == ["schema_version", "service", "env", "version"]
    assert (doc["service"], doc["env"], doc["version"]) == ("checkout", "prod", None)
    assert list(tagged({"a": 1}, {}))[-3:] == ["service", "env", "version"]


def test_a_record_factory_that_sets_service_keeps_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DD_SERVICE", "checkout")
    original = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = original(*args, **kwargs)
        record.service = "from-the-app"
        return record

    records: List[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect()
    logger = logging.getLogger(_emit.LOGGER_NAME)
    logger.addHandler(handler)
    logging.setLogRecordFactory(factory)
    try:
        report = judge(make_stack(deployment="lambda"), _load(), requested={"sca"})
        assert _emit.emit(report, report.findings, mode="warn", entry="check") is None
    finally:
        logging.setLogRecordFactory(original)
        logger.removeHandler(handler)
    assert records and {r.service for r in records} == {"from-the-app"}  # type: ignore[attr-defined]
    assert {r.appsec_guard["service"] for r in records} == {"checkout"}  # type: ignore[attr-defined]
