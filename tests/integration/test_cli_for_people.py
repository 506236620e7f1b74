"""The command line answers a person: `-h` anywhere, and a dry run that found nothing says so."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.processes import CLI, free_port, service_environment

HELP_OF = [(), ("serve",), ("keys",), ("keys", "create"), ("sandbox",), ("sandbox", "serve")]


@pytest.mark.parametrize("command", HELP_OF, ids=[" ".join(c) or "top" for c in HELP_OF])
def test_dash_h_shows_the_help_as_dash_dash_help_does(command: tuple[str, ...]) -> None:
    answers = [
        subprocess.run(
            [str(CLI), *command, flag],
            env=service_environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        for flag in ("-h", "--help")
    ]
    short, long = answers
    assert short.returncode == 0, short.stderr
    assert "Usage" in short.stdout
    assert short.stdout == long.stdout


def test_reconcile_dry_run_with_nothing_to_do_says_so(tmp_path: Path) -> None:
    settings = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'service.db'}",
        "sandbox_port": str(free_port()),
        "sandbox_state_path": str(tmp_path / "sandbox.sqlite3"),
    }
    result = subprocess.run(
        [str(CLI), "reconcile", "--dry-run"],
        cwd=tmp_path,
        env=service_environment(**settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # one line per item for scripts: there is none
    assert "nothing to do" in result.stderr
