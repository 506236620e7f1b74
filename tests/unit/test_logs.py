"""LOG_FORMAT=json: every line a process writes through logging, warnings included, is JSON."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import logging, warnings
import structlog
from email_channels.config import LogFormat
from email_channels.observability.logs import configure_logging, get_logger

configure_logging(LogFormat.{fmt})
structlog.contextvars.bind_contextvars(request_id="rid-1")
logging.getLogger("uvicorn.error").info("Started server process [%d]", 1)
logging.getLogger("alembic.runtime.migration").info("Running upgrade -> 0001")
logging.getLogger("uvicorn.access").info("must not appear")
warnings.warn("something is deprecated", UserWarning)
get_logger("email_channels.test").info("ours", answer=42)
try:
    raise ValueError("multi\\nline")
except ValueError:
    logging.getLogger("email_channels.test").exception("it failed")
"""


def run(fmt: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(fmt=fmt)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == ""  # logs go to standard error, the commands' output stays clean
    return result.stderr.splitlines()


def test_json_format_writes_one_object_per_line_for_every_source() -> None:
    records = [json.loads(line) for line in run("JSON")]

    events = {record["event"]: record for record in records}
    assert set(events) >= {"Started server process [1]", "Running upgrade -> 0001", "ours"}
    assert "must not appear" not in events
    [warning] = [r for r in records if r["logger"] == "py.warnings"]
    assert "something is deprecated" in warning["event"]
    assert events["ours"]["answer"] == 42
    assert "ValueError" in events["it failed"]["exception"]
    for record in records:
        assert record["request_id"] == "rid-1"
        assert {"timestamp", "level", "logger", "pid"} <= set(record)


def test_text_format_is_readable_lines() -> None:
    lines = run("TEXT")

    assert any("Started server process [1]" in line for line in lines)
    assert any("ours" in line and "answer=42" in line for line in lines)
    assert not any("must not appear" in line for line in lines)
