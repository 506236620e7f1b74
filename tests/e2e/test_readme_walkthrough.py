"""The README's commands, run exactly as printed against `email-channels serve`.

The service runs as a subprocess the way `./dev serve` runs it: in a fresh working directory
(so the SQLite file and the sandbox state land there), on free loopback ports, with the test
BIND as its resolver. The README's ```sh blocks run in bash with textual substitutions only:
the base URL, `./dev cli` and `./dev serve`, the ports. `test_every_readme_command_is_run_or_
allowed` fails for any command line of the README that no test here runs and that the
allow-list below does not name with its reason.
"""

from __future__ import annotations

import json
import os
import re
import shlex
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
from tests.support.readme import (
    Block,
    Command,
    blocks_under,
    commands_outside_shell_blocks,
    only_command,
    shell_blocks,
)

pytestmark = pytest.mark.bind

README_API = "http://127.0.0.1:8000"
README_CLI = "./dev cli"
README_SERVE = "./dev serve"
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

# Command lines of the README that no test runs, each with the reason. Keep it short: a
# command a reader can run here belongs in a test.
NOT_RUN = {
    "./dev test": "runs this very suite (it would run itself)",
    "export EMAIL_CHANNELS_SES_MODE=aws": "Amazon SES: needs an AWS account",
    "export EMAIL_CHANNELS_AWS_REGION=eu-west-1": "Amazon SES: needs an AWS account",
    "export EMAIL_CHANNELS_DATABASE_URL=postgresql+asyncpg://email_channels@db.internal:5432/"
    "email_channels": "Amazon SES: a production database host",
    "export AWS_PROFILE=email-channels": "Amazon SES: needs AWS credentials",
    "./dev cli serve --host 0.0.0.0 --port 8000": "Amazon SES: serves against real SES",
    "docker build -t email-channels .": "needs a container engine (none runs here)",
    "docker run -p 8000:8000 -e EMAIL_CHANNELS_DATABASE_URL=postgresql+asyncpg://email_channels"
    "@db.internal:5432/email_channels -e EMAIL_CHANNELS_SES_MODE=aws -e "
    "EMAIL_CHANNELS_AWS_REGION=eu-west-1 -e EMAIL_CHANNELS_RATE_LIMIT_STORAGE_URI=redis://"
    "cache.internal:6379/0 email-channels email-channels serve --host 0.0.0.0 --port 8000 "
    "--workers 4": "needs a container engine, AWS and production hosts",
}


def serve_command() -> Command:
    """Quick start's `./dev serve` line: the `service` fixture runs it."""
    return only_command(blocks_under("## Quick start"), starting=README_SERVE)


def walkthrough_blocks() -> list[Block]:
    """The blocks of "## Walk-through" up to "### Keys": run as one script."""
    return blocks_under("## Walk-through", until="### Keys")


def keys_commands() -> list[Command]:
    """The `keys list` and `keys revoke` lines of "### Keys"."""
    blocks = blocks_under("### Keys")
    return [
        only_command(blocks, starting=f"{README_CLI} keys list"),
        only_command(blocks, starting=f"{README_CLI} keys revoke"),
    ]


def sending_blocks() -> list[Block]:
    """Pause, resume and the policy ("## Sending, reputation and regions")."""
    return blocks_under("## Sending, reputation and regions")


def console_blocks() -> list[Block]:
    """The key for the console ("## Console")."""
    return blocks_under("## Console")


def commands_run_here() -> dict[str, str]:
    """Every README command line a test of this package runs, with the test that runs it."""
    from tests.e2e import test_readme_webhooks as webhooks

    groups: dict[str, list[Command]] = {
        "the service fixture": [serve_command()],
        "test_readme_walkthrough_works_as_printed": [
            c for block in walkthrough_blocks() for c in block.commands()
        ],
        "test_keys_section_lists_and_revokes_as_documented": keys_commands(),
        "test_sending_section_pauses_resumes_and_sets_the_policy": [
            c for block in sending_blocks() for c in block.commands()
        ],
        "test_console_section_key_signs_in": [
            c for block in console_blocks() for c in block.commands()
        ],
        **webhooks.commands_run(),
    }
    return {command.key: test for test, commands in groups.items() for command in commands}


def as_run_here(snippet: str, service: RunningService) -> str:
    """The README text with the documented URL and `./dev cli` pointed at this test's service."""
    script = snippet.replace(README_API, service.base_url).replace(README_CLI, str(CLI))
    # A README that spelled the service differently would reach a developer's real server.
    for leftover in (":8000", "./dev", ":4566", ":9000"):
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
    # Quick start's line as printed, `./dev` being the project's command line (`CLI`).
    words = shlex.split(serve_command().text, comments=True)
    assert words == ["./dev", "serve"], words
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
    script = "\n".join(as_run_here(block.text, service) for block in walkthrough_blocks())

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
    list_line, revoke_line = (command.text for command in keys_commands())
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


def test_sending_section_pauses_resumes_and_sets_the_policy(
    service: RunningService, http: httpx.Client
) -> None:
    [block] = sending_blocks()
    permissions = ("Channel.create", "Channel.manage")
    create = ["keys", "create", "--workspace", "acme"]
    key = cli(service, *create, *(f"--permission={p}" for p in permissions)).strip()
    response = http.post(
        f"{service.base_url}/v1/acme/channels/ses-setup",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "tenant_name": f"readme-send-{uuid.uuid4().hex[:8]}",
            "domain_identity": f"send-{uuid.uuid4().hex[:8]}.example.test",
        },
    )
    assert response.status_code == 201, response.text
    # The README leaves API, KEY and SETUP_ID to the reader (the walk-through sets the first two).
    variables = f"API={README_API}\nKEY={key}\nSETUP_ID={response.json()['id']}\n"
    run = run_bash(as_run_here(variables + block.text, service), service)
    assert run.returncode == 0, run.stderr
    paused, resumed, patched = json_documents(run.stdout)
    assert (paused["sending"]["status"], paused["sending"]["paused_by"]) == ("paused", "workspace")
    assert resumed["sending"]["status"] == "enabled"
    assert patched["sending"]["reputation_policy"] == "strict"


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


# -- the console ------------------------------------------------------------------------

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_console_section_key_signs_in(service: RunningService) -> None:
    script = "\n".join(as_run_here(block.text, service) for block in console_blocks())
    run = run_bash(script, service)
    assert run.returncode == 0, run.stderr
    secret = run.stdout.strip()
    assert secret, run.stdout
    assert "\n" not in secret, run.stdout

    with httpx.Client(base_url=service.base_url, timeout=10.0, trust_env=False) as browser:
        form = browser.get("/console")
        token = TOKEN.search(form.text)
        assert token, form.text
        signed_in = browser.post(
            "/console/sign-in", data={"csrf_token": token[1], "api_key": secret}
        )
        assert signed_in.status_code == 303, signed_in.text
        home = browser.get(signed_in.headers["location"])
        assert '<h1 id="setups-heading">SES setups</h1>' in home.text
        assert "New SES setup" in home.text  # the README's key may create
        assert "Workspace <strong>acme</strong>" in home.text

    # What the README says of a key that may only look.
    viewer = cli(
        service,
        *["keys", "create", "--workspace", "acme", "--name", "look"],
        *["--permission", "Channel.view", "--permission", "UseCase.view"],
    ).strip()
    with httpx.Client(base_url=service.base_url, timeout=10.0, trust_env=False) as browser:
        token = TOKEN.search(browser.get("/console").text)
        assert token
        browser.post("/console/sign-in", data={"csrf_token": token[1], "api_key": viewer})
        home = browser.get("/console")
        assert "New SES setup</a>" not in home.text
        assert "Your key can view setups but not create them." in home.text.replace("&#39;", "'")


# -- every command ----------------------------------------------------------------------


def test_every_readme_command_is_run_or_allowed() -> None:
    run_here = commands_run_here()
    commands = [command for block in shell_blocks() for command in block.commands()]
    unrun = [
        f"  {command}"
        for command in commands
        if command.key not in run_here and command.key not in NOT_RUN
    ]
    assert not unrun, (
        "README.md commands that no test runs: run each in a test of "
        "tests/e2e/test_readme_walkthrough.py (or test_readme_webhooks.py), or add it to "
        "NOT_RUN there with the reason it cannot run here:\n" + "\n".join(unrun)
    )
    present = {command.key for command in commands}
    stale = [f"  {key!r}" for key in NOT_RUN if key not in present]
    assert not stale, "NOT_RUN names commands the README no longer has:\n" + "\n".join(stale)
    assert set(run_here).isdisjoint(NOT_RUN), "a command both run and allowed not to run"
    hidden = commands_outside_shell_blocks()
    assert not hidden, "commands in a block that is not ```sh (so not checked):\n" + "\n".join(
        hidden
    )
