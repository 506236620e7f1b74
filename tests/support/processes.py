"""`email-channels` as a separate process: serve, and the one-shot commands."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / ".venv" / "bin" / "email-channels"
HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0


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
        if not name.startswith("EMAIL_CHANNELS_") and not name.lower().endswith("_proxy")
    }
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


@dataclass
class ServeProcess:
    """`email-channels serve --port P` with the given settings, in `workdir`."""

    workdir: Path
    env: dict[str, str]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"serve-{self.port}.log"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def start(self, *args: str) -> ServeProcess:
        """Start serving; returns once /healthz answers."""
        self.port = self.port or free_port()
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [str(CLI), "serve", "--port", str(self.port), *args],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_for_health()
        return self

    def stop(self) -> bool:
        """Stop it (Ctrl+C); True if it ended by itself."""
        return self.process is None or stop(self.process)

    def _wait_for_health(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        delay = 0.02
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"`email-channels serve` exited early:\n{self.log_tail()}")
                try:
                    if client.get(f"{self.base_url}/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"no /healthz in {START_TIMEOUT_SECONDS}s:\n{self.log_tail()}"
                    )
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
