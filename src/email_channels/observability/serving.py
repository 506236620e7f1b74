"""What `serve --workers N` needs around uvicorn: preconditions and the shared metrics directory.

Kept out of the CLI module so that it stays importable without the web stack, and beside the
metrics whose multiprocess mode it sets up. Nothing here imports prometheus_client: the
directory must be in the environment before any process imports it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from email_channels.config import SesMode, Settings

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def without_unused_packages() -> None:
    """Keep packages a serving process never uses out of it: call it first in such a process.

    - `rich` and `pygments`: when they are installed (typer and the test tools bring them),
      structlog imports rich for tracebacks it would draw in the console format, and httpx
      imports both for its own command line. The service writes tracebacks plainly
      (observability/logs.py) and has no use for httpx's command line: 3 MB of resident
      memory that did nothing (bench/README.md, S5).
    - `watchfiles`: uvicorn imports it, when installed, for its `--reload` mode, which
      `serve` does not offer (uvicorn's own fallback watcher is in the standard library):
      1.1 MB.

    A None in `sys.modules` makes their import fail as if they were not installed (typer
    then formats its messages plainly). It has no effect on what is already imported: call
    it before anything imports structlog, httpx or uvicorn.
    """
    if "structlog" not in sys.modules and "httpx" not in sys.modules:
        for name in ("rich", "pygments"):
            sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    if "uvicorn" not in sys.modules:
        sys.modules.setdefault("watchfiles", None)  # type: ignore[arg-type]


def refusal_to_serve(settings: Settings, *, workers: int) -> str | None:
    """Why these settings cannot run `workers` processes, or None when they can."""
    if workers <= 1:
        return None
    if settings.database_url.startswith("sqlite"):
        return (
            f"--workers {workers} needs PostgreSQL: SQLite takes one writing process at a time. "
            "Set EMAIL_CHANNELS_DATABASE_URL=postgresql+asyncpg://... or use --workers 1."
        )
    if settings.ses_mode is SesMode.SANDBOX:
        return (
            f"--workers {workers} cannot share the built-in SES sandbox, which lives in one "
            "process: run `email-channels sandbox serve` and set EMAIL_CHANNELS_SES_MODE=aws "
            "with EMAIL_CHANNELS_SES_ENDPOINT_URL, or use --workers 1."
        )
    return None


@contextmanager
def metrics_directory(*, workers: int) -> Iterator[str | None]:
    """A fresh PROMETHEUS_MULTIPROC_DIR for several workers, removed when serving ends.

    One process keeps its metrics in memory. An operator's own directory is used as it is
    (prometheus-client wants it emptied before each start: the operator's job then).
    """
    if workers <= 1 or os.environ.get(MULTIPROC_DIR_VARIABLE):
        yield os.environ.get(MULTIPROC_DIR_VARIABLE) or None
        return
    path = tempfile.mkdtemp(prefix="email-channels-metrics-")
    os.environ[MULTIPROC_DIR_VARIABLE] = path  # inherited by the worker processes
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_DIR_VARIABLE, None)
        shutil.rmtree(path, ignore_errors=True)
