"""The README's walk-through, run exactly as printed against `email-channels serve`.

The service runs as a subprocess the way `./dev serve` runs it: in a fresh working directory
(so the SQLite file and the sandbox state land there), on free loopback ports, with the test
BIND as its resolver. The README's ```sh blocks run in one bash process with two textual
substitutions only: the base URL and `./dev cli`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from email_channels.auth.permissions import Permission
from tests.support.processes import (
    CLI,
    HOST,
    STOP_TIMEOUT_SECONDS,
    free_port,
    service_environment,
    stop,
)

pytestmark = pytest.mark.bind

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_API = "http://127.0.0.1:8000"
README_CLI = "./dev cli"
START_TIMEOUT_SECONDS = 30.0
SCRIPT_TIMEOUT_SECONDS = 60.0
SETUP_STATUSES = {"verified", "missing", "mismatch", "unknown"}


@dataclass(frozen=True)
class RunningService:
    """`email-channels serve` in its own working directory."""

    process: subprocess.Popen[bytes]
    workdir: Path
    env: dict[str, str]
    base_url: str
    sandbox_url: str
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@dataclass(frozen=True)
class ScriptRun:
    returncode: int
    stdout: str
    stderr: str


# -- the README -------------------------------------------------------------------------


def _section(markdown: str, *, start: str, end: str) -> str:
    """The text after the heading line `start` up to (not including) the heading `end`."""
    match = re.search(rf"^{re.escape(start)}\n(.*?)^{re.escape(end)}", markdown, re.M | re.S)
    assert match, f"README.md has no section {start!r} ending at {end!r}"
    return match[1]


def _sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```\s*$", text, re.M | re.S)


def walkthrough_blocks() -> list[str]:
    """The ```sh blocks of "## Walk-through", up to the "### Keys" subsection."""
    blocks = _sh_blocks(_section(README.read_text(), start="## Walk-through", end="### Keys"))
    assert blocks, "the README's walk-through has no ```sh blocks"
    return blocks


def keys_lines() -> list[str]:
    """The command lines of the ```sh block of "### Keys"."""
    blocks = _sh_blocks(_section(README.read_text(), start="### Keys", end="## "))
    assert blocks, "the README's Keys section has no ```sh block"
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def as_run_here(snippet: str, service: RunningService) -> str:
    """The README text with the documented URL and `./dev cli` pointed at this test's service."""
    script = snippet.replace(README_API, service.base_url).replace(README_CLI, str(CLI))
    # A README that spelled the service differently would reach a developer's real server.
    for leftover in (":8000", "./dev", ":4566"):
        assert leftover not in script, f"{leftover!r} left in the script:\n{script}"
    return script


def run_bash(script: str, service: RunningService) -> ScriptRun:
    """Run `script` under `set -euo pipefail` in the service's directory and environment."""
    process = subprocess.Popen(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=service.workdir,
        env=service.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: a timeout takes curl and the CLI down too
    )
    try:
        stdout, stderr = process.communicate(timeout=SCRIPT_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"the script ran over {SCRIPT_TIMEOUT_SECONDS}s:\n{script}\n{stderr}")
    return ScriptRun(process.returncode, stdout, stderr)


def json_documents(text: str) -> list[Any]:
    """The JSON documents printed one after another (curl -s adds no newline between them)."""
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return documents
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            pytest.fail(f"not JSON at offset {position}: {error}\n{text}")
        documents.append(document)


# -- the service ------------------------------------------------------------------------


def wait_for_health(service: RunningService) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    delay = 0.02
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while True:
            if service.process.poll() is not None:
                pytest.fail(f"`email-channels serve` exited early:\n{service.log_tail()}")
            try:
                if client.get(f"{service.base_url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no /healthz after {START_TIMEOUT_SECONDS}s:\n{service.log_tail()}")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, dns_nameservers: str
) -> Iterator[RunningService]:
    """`email-channels serve --port P` in a fresh directory, SQLite and the sandbox by default."""
    workdir = tmp_path_factory.mktemp("fresh-clone")
    port, sandbox_port = free_port(), free_port()
    env = service_environment(sandbox_port=str(sandbox_port), dns_nameservers=dns_nameservers)
    log = workdir.parent / f"{workdir.name}-serve.log"  # outside: the directory listing is tested
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(CLI), "serve", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = RunningService(
        process=process,
        workdir=workdir,
        env=env,
        base_url=f"http://{HOST}:{port}",
        sandbox_url=f"http://{HOST}:{sandbox_port}",
        log=log,
    )
    try:
        wait_for_health(running)
        yield running
    finally:
        stopped_by_itself = stop(process)
    assert stopped_by_itself, f"serve ignored Ctrl+C for {STOP_TIMEOUT_SECONDS}s; killed it"
    assert process.returncode == 0, f"serve exited {process.returncode}:\n{running.log_tail()}"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0, trust_env=False) as client:
        yield client


def cli(service: RunningService, *args: str) -> str:
    """Run `email-channels ARGS` like `./dev cli` from the service's directory; its stdout."""
    result = subprocess.run(
        [str(CLI), *args],
        cwd=service.workdir,
        env=service.env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# -- the walk-through -------------------------------------------------------------------


def test_readme_walkthrough_works_as_printed(service: RunningService, http: httpx.Client) -> None:
    script = "\n".join(as_run_here(block, service) for block in walkthrough_blocks())

    run = run_bash(script, service)

    assert run.returncode == 0, f"the walk-through failed:\n{run.stderr}\n{run.stdout}"
    outputs = json_documents(run.stdout)
    assert len(outputs) == 7, run.stdout
    created, page, read, verified, refused, use_case_deleted, setup_deleted = outputs

    assert created["tenant_name"] == "acme-prod"
    assert created["domain_identity"] == "mail.acme-shop.example"
    assert created["dns_verified"] is False
    assert created["dns_checked_at"] is None
    assert len(created["dns_records"]) == 7
    for record in created["dns_records"]:
        assert (record["status"], record["reason"], record["verified"]) == (
            "unknown",
            "Not checked yet",
            False,
        )

    assert [item["id"] for item in page["items"]] == [created["id"]]
    assert "dns_records" not in page["items"][0]
    assert page["continuation_token"] is None

    for detail in (read, verified):
        assert detail["id"] == created["id"]
        assert [r["address"] for r in detail["dns_records"]] == [
            r["address"] for r in created["dns_records"]
        ]
        for record in detail["dns_records"]:
            assert record["status"] in SETUP_STATUSES
            assert record["reason"] != "Not checked yet"  # a live check ran

    assert refused["status"] == 409
    assert {"type", "title", "detail"} <= refused.keys()

    assert (use_case_deleted, setup_deleted) == (204, 204)

    state = http.get(f"{service.sandbox_url}/_sandbox/state").raise_for_status().json()
    assert state["tenants"] == []
    assert state["identities"] == []
    # `./dev serve` keeps both in the working directory, as the Quick start says.
    names = {path.name for path in service.workdir.iterdir()}
    assert {"email-channels.db", "email-channels-sandbox.sqlite3"} <= names


def test_keys_section_lists_and_revokes_as_documented(
    service: RunningService, http: httpx.Client
) -> None:
    lines = keys_lines()
    list_line = next(line for line in lines if line.startswith(f"{README_CLI} keys list"))
    revoke_line = next(line for line in lines if line.startswith(f"{README_CLI} keys revoke"))
    assert "KEY_ID" in revoke_line
    name = f"readme-keys-{uuid.uuid4().hex[:8]}"
    create = f"keys create --workspace acme --name {name} --permission Channel.view"
    secret = cli(service, *create.split(), "--permission", "UseCase.view").strip()
    setups = f"{service.base_url}/v1/acme/channels/ses-setup"
    headers = {"Authorization": f"Bearer {secret}"}
    assert http.get(setups, headers=headers).status_code == 200

    listed = run_bash(as_run_here(list_line, service), service)
    assert listed.returncode == 0, listed.stderr
    key_id, permissions, state = _key_line(listed.stdout, name)
    assert permissions == {Permission.CHANNEL_VIEW, Permission.USE_CASE_VIEW}
    assert state == "active"

    revoked = run_bash(as_run_here(revoke_line.replace("KEY_ID", key_id), service), service)
    assert revoked.returncode == 0, revoked.stderr

    relisted = run_bash(as_run_here(list_line, service), service)
    assert _key_line(relisted.stdout, name) == (key_id, permissions, "revoked")
    answer = http.get(setups, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.headers["content-type"] == "application/problem+json"


def _key_line(listing: str, name: str) -> tuple[str, set[str], str]:
    """The (id, permissions, state) of the key called `name`; every line checked for format."""
    found = []
    for line in listing.splitlines():
        key_id, key_name, permissions, state = line.split("\t")
        assert str(uuid.UUID(key_id)) == key_id
        granted = set(permissions.split(","))
        assert granted <= {p.value for p in Permission}
        assert state in {"active", "revoked"}
        if key_name == name:
            found.append((key_id, granted, state))
    assert len(found) == 1, listing
    return found[0]
