"""The console works from the wheel: its templates and static files are inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "email_channels" / "console"


def test_the_wheel_ships_every_template_and_static_file(tmp_path: Path) -> None:
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    options = ["--no-build-isolation", "--disable-pip-version-check", "-w", str(tmp_path)]
    subprocess.run(
        [*pip_wheel, *options, str(ROOT)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("email_channels-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "email_channels/console/" + path.relative_to(PACKAGE).as_posix()
        for folder in ("templates", "static")
        for path in (PACKAGE / folder).rglob("*")
        if path.is_file()
    }
    assert {"email_channels/console/templates/_records_table.html"} <= expected
    assert expected <= names, sorted(expected - names)
