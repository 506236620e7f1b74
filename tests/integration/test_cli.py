"""The command line of DESIGN.md section 3, on SQLite and on PostgreSQL.

Most commands run in-process through Typer's CliRunner. The CLI calls `asyncio.run` itself, so
each call runs on a worker thread, away from the session's event loop. `sandbox serve` and the
entry point itself run as subprocesses.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from email_channels.auth.permissions import Permission
from email_channels.auth.service import authenticate, authorise
from email_channels.cli import app
from email_channels.db.engine import Database, create_engine
from email_channels.errors import Forbidden, Unauthorized
from tests.support.processes import service_environment

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / ".venv" / "bin" / "email-channels"
HOST = "127.0.0.1"
CALL_TIMEOUT_SECONDS = 60.0
SANDBOX_START_TIMEOUT_SECONDS = 30.0
TABLES = {"api_keys", "ses_setups", "use_cases", "alembic_version"}
EMPTY_SANDBOX: dict[str, list[Any]] = {"tenants": [], "identities": [], "associations": []}

RUNNER = CliRunner()


# -- running the CLI ----------------------------------------------------------------------


def in_thread(work: Callable[[], T]) -> T:
    """Run `work` on a worker thread: `asyncio.run` must not meet the session's event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result(timeout=CALL_TIMEOUT_SECONDS)


def run_cli(database_url: str, *args: str, **settings: str) -> Result:
    """`email-channels ARGS` in-process against `database_url`, with other `settings`."""
    env = {f"EMAIL_CHANNELS_{name.upper()}": value for name, value in settings.items()}
    env["EMAIL_CHANNELS_DATABASE_URL"] = database_url
    return in_thread(lambda: RUNNER.invoke(app, list(args), env=env))


def succeed(database_url: str, *args: str) -> str:
    """Run a command that must succeed; its standard output."""
    result = run_cli(database_url, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def create_key(database_url: str, workspace: str, *permissions: str, name: str = "") -> str:
    """`keys create`; the printed key."""
    options = [option for p in permissions for option in ("--permission", p)]
    naming = ["--name", name] if name else []
    return succeed(
        database_url, "keys", "create", "--workspace", workspace, *options, *naming
    ).strip()


def listing(database_url: str, workspace: str) -> list[list[str]]:
    """`keys list`, each line split at tabs."""
    stdout = succeed(database_url, "keys", "list", "--workspace", workspace)
    assert stdout == "" or stdout.endswith("\n")
    return [line.split("\t") for line in stdout.splitlines()]


def message(result: Result) -> str:
    """What the command said on stderr, without Rich's box drawing and line wrapping."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", result.stderr).split())


def assert_refused_with_a_message(result: Result) -> None:
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert result.stdout == ""
    assert message(result)


def new_workspace() -> str:
    return f"cli-{uuid.uuid4().hex[:11]}"  # never 12 digits: see dns_zone


# -- looking at the database --------------------------------------------------------------


def on_database(database_url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` on a fresh connection pool in a worker thread."""

    async def run() -> T:
        database = Database(create_engine(database_url))
        try:
            return await work(database)
        finally:
            await database.dispose()

    return in_thread(lambda: asyncio.run(run()))


def api_key_rows(database_url: str) -> list[dict[str, Any]]:
    """Every row of api_keys, every column."""

    async def read(database: Database) -> list[dict[str, Any]]:
        async with database.read() as connection:
            result = await connection.execute(text("SELECT * FROM api_keys"))
            return [dict(row) for row in result.mappings()]

    return on_database(database_url, read)


def key_ids(database_url: str, workspace: str) -> dict[str, str]:
    """name -> id of the workspace's keys, as stored (SQLite keeps a UUID as 32 hex digits)."""
    rows = api_key_rows(database_url)
    return {
        row["name"]: str(uuid.UUID(str(row["id"])))
        for row in rows
        if row["workspace_id"] == workspace
    }


def try_key(database_url: str, secret: str, workspace: str, permission: Permission) -> None:
    """Authorise one request with `secret`, as the API does; raises what the API would."""

    async def check(database: Database) -> None:
        grant = await authenticate(database, secret=secret)
        authorise(grant, workspace_id=workspace, permission=permission)

    on_database(database_url, check)


# -- keys create --------------------------------------------------------------------------


def test_keys_create_prints_only_the_key(database_url: str) -> None:
    workspace = new_workspace()

    result = run_cli(
        database_url, "keys", "create", "--workspace", workspace, "--permission", "Channel.view"
    )

    assert result.exit_code == 0, result.output
    secret = result.stdout.removesuffix("\n")
    assert result.stdout == secret + "\n"
    assert re.fullmatch(r"\S{32,}", secret), result.stdout
    try_key(database_url, secret, workspace, Permission.CHANNEL_VIEW)


def test_keys_create_stores_only_a_hash(database_url: str) -> None:
    workspace = new_workspace()
    secret = create_key(database_url, workspace, "Channel.view", name="hashed")

    rows = api_key_rows(database_url)

    assert [row["name"] for row in rows if row["workspace_id"] == workspace] == ["hashed"]
    for row in rows:
        for column, value in row.items():
            assert secret not in str(value), f"the key is stored in api_keys.{column}"
    try_key(database_url, secret, workspace, Permission.CHANNEL_VIEW)


def test_keys_create_grants_every_permission_given_and_no_other(database_url: str) -> None:
    workspace = new_workspace()
    granted = [Permission.CHANNEL_CREATE, Permission.CHANNEL_VIEW, Permission.USE_CASE_DELETE]

    secret = create_key(database_url, workspace, *granted)

    [[_, _, permissions, _]] = listing(database_url, workspace)
    assert set(permissions.split(",")) == set(granted)
    for permission in Permission:
        if permission in granted:
            try_key(database_url, secret, workspace, permission)
        else:
            with pytest.raises(Forbidden):
                try_key(database_url, secret, workspace, permission)


def test_keys_create_accepts_channel_manage(database_url: str) -> None:
    workspace = new_workspace()
    secret = create_key(database_url, workspace, Permission.CHANNEL_MANAGE)
    [[_, _, permissions, _]] = listing(database_url, workspace)
    assert permissions == "Channel.manage"
    try_key(database_url, secret, workspace, Permission.CHANNEL_MANAGE)


def test_keys_create_refuses_an_unknown_permission(database_url: str) -> None:
    workspace = new_workspace()

    result = run_cli(
        database_url, "keys", "create", "--workspace", workspace,
        "--permission", "Channel.view", "--permission", "Channel.fly",
    )  # fmt: skip

    assert_refused_with_a_message(result)
    assert "Channel.fly" in message(result)
    assert key_ids(database_url, workspace) == {}


def test_keys_create_requires_a_permission(database_url: str) -> None:
    workspace = new_workspace()

    result = run_cli(database_url, "keys", "create", "--workspace", workspace)

    assert_refused_with_a_message(result)
    assert "--permission" in message(result)
    assert key_ids(database_url, workspace) == {}


@pytest.mark.parametrize(
    "workspace",
    ["", "acme corp", "acme/1", "acme.com", "ünïcode", "w" * 65],
    ids=["empty", "space", "slash", "dot", "non-ascii", "65-characters"],
)
def test_keys_create_refuses_a_malformed_workspace(database_url: str, workspace: str) -> None:
    before = len(api_key_rows(database_url))

    result = run_cli(
        database_url, "keys", "create", "--workspace", workspace, "--permission", "Channel.view"
    )

    assert_refused_with_a_message(result)
    assert "--workspace" in message(result)
    assert len(api_key_rows(database_url)) == before


@pytest.mark.parametrize(
    ("name", "separator"), [("tab\tname", "tab"), ("two\nlines", "newline")], ids=["tab", "newline"]
)
def test_keys_list_stays_one_line_of_four_fields_whatever_the_name(
    database_url: str, name: str, separator: str
) -> None:
    """A name with a tab or a line break is refused, or listed without breaking the format."""
    workspace = new_workspace()

    created = run_cli(
        database_url, "keys", "create", "--workspace", workspace,
        "--permission", "Channel.view", "--name", name,
    )  # fmt: skip

    if created.exit_code != 0:
        assert_refused_with_a_message(created)
        assert key_ids(database_url, workspace) == {}
        return
    lines = listing(database_url, workspace)
    assert len(lines) == 1, f"a {separator} in the name broke the line: {lines}"
    assert len(lines[0]) == 4, f"a {separator} in the name broke the fields: {lines}"


def test_keys_create_with_an_overlong_name_stores_it_whole_or_refuses_it(
    database_url: str,
) -> None:
    """Never a traceback: on every database the same clean answer."""
    workspace = new_workspace()
    name = "n" * 200

    created = run_cli(
        database_url, "keys", "create", "--workspace", workspace,
        "--permission", "Channel.view", "--name", name,
    )  # fmt: skip

    if created.exit_code != 0:
        assert_refused_with_a_message(created)
        assert "--name" in message(created)
        return
    [[_, listed_name, _, _]] = listing(database_url, workspace)
    assert listed_name == name


# -- keys list ----------------------------------------------------------------------------


def test_keys_list_prints_id_name_permissions_state_tab_separated(database_url: str) -> None:
    workspace = new_workspace()
    create_key(database_url, workspace, "Channel.view", name="reader")
    create_key(database_url, workspace, "Channel.create", "Channel.delete", name="writer")
    create_key(database_url, workspace, "UseCase.view")  # no --name
    ids = key_ids(database_url, workspace)
    succeed(database_url, "keys", "revoke", ids["writer"])

    lines = listing(database_url, workspace)

    parsed = {
        key_id: (name, set(permissions.split(",")), state)
        for key_id, name, permissions, state in lines
    }
    assert len(parsed) == len(lines) == 3
    assert parsed == {
        ids["reader"]: ("reader", {"Channel.view"}, "active"),
        ids["writer"]: ("writer", {"Channel.create", "Channel.delete"}, "revoked"),
        ids[""]: ("", {"UseCase.view"}, "active"),
    }


def test_keys_list_shows_only_the_workspace_keys(database_url: str) -> None:
    workspace, other = new_workspace(), new_workspace()
    create_key(database_url, other, "Channel.view", name="theirs")

    assert listing(database_url, workspace) == []
    assert [line[1] for line in listing(database_url, other)] == ["theirs"]


# -- keys revoke --------------------------------------------------------------------------


def test_keys_revoke_stops_the_key_and_only_that_key(database_url: str) -> None:
    workspace = new_workspace()
    revoked = create_key(database_url, workspace, "Channel.view", name="revoked")
    kept = create_key(database_url, workspace, "Channel.view", name="kept")

    succeed(database_url, "keys", "revoke", key_ids(database_url, workspace)["revoked"])

    with pytest.raises(Unauthorized):
        try_key(database_url, revoked, workspace, Permission.CHANNEL_VIEW)
    try_key(database_url, kept, workspace, Permission.CHANNEL_VIEW)


@pytest.mark.parametrize(
    "key_id",
    [str(uuid.UUID(int=0x5EED)), "not-a-uuid", ""],
    ids=["unknown-uuid", "not-a-uuid", "empty"],
)
def test_keys_revoke_of_an_unknown_id_exits_non_zero(database_url: str, key_id: str) -> None:
    result = run_cli(database_url, "keys", "revoke", key_id)

    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert message(result)


def test_keys_revoke_twice_is_fine(database_url: str) -> None:
    workspace = new_workspace()
    secret = create_key(database_url, workspace, "Channel.view", name="twice")
    key_id = key_ids(database_url, workspace)["twice"]

    first = run_cli(database_url, "keys", "revoke", key_id)
    second = run_cli(database_url, "keys", "revoke", key_id)

    assert (first.exit_code, second.exit_code) == (0, 0), (first.output, second.output)
    assert listing(database_url, workspace) == [[key_id, "twice", "Channel.view", "revoked"]]
    with pytest.raises(Unauthorized):
        try_key(database_url, secret, workspace, Permission.CHANNEL_VIEW)


# -- migrate and reconcile ----------------------------------------------------------------


def sqlite_tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def sqlite_versions(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [version for (version,) in connection.execute("SELECT * FROM alembic_version")]


@pytest.mark.parametrize("start", ["no-file", "empty-file"])
def test_migrate_creates_the_tables_in_a_new_sqlite_file_and_is_idempotent(
    tmp_path: Path, start: str
) -> None:
    path = tmp_path / "new.db"
    if start == "empty-file":
        path.touch()
    url = f"sqlite+aiosqlite:///{path}"

    succeed(url, "migrate")
    assert sqlite_tables(path) >= TABLES
    versions = sqlite_versions(path)
    assert len(versions) == 1
    create_key(url, "acme", "Channel.view", name="survivor")

    succeed(url, "migrate")
    assert sqlite_tables(path) >= TABLES
    assert sqlite_versions(path) == versions
    assert [line[1] for line in listing(url, "acme")] == ["survivor"]


def test_migrate_an_up_to_date_database_changes_nothing(database_url: str) -> None:
    workspace = new_workspace()
    create_key(database_url, workspace, "Channel.view", name="kept")

    succeed(database_url, "migrate")

    assert [line[1:] for line in listing(database_url, workspace)] == [
        ["kept", "Channel.view", "active"]
    ]


def test_migrate_from_any_directory_uses_the_default_sqlite_file(tmp_path: Path) -> None:
    """The migrations ship inside the package: no alembic.ini, no source tree needed."""
    result = subprocess.run(
        [str(CLI), "migrate"],
        cwd=tmp_path,
        env=service_environment(),
        capture_output=True,
        text=True,
        timeout=CALL_TIMEOUT_SECONDS,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert sqlite_tables(tmp_path / "email-channels.db") >= TABLES


def test_reconcile_with_nothing_interrupted_succeeds(database_url: str, tmp_path: Path) -> None:
    workspace = new_workspace()
    create_key(database_url, workspace, "Channel.view", name="untouched")

    result = run_cli(
        database_url,
        "reconcile",
        sandbox_port=str(free_port()),  # never a developer's 4566
        sandbox_state_path=str(tmp_path / "sandbox.json"),
    )

    assert result.exit_code == 0, result.output
    assert [line[1] for line in listing(database_url, workspace)] == ["untouched"]


# -- help ---------------------------------------------------------------------------------

COMMANDS = [
    ((), "serve"),
    ((), "migrate"),
    ((), "keys"),
    ((), "sandbox"),
    ((), "reconcile"),
    ((), "worker"),
    (("keys",), "create"),
    (("keys",), "list"),
    (("keys",), "revoke"),
    (("sandbox",), "serve"),
]


@pytest.mark.parametrize(
    ("group", "command"), COMMANDS, ids=[" ".join((*g, c)) for g, c in COMMANDS]
)
def test_help_lists_every_command(group: tuple[str, ...], command: str) -> None:
    result = in_thread(lambda: RUNNER.invoke(app, [*group, "--help"]))

    assert result.exit_code == 0, result.output
    listed = re.findall(r"^[\s│]*(\w[\w-]*)\s{2,}\S", result.stdout, re.M)
    assert command in listed, result.stdout


# -- sandbox serve ------------------------------------------------------------------------


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another process is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((HOST, 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def sandbox_command(port: int) -> list[str]:
    return [str(CLI), "sandbox", "serve", "--host", HOST, "--port", str(port)]


def test_sandbox_serve_on_a_taken_port_exits_non_zero_with_a_clear_message(
    tmp_path: Path, taken_port: int
) -> None:
    state = tmp_path / "sandbox.json"
    result = subprocess.run(
        sandbox_command(taken_port),
        cwd=tmp_path,
        env=service_environment(sandbox_state_path=str(state)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CALL_TIMEOUT_SECONDS,
        check=False,
    )

    assert result.returncode != 0
    assert f"{HOST}:{taken_port}" in result.stderr
    assert "cannot" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert not state.exists()


def test_sandbox_serve_serves_the_emulator_until_interrupted(tmp_path: Path) -> None:
    port = free_port()
    state_url = f"http://{HOST}:{port}/_sandbox/state"
    log = tmp_path / "sandbox.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            sandbox_command(port),
            cwd=tmp_path,
            env=service_environment(sandbox_state_path=str(tmp_path / "sandbox.json")),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        state = poll_state(process, state_url, log)
        assert state == EMPTY_SANDBOX
        process.send_signal(signal.SIGINT)
        assert process.wait(CALL_TIMEOUT_SECONDS) == 0, log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(CALL_TIMEOUT_SECONDS)


def poll_state(process: subprocess.Popen[bytes], url: str, log: Path) -> Any:
    """`GET /_sandbox/state` once the emulator answers, within the start deadline."""
    deadline = time.monotonic() + SANDBOX_START_TIMEOUT_SECONDS
    delay = 0.02
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while True:
            if process.poll() is not None:
                pytest.fail(f"sandbox serve exited {process.returncode}:\n{log.read_text()}")
            try:
                return client.get(url).raise_for_status().json()
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no answer from {url} in time:\n{log.read_text()}")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
