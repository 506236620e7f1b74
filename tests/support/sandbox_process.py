"""`email-channels sandbox serve` as a subprocess: started, waited for, called with boto3."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.processes import CLI, HOST, service_environment
from tests.support.sandbox import DUMMY_CREDENTIALS

START_TIMEOUT_SECONDS = 30.0


def serve_sandbox(
    tmp_path: Path, port: int, state_path: Path, **settings: str
) -> subprocess.Popen[bytes]:
    """The emulator on loopback `port` with its state at `state_path` (and `settings`)."""
    log = (tmp_path / "sandbox.log").open("ab")
    return subprocess.Popen(
        [str(CLI), "sandbox", "serve", "--host", HOST, "--port", str(port)],
        cwd=tmp_path,
        env=service_environment(sandbox_state_path=str(state_path), **settings),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def sandbox_state_when_up(process: subprocess.Popen[bytes], port: int) -> Any:
    """`GET /_sandbox/state` once the emulator answers (it must within the deadline)."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while True:
            assert process.poll() is None, "sandbox serve exited"
            try:
                return client.get(f"http://{HOST}:{port}/_sandbox/state").raise_for_status().json()
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail("sandbox serve did not answer in time")
                time.sleep(0.05)


def ses_client(port: int) -> Any:
    """A boto3 SES v2 client of the emulator on `port`, without retries."""
    return boto3.client(
        "sesv2",
        region_name="us-east-1",
        endpoint_url=f"http://{HOST}:{port}",
        config=Config(retries={"total_max_attempts": 1}),
        **DUMMY_CREDENTIALS,
    )


def refusal(call: Callable[[], Any]) -> tuple[str, int, str]:
    """The error code, HTTP status and message of a call that must fail."""
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )
