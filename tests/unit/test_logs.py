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
logging.getLogger("httpx").info('HTTP Request: POST https://hooks.example.com/in?token=must-not-appear')
warnings.warn("something is deprecated", UserWarning)
get_logger("email_channels.test").info("ours", answer=42)
try:
    api_key = "ec_live_local_secret"  # a local variable of the failing frame
    raise ValueError("multi\\nline")
except ValueError:
    logging.getLogger("email_channels.test").exception("it failed")
"""


def python(script: str) -> subprocess.CompletedProcess[str]:
    """`script` in a fresh interpreter: what a process starting with it imports and writes."""
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )


def run(fmt: str) -> list[str]:
    result = python(SCRIPT.format(fmt=fmt))
    assert result.stdout == ""  # logs go to standard error, the commands' output stays clean
    return result.stderr.splitlines()


def test_json_format_writes_one_object_per_line_for_every_source() -> None:
    records = [json.loads(line) for line in run("JSON")]

    events = {record["event"]: record for record in records}
    assert set(events) >= {"Started server process [1]", "Running upgrade -> 0001", "ours"}
    assert "must not appear" not in events
    assert not [record for record in records if "must-not-appear" in record["event"]]
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


def test_text_format_writes_a_plain_traceback_without_local_variables() -> None:
    text = "\n".join(run("TEXT"))

    assert "Traceback (most recent call last):" in text
    assert "ValueError: multi" in text
    assert "ec_live_local_secret" not in text  # rich's formatter printed every frame's locals


SERVING = """
import sys
from email_channels.observability.serving import without_unused_packages
{call}
import email_channels.app
from email_channels.observability.logs import configure_logging
from email_channels.config import LogFormat
configure_logging(LogFormat.TEXT)
print(sorted(m for m, module in sys.modules.items()
             if m.split(".")[0] in {{"rich", "pygments"}} and module is not None))
"""


def loaded_by_the_app(call: str) -> str:
    return python(SERVING.format(call=call)).stdout.strip()


def test_a_serving_process_loads_no_rich() -> None:
    assert loaded_by_the_app("without_unused_packages()") == "[]"
    # Without the call, structlog loads rich (installed here with the test tools).
    assert loaded_by_the_app("") != "[]"


WATCHER = """
import sys
from email_channels.observability.serving import without_unused_packages
{call}
import uvicorn
from uvicorn.supervisors import ChangeReload
print(sys.modules.get("watchfiles") is not None, ChangeReload.__name__)
"""


def test_a_serving_process_loads_no_file_watcher() -> None:
    # uvicorn falls back to its standard-library watcher; `serve` never reloads anyway.
    assert python(WATCHER.format(call="without_unused_packages()")).stdout.split() == [
        "False",
        "StatReload",
    ]
    # Without the call, uvicorn imports watchfiles (installed here with uvicorn[standard]).
    assert python(WATCHER.format(call="")).stdout.split() == ["True", "WatchFilesReload"]


BUILT = """
import sys
from email_channels.observability.serving import without_unused_packages
{call}
import dns.query
from email_channels.app import create_app
from email_channels.config import Settings
app = create_app(Settings(_env_file=None, database_url="sqlite+aiosqlite:///:memory:"))
built = any(getattr(route, "path", "") == "/healthz" for route in app.routes)
print(built, dns.query.udp_with_fallback.__name__, sorted({{
    m.split(".")[0] if m.split(".")[0] != "pydantic" else m
    for m, module in sys.modules.items()
    if module is not None and (
        m.split(".")[0] in {{"httpx2", "httpcore2", "h2", "truststore"}} or m == "pydantic.v1"
    )
}}))
"""


def test_a_serving_process_loads_no_dns_over_https_and_no_pydantic_v1() -> None:
    # The routes are built (FastAPI asks pydantic.v1 while building them), plain DNS stays.
    assert python(BUILT.format(call="without_unused_packages()")).stdout.split() == [
        "True",
        "udp_with_fallback",
        "[]",
    ]
    # Without the call, dnspython loads its DNS over HTTPS stack, FastAPI pydantic.v1.
    loaded = python(BUILT.format(call="")).stdout
    for name in ("httpx2", "httpcore2", "h2", "truststore", "pydantic.v1"):
        assert f"'{name}'" in loaded
