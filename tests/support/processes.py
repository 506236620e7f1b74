"""`email-channels` as a separate process: ports, a clean environment, one-shot commands."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / ".venv" / "bin" / "email-channels"
HOST = "127.0.0.1"
STOP_TIMEOUT_SECONDS = 15.0
UNANSWERED_NAMESERVER = "127.0.0.1:9"  # loopback discard port: refused at once


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def service_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any EMAIL_CHANNELS_* or proxy setting, plus `settings`.

    Like a fresh shell on a developer machine: the defaults apply unless the test says otherwise,
    and HTTP clients talk to loopback directly.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("EMAIL_CHANNELS_")
        and not name.lower().endswith("_proxy")
        and name.upper() != "PROMETHEUS_MULTIPROC_DIR"
    }
    # The built-in sandbox looks DKIM and MAIL FROM records up on GetEmailIdentity: at the
    # test's resolver, or at a loopback port where nothing answers, never the system's.
    settings.setdefault(
        "sandbox_dns_nameservers", settings.get("dns_nameservers", UNANSWERED_NAMESERVER)
    )
    # The suite's processes run side by side on a busy machine: a worker at its default idle
    # CPU priority would wait behind them past the tests' deadlines. The priority's own test
    # (test_worker_processes.py) says `idle`; the default is the unit tests' to check.
    settings.setdefault("worker_cpu_priority", "normal")
    # `reconcile` paces its SES reads by it (1 a second by default): a test's few need no wait.
    settings.setdefault("ses_status_rate", "100")
    # A test's resolver (its BIND) is also the own server of the test zones (section 11).
    nameservers = settings.get("dns_nameservers", "")
    if nameservers.count(":") == 1 and "," not in nameservers:
        settings.setdefault("dns_authoritative_port", nameservers.rsplit(":", 1)[1])
    env.update({f"EMAIL_CHANNELS_{name.upper()}": value for name, value in settings.items()})
    return env


def stop(process: subprocess.Popen[bytes]) -> bool:
    """Ctrl+C, then wait; kill the whole group if it does not end. True if it ended by itself."""
    if process.poll() is not None:
        return True
    process.send_signal(signal.SIGINT)
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT_SECONDS)
        return False


async def run_cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run `email-channels ARGS` to its end: (exit status, standard output, standard error)."""
    process = await asyncio.create_subprocess_exec(
        str(CLI),
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
