"""The service as it ships: the wheel, in a clean venv holding requirements.runtime.lock alone.

What the Dockerfile does, here: build the wheel without build isolation (hatchling comes from
the dev lock), install the runtime lock with `--require-hashes` (so a dependency missing from
the lock fails the install), then the wheel with `--no-deps`, then `pip check`. The venv of
the lock is kept under .cache/ keyed by the lock's hash; the wheel is reinstalled into it
when its own hash changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = ROOT / "requirements.runtime.lock"
CACHE = ROOT / ".cache" / "wheel-smoke"
INSTALL_TIMEOUT_SECONDS = 900.0


@dataclass(frozen=True)
class InstalledWheel:
    venv: Path
    wheel: Path

    @property
    def cli(self) -> Path:
        return self.venv / "bin" / "email-channels"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def _digest(*paths: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def _run(*command: str | Path, cwd: Path) -> None:
    """Run a build or install step; fail with its output."""
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, command))} exited {done.returncode}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


def build_wheel(into: Path) -> Path:
    """`pip wheel` of the checkout, as the Dockerfile builds it."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run(*pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", into, ROOT, cwd=ROOT)
    (wheel,) = into.glob("email_channels-*.whl")
    assert "email_channels/db/migrations/env.py" in zipfile.ZipFile(wheel).namelist()
    return wheel


def _fresh_venv(venv: Path) -> None:
    """A venv with exactly the runtime lock, built beside `venv` and then moved in place."""
    building = venv.with_name(venv.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    _run(sys.executable, "-m", "venv", building, cwd=ROOT)
    pip = [building / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
    _run(*pip, "install", "--quiet", "--require-hashes", "-r", RUNTIME_LOCK, cwd=ROOT)
    building.rename(venv)


def installed_wheel(scratch: Path) -> InstalledWheel:
    """The wheel of the checkout, installed into the cached venv of the runtime lock."""
    wheel = build_wheel(scratch)
    venv = CACHE / f"lock-{_digest(RUNTIME_LOCK)}"
    if not (venv / "bin" / "python").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        _fresh_venv(venv)
    stamp = venv / "wheel.sha256"
    wanted = _digest(wheel)
    if not stamp.exists() or stamp.read_text() != wanted:
        pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
        _run(*pip, "install", "--quiet", "--no-deps", "--force-reinstall", wheel, cwd=scratch)
        _run(*pip, "check", cwd=scratch)
        stamp.write_text(wanted)
    return InstalledWheel(venv=venv, wheel=wheel)
