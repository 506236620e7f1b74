"""What ships is what is tested: the wheel, installed from the runtime lock alone, runs.

The suite itself runs in the dev environment, where every dev dependency is importable; these
tests run the installed `email-channels` of a clean venv from a directory outside the
checkout, so a module the service imports but the runtime lock lacks fails here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import HOST, free_port, service_environment
from tests.support.serve_process import STOP_TIMEOUT_SECONDS
from tests.support.wheel import InstalledWheel, installed_wheel

pytestmark = pytest.mark.timeout(1200)  # the first run builds the venv of the lock

START_TIMEOUT_SECONDS = 60.0


@pytest.fixture(scope="session")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    return installed_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory from which nothing of the checkout is importable."""
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    return directory


@pytest.fixture
def environment(elsewhere: Path) -> dict[str, str]:
    """A fresh shell's settings: SQLite and the sandbox's state in `elsewhere`, free ports."""
    env = service_environment(
        database_url=f"sqlite+aiosqlite:///{elsewhere / 'service.db'}",
        sandbox_port=str(free_port()),
        sandbox_state_path=str(elsewhere / "sandbox.sqlite3"),
    )
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(name, None)
    return env


def run(shipped: InstalledWheel, *args: str, cwd: Path, env: dict[str, str]) -> str:
    """`email-channels ARGS` of the installed wheel to its end; its standard output."""
    done = subprocess.run(
        [str(shipped.cli), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture
def served(
    shipped: InstalledWheel, elsewhere: Path, environment: dict[str, str]
) -> Iterator[tuple[str, Path]]:
    """`email-channels serve` of the installed wheel: its base URL and its output file."""
    port = free_port()
    output = elsewhere / "serve.log"
    with output.open("wb") as log:
        process = subprocess.Popen(
            [str(shipped.cli), "serve", "--host", HOST, "--port", str(port)],
            cwd=elsewhere,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://{HOST}:{port}"
    try:
        wait_for(base_url, process, output)
        yield base_url, output
    finally:
        status = stop(process)
    # uvicorn ends a clean shutdown by raising the signal again: -15 is a clean exit too.
    text = output.read_text()
    assert status in (0, -signal.SIGTERM), f"serve exited {status} on SIGTERM:\n{text[-4000:]}"
    assert "Application shutdown complete" in text, text[-4000:]


def wait_for(base_url: str, process: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"serve exited {process.returncode}:\n{output.read_text()}")
            try:
                if client.get(f"{base_url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"serve did not answer in time:\n{output.read_text()}")
            time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT_SECONDS)
        raise AssertionError("the process did not stop on SIGTERM") from None


def test_installed_package_comes_from_the_wheel_not_the_checkout(
    shipped: InstalledWheel, elsewhere: Path, environment: dict[str, str]
) -> None:
    done = subprocess.run(
        [str(shipped.python), "-c", "import email_channels; print(email_channels.__file__)"],
        cwd=elsewhere,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    location = Path(done.stdout.strip()).resolve()
    assert location.is_relative_to(shipped.venv.resolve()), location


# Every module, not only those the commands below reach; Alembic's scripts run on import.
IMPORT_ALL = """
import importlib, pkgutil, email_channels
skip = "email_channels.db.migrations"
for module in pkgutil.walk_packages(email_channels.__path__, "email_channels."):
    if module.name != skip and not module.name.startswith(skip + "."):
        importlib.import_module(module.name)
"""


def test_every_module_of_the_wheel_imports_with_the_runtime_lock_alone(
    shipped: InstalledWheel, elsewhere: Path, environment: dict[str, str]
) -> None:
    done = subprocess.run(
        [str(shipped.python), "-c", IMPORT_ALL],
        cwd=elsewhere,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]


def test_wheel_migrates_serves_the_api_and_console_and_creates_on_the_sandbox(
    shipped: InstalledWheel,
    elsewhere: Path,
    environment: dict[str, str],
    served: tuple[str, Path],
) -> None:
    base_url, _ = served
    run(shipped, "migrate", cwd=elsewhere, env=environment)  # again: nothing left to apply
    secret = run(
        shipped,
        *("keys", "create", "--workspace", "ws1"),
        *("--permission", "Channel.create", "--permission", "Channel.view"),
        cwd=elsewhere,
        env=environment,
    ).strip()
    with httpx.Client(base_url=base_url, timeout=30.0, trust_env=False) as client:
        assert client.get("/readyz").json() == {"status": "ready"}
        created = client.post(
            "/v1/ws1/channels/ses-setup",
            json={"tenant_name": "wheel-smoke", "domain_identity": "wheel-smoke.example.test"},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert created.status_code == 201, created.text
        assert created.json()["domain_identity"] == "wheel-smoke.example.test"
        assert client.get("/console", follow_redirects=True).status_code == 200
        docs = client.get("/docs")
        assert docs.status_code == 200
        assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_wheel_migrates_from_another_directory(
    shipped: InstalledWheel, elsewhere: Path, environment: dict[str, str]
) -> None:
    run(shipped, "migrate", cwd=elsewhere, env=environment)
    assert (elsewhere / "service.db").exists()


def test_wheel_worker_runs_and_exits_cleanly_on_sigterm(
    shipped: InstalledWheel, elsewhere: Path, environment: dict[str, str]
) -> None:
    run(shipped, "migrate", cwd=elsewhere, env=environment)
    output = elsewhere / "worker.log"
    with output.open("wb") as log:
        process = subprocess.Popen(
            [str(shipped.cli), "worker"],
            cwd=elsewhere,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while "worker started" not in output.read_text(errors="replace"):
            assert process.poll() is None, f"worker exited:\n{output.read_text()}"
            assert time.monotonic() < deadline, f"worker did not start:\n{output.read_text()}"
            time.sleep(0.05)
    finally:
        status = stop(process)
    assert status == 0, output.read_text()
    assert "worker stopped" in output.read_text()
