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
    - DNS over HTTPS: dnspython imports httpx2, httpcore2, h2 and truststore for it whenever
      they are installed. The service asks its nameservers over plain UDP and TCP only (a
      `Do53Nameserver` each, integrations/dns/resolver.py): 4 MB that did nothing. Turned off
      through dnspython's own feature switch, before `dns.query` is imported; a DNS over
      HTTPS query would then raise `dns.query.NoDOH`, as where httpx2 is not installed.
    - `pydantic.v1`: FastAPI imports it while building the routes, only to refuse models of
      pydantic 1 (which the service has none of; nothing else here imports it): 1.5 MB.
      FastAPI's own check then finds no such module and lets the models through, as it does
      where pydantic ships without `v1`.

    A None in `sys.modules` makes their import fail as if they were not installed (typer
    then formats its messages plainly). It has no effect on what is already imported: call
    it before anything imports structlog, httpx, uvicorn, FastAPI or dnspython's queries.
    """
    if "structlog" not in sys.modules and "httpx" not in sys.modules:
        for name in ("rich", "pygments"):
            sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    if "uvicorn" not in sys.modules:
        sys.modules.setdefault("watchfiles", None)  # type: ignore[arg-type]
    sys.modules.setdefault("pydantic.v1", None)  # type: ignore[arg-type]
    if "dns.query" not in sys.modules:
        import dns._features

        dns._features.force("doh", False)


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
