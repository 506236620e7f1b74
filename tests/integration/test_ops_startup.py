"""`email-channels serve` at start-up: where everything is, once; a taken port in one line."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from email_channels.observability.startup import database_location
from tests.support.processes import CLI, HOST, UNANSWERED_NAMESERVER, free_port
from tests.support.processes import service_environment as environment
from tests.support.serve_process import serve, stop

# uvicorn's lines about the server's life: each must show exactly once.
UVICORN_LINES = (
    "Started server process",
    "Waiting for application startup.",
    "Application startup complete.",
    "Uvicorn running on",
    "Shutting down",
    "Waiting for application shutdown.",
    "Application shutdown complete.",
    "Finished server process",
)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another process is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((HOST, 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def sandboxed(tmp_path: Path, **settings: str) -> dict[str, str]:
    """A built-in sandbox on a free port, its state and the SQLite file in `tmp_path`."""
    values = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'service.db'}",
        "sandbox_port": str(free_port()),
        "sandbox_state_path": str(tmp_path / "sandbox.sqlite3"),
        "dns_nameservers": UNANSWERED_NAMESERVER,
    }
    values.update(settings)
    return values


def test_serve_prints_where_everything_is_once_and_each_uvicorn_line_once(
    tmp_path: Path,
) -> None:
    settings = sandboxed(tmp_path)
    with serve(tmp_path / "serve.log", **settings) as served:
        base_url = served.base_url
    text = served.log.path.read_text()
    port = UNANSWERED_NAMESERVER.rsplit(":", 1)[1]  # the test's resolver serves the zones too
    expected = [
        f"  API       {base_url}/v1/{{workspace_id}}/... (reference: {base_url}/docs)",
        f"  console   {base_url}/console",
        f"  database  SQLite file {tmp_path / 'service.db'}",
        f"  SES       sandbox: the built-in SES v2 emulator on http://127.0.0.1:"
        f"{settings['sandbox_port']}, its state in {tmp_path / 'sandbox.sqlite3'}",
        f"  DNS       authoritative: each zone's own name servers (port {port}), found through"
        f" {UNANSWERED_NAMESERVER}",
        "  worker    in the API process",
    ]
    lines = text.splitlines()
    for line in expected:
        assert lines.count(line) == 1, f"{line!r} in:\n{text}"
    for phrase in UVICORN_LINES:
        assert sum(phrase in line for line in lines) == 1, f"{phrase!r} in:\n{text}"


def test_with_json_logs_where_everything_is_is_one_json_line(tmp_path: Path) -> None:
    settings = sandboxed(tmp_path, log_format="json")
    with serve(tmp_path / "serve.log", **settings) as served:
        base_url = served.base_url
    records = served.log.records()  # fails on any line that is not JSON
    [where] = [r for r in records if r.get("event") == "where everything is"]
    assert where["console"] == f"{base_url}/console"
    assert where["database"] == f"SQLite file {tmp_path / 'service.db'}"
    assert f":{settings['sandbox_port']}," in where["ses"]


def test_serve_on_a_taken_port_is_one_line_naming_the_option(
    tmp_path: Path, taken_port: int
) -> None:
    result = subprocess.run(
        [str(CLI), "serve", "--host", HOST, "--port", str(taken_port)],
        cwd=tmp_path,
        env=environment(**sandboxed(tmp_path)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"port {taken_port}" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_the_sandbox_port_taken_is_one_line_naming_the_setting(
    tmp_path: Path, taken_port: int
) -> None:
    result = subprocess.run(
        [str(CLI), "serve", "--host", HOST, "--port", str(free_port())],
        cwd=tmp_path,
        env=environment(**sandboxed(tmp_path, sandbox_port=str(taken_port))),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"port {taken_port}" in result.stderr
    assert "EMAIL_CHANNELS_SANDBOX_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_in_aws_mode_does_not_need_the_sandbox_port(tmp_path: Path, taken_port: int) -> None:
    settings = sandboxed(
        tmp_path,
        sandbox_port=str(taken_port),
        ses_mode="aws",
        ses_endpoint_url=f"http://{HOST}:{free_port()}",
    )
    env = {**environment(**settings), "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    port = free_port()
    process = subprocess.Popen(
        [str(CLI), "serve", "--host", HOST, "--port", str(port), "--no-worker"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace")
            if "  SES       " in line:
                assert line.strip().startswith("SES       aws: http://127.0.0.1:"), line
                break
        else:
            raise AssertionError("serve printed no SES line")
    finally:
        stop(process)


def test_database_location_never_shows_the_password() -> None:
    shown = database_location("postgresql+asyncpg://app:s3cret-pw@db.internal:5432/channels")
    assert "s3cret-pw" not in shown
    assert "app:***@db.internal:5432/channels" in shown
