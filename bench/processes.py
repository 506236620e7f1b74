"""The harness's side of the child processes: start a server, wait for it, load it, stop it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from bench.load import API_KEY_VARIABLE, LoadResult

REPOSITORY = Path(__file__).resolve().parent.parent
STARTUP_DEADLINE = 30.0  # seconds for a server to answer /healthz
STOP_DEADLINE = 10.0  # seconds for a server to stop after SIGTERM before it is killed


class HarnessError(Exception):
    """The measurement could not be made (as opposed to: the numbers are bad)."""


@dataclass(frozen=True, slots=True)
class RunningServer:
    kind: str
    url: str
    pid: int


def child_environment(**extra: str) -> dict[str, str]:
    """The environment of a child: ours without EMAIL_CHANNELS_* and with no way to AWS.

    The service runs in `aws` mode against a closed loopback port; these keep botocore from
    looking for credentials anywhere but here (no instance metadata, no profile files).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_CHANNELS_", "AWS_"))}
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPOSITORY), env.get("PYTHONPATH")])),
    )
    env.update(extra)
    return env


def run_baseline(module: str, *arguments: str, label: str) -> Any:
    """Run a baseline process (`python -m module arguments`) to its end; the JSON it prints.

    `label` names it in the error when it fails ("the S7 baseline").
    """
    finished = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        capture_output=True,
        text=True,
        timeout=900,
        env=child_environment(),
        cwd=REPOSITORY,
        check=False,
    )
    if finished.returncode != 0:
        raise HarnessError(f"{label} failed:\n{finished.stderr[-2000:]}")
    return json.loads(finished.stdout)


@contextmanager
def closed_loopback_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it), not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise HarnessError(f"the server exited with {process.returncode}:\n{_tail(log)}")
            try:
                if client.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise HarnessError(f"the server did not answer /healthz within {STARTUP_DEADLINE:.0f} s")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process(process: subprocess.Popen[bytes], *, deadline: float = STOP_DEADLINE) -> None:
    """SIGTERM, then SIGKILL if the child is still there after `deadline` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serving(
    kind: str,
    *,
    database_url: str,
    ses_endpoint_url: str,
    max_seconds: float,
    log_dir: Path,
    pool_size: int = 10,
    dns_port: int = 9,
    label: str | None = None,
) -> Iterator[RunningServer]:
    """Run `python -m bench.serve KIND` on a free loopback port until the block ends.

    `label` names its log (default `KIND`), for a second server of one kind."""
    log = log_dir / f"{label or kind}.log"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
        command = [
            sys.executable,
            "-m",
            "bench.serve",
            kind,
            f"--fd={sock.fileno()}",
            f"--database-url={database_url}",
            f"--pool-size={pool_size}",
            f"--ses-endpoint-url={ses_endpoint_url}",
            f"--dns-port={dns_port}",
            f"--max-seconds={max_seconds}",
        ]
        output: IO[bytes]
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                pass_fds=[sock.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=child_environment(),
                cwd=REPOSITORY,
            )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield RunningServer(kind=kind, url=url, pid=process.pid)
    finally:
        stop_process(process)


def run_load(
    *,
    url: str | list[str],
    api_key: str,
    client: str,
    concurrency: int,
    warmup: float,
    duration: float,
    server_pid: int,
    pace: float = 0.0,
) -> LoadResult:
    """Run `python -m bench.load` against `url` (or several, side by side); its result."""
    command = [
        sys.executable,
        "-m",
        "bench.load",
        *([url] if isinstance(url, str) else url),
        f"--client={client}",
        f"--concurrency={concurrency}",
        f"--warmup={warmup}",
        f"--duration={duration}",
        f"--server-pid={server_pid}",
        f"--pace={pace}",
    ]
    try:
        finished = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=warmup + duration + 60.0,
            env=child_environment(**{API_KEY_VARIABLE: api_key}),
            cwd=REPOSITORY,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise HarnessError(f"the load generator did not finish: {error}") from error
    if finished.returncode != 0:
        raise HarnessError(
            f"the load generator failed ({finished.returncode}):\n{finished.stderr[-2000:]}"
        )
    try:
        return LoadResult(**json.loads(finished.stdout))
    except (ValueError, TypeError) as error:
        raise HarnessError(
            f"unreadable load generator output: {finished.stdout[:500]!r}"
        ) from error
