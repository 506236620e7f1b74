"""The README's webhook walk-through with its receiver, and its standalone sandbox, as printed.

Each block runs in bash with textual substitutions only: the base URL, `./dev serve` and
`./dev cli`, the receiver's port 9000 and the sandbox's 4566 (free loopback ports here), and
`WEBHOOK_ID`, which the README asks the reader to fill in.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_readme_walkthrough import (
    README_API,
    README_CLI,
    README_SERVE,
    RunningService,
    json_documents,
    run_bash,
    wait_for_health,
)
from tests.support.processes import CLI, HOST, free_port, service_environment
from tests.support.readme import Block, Command, blocks_under, only_command

pytestmark = pytest.mark.bind

WEBHOOKS_SECTION = "## Webhooks: verification that happens on its own"
RECEIVER_PORT = re.compile(r"\b9000\b")
SANDBOX_PORT = re.compile(r"\b4566\b")
DELIVERY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0


def webhook_blocks() -> list[Block]:
    """The receiver, the serve line, the subscription and create, the delivery log."""
    blocks = blocks_under(WEBHOOKS_SECTION)
    assert len(blocks) == 4, [block.text for block in blocks]
    receiver, serve, subscribe, log = blocks
    assert "http.server" in receiver.text, receiver
    assert README_SERVE in serve.text, serve
    assert "/webhooks" in subscribe.text, subscribe
    assert "WEBHOOK_ID" in log.text, log
    return blocks


def sandbox_command() -> Command:
    """ "Running against Amazon SES"'s standalone emulator line."""
    return only_command(
        blocks_under("## Running against Amazon SES"), starting=f"{README_CLI} sandbox serve"
    )


def commands_run() -> dict[str, list[Command]]:
    """The README command lines this module's tests run, by test."""
    return {
        "test_webhook_walkthrough_delivers_to_its_receiver": [
            c for block in webhook_blocks() for c in block.commands()
        ],
        "test_standalone_sandbox_serves_as_printed": [sandbox_command()],
    }


def substituted(text: str, *, base_url: str, port: int, receiver_port: int) -> str:
    """The README text pointed at this test's processes; nothing may reach the defaults."""
    script = text.replace(README_SERVE, f"{CLI} serve --port {port}")
    script = script.replace(README_API, base_url).replace(README_CLI, str(CLI))
    script = RECEIVER_PORT.sub(str(receiver_port), script)
    for leftover in (":8000", "./dev", "4566", "9000"):
        assert leftover not in script, f"{leftover!r} left in the script:\n{script}"
    return script


def _background(
    script: str, *, cwd: Path, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            ["bash", "-c", script],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: Ctrl+C reaches what bash started
        )


def _interrupt(process: subprocess.Popen[bytes]) -> int:
    """Ctrl+C to the process group, as in the reader's terminal; kill it if it ignores that."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT_SECONDS)
    return process.returncode


@pytest.fixture
def hooks_service(tmp_path: Path, dns_nameservers: str) -> Iterator[tuple[RunningService, int]]:
    """The README's receiver and its `... ./dev serve` line, each started as printed."""
    receiver_block, serve_block, _, _ = webhook_blocks()
    port, sandbox_port, receiver_port = free_port(), free_port(), free_port()
    base_url = f"http://{HOST}:{port}"
    env = service_environment(sandbox_port=str(sandbox_port), dns_nameservers=dns_nameservers)
    workdir = tmp_path / "hooks"
    workdir.mkdir()
    place = {"base_url": base_url, "port": port, "receiver_port": receiver_port}
    receiver = _background(
        substituted(receiver_block.text, **place), cwd=tmp_path, env=env, log=tmp_path / "got"
    )
    serve = _background(
        substituted(serve_block.text, **place), cwd=workdir, env=env, log=tmp_path / "serve.log"
    )
    service = RunningService(
        process=serve,
        workdir=workdir,
        env=env,
        base_url=base_url,
        sandbox_url=f"http://{HOST}:{sandbox_port}",
        log=tmp_path / "serve.log",
    )
    try:
        wait_for_health(service)
        yield service, receiver_port
    finally:
        _interrupt(serve)
        _interrupt(receiver)


def received(path: Path) -> list[tuple[str, Any]]:
    """The (webhook-id, body) lines the README's receiver printed so far."""
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    found = []
    for line in lines:
        webhook_id, _, body = line.partition(" ")
        if body.startswith("{"):
            found.append((webhook_id, json.loads(body)))
    return found


def test_webhook_walkthrough_delivers_to_its_receiver(
    hooks_service: tuple[RunningService, int], tmp_path: Path
) -> None:
    service, receiver_port = hooks_service
    _, _, subscribe_block, log_block = webhook_blocks()
    place = {"base_url": service.base_url, "port": 0, "receiver_port": receiver_port}
    state = tmp_path / "shell-state"
    # The reader's shell keeps API and KEY for the next block; so does this one.
    subscribe = substituted(subscribe_block.text, **place) + f"\ndeclare -p API KEY > {state}\n"
    run = run_bash(subscribe, service)
    assert run.returncode == 0, f"{run.stderr}\n{run.stdout}"
    webhook, setup = json_documents(run.stdout)
    assert webhook["secret"].startswith("whsec_"), webhook
    assert webhook["url"] == f"http://127.0.0.1:{receiver_port}/hooks"
    assert (setup["tenant_name"], setup["domain_identity"]) == (
        "acme-hooks",
        "mail.your-domain.example",
    )

    # "The receiver prints `ses_setup.created` at once."
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while not received(tmp_path / "got"):
        assert time.monotonic() < deadline, (tmp_path / "got").read_text(errors="replace")
        time.sleep(0.1)
    ((event_id, event),) = received(tmp_path / "got")
    assert event_id.startswith("evt_")
    assert event["type"] == "ses_setup.created"
    assert event["data"]["workspace_id"] == "acme"
    assert event["data"]["ses_setup"]["id"] == setup["id"]

    # The delivery log shows it delivered (its status is written once the receiver answered).
    log = f"source {state}\n" + substituted(log_block.text, **place)
    log = log.replace("WEBHOOK_ID", webhook["id"])
    while True:
        run = run_bash(log, service)
        assert run.returncode == 0, run.stderr
        listed, deliveries = json_documents(run.stdout)
        assert [item["id"] for item in listed["items"]] == [webhook["id"]]
        statuses = [item["status"] for item in deliveries["items"]]
        if statuses == ["delivered"]:
            break
        assert time.monotonic() < deadline, deliveries
        time.sleep(0.1)


def test_standalone_sandbox_serves_as_printed(tmp_path: Path) -> None:
    port = free_port()
    command = SANDBOX_PORT.sub(str(port), sandbox_command().text).replace(README_CLI, str(CLI))
    assert "./dev" not in command
    process = _background(command, cwd=tmp_path, env=service_environment(), log=tmp_path / "log")
    try:
        deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while True:
                assert process.poll() is None, (tmp_path / "log").read_text()
                try:
                    state = client.get(f"http://{HOST}:{port}/_sandbox/state")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, (tmp_path / "log").read_text()
                    time.sleep(0.1)
        assert state.status_code == 200
        assert state.json()["tenants"] == []
    finally:
        assert _interrupt(process) == 0, (tmp_path / "log").read_text()
