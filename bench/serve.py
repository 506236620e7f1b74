"""A server under test, run as its own process: `python -m bench.serve service|baseline ...`.

The parent binds the listening socket on loopback and passes its file descriptor, so there
is no window in which another process could take the port. Both servers run under the same
uvicorn configuration as `email-channels serve` (one worker; uvloop and httptools when they
are installed). uvicorn's own access log is off for both; the service writes its own access line
per request (observability/middleware.py) into its log file, as `serve` writes it to stderr.

The process stops by itself: when its parent is gone, or after `--max-seconds`.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from typing import Any

from email_channels.observability.serving import without_unused_packages

without_unused_packages()  # as `email-channels serve` does, before uvicorn is imported

import uvicorn  # noqa: E402

WATCH_INTERVAL = 0.5  # seconds between checks of the parent and the deadline
FORCED_EXIT_AFTER = 15.0  # seconds a graceful shutdown may take before the process just ends
BENCH_RATE_LIMIT = 10_000_000  # requests per minute per key: far above any rate here


def service_app(*, database_url: str, pool_size: int, ses_endpoint_url: str, dns_port: int) -> Any:
    """The real application, configured explicitly (no `.env`, no EMAIL_CHANNELS_* leaks)."""
    from email_channels.app import create_app
    from email_channels.config import SesMode, Settings
    from email_channels.observability.logs import configure_logging

    settings = Settings(
        _env_file=None,
        database_url=database_url,
        database_pool_size=pool_size,
        ses_mode=SesMode.AWS,
        # The bench's emulator (S3, S6); the list never calls SES.
        ses_endpoint_url=ses_endpoint_url,
        # The bench's DNS server (bench/dns_server.py: S2, S4); the list never looks anything up.
        dns_nameservers=f"127.0.0.1:{dns_port}",  # as the environment spells it
        # ... and the own server of S2's zone (section 11): the delay is on the zone's server.
        dns_authoritative_port=dns_port,
        # The limiter runs and costs what it costs, but one key at bench rates must not be
        # refused: the bench measures answers, not 429s.
        rate_limit=BENCH_RATE_LIMIT,
    )
    # As `email-channels serve` does: an access line per request, here into the server's log.
    configure_logging(settings.log_format)
    return create_app(settings)


def baseline_app(*, database_url: str, pool_size: int) -> Any:
    """The raw asyncpg + Starlette baseline on the same database."""
    from bench.baseline import create_baseline_app

    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    return create_baseline_app(dsn=dsn, pool_size=pool_size)


def _watch(server: uvicorn.Server, *, parent: int, deadline: float) -> None:
    """Ask the server to stop when the parent is gone or the deadline passed; then insist."""
    while not server.should_exit:
        if os.getppid() != parent or time.monotonic() > deadline:
            server.should_exit = True
            break
        time.sleep(WATCH_INTERVAL)
    time.sleep(FORCED_EXIT_AFTER)
    os._exit(3)  # the graceful shutdown hung; this process must not outlive the harness


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("kind", choices=["service", "baseline"])
    parser.add_argument("--fd", type=int, required=True, help="a bound loopback TCP socket")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--ses-endpoint-url", default="http://127.0.0.1:9")
    parser.add_argument("--dns-port", type=int, default=9)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    args = parser.parse_args(argv)

    sock = socket.socket(fileno=args.fd)
    host = sock.getsockname()[0]
    if host != "127.0.0.1":
        print(f"refusing to serve on {host}: loopback only", file=sys.stderr)
        return 2
    if args.kind == "service":
        app = service_app(
            database_url=args.database_url,
            pool_size=args.pool_size,
            ses_endpoint_url=args.ses_endpoint_url,
            dns_port=args.dns_port,
        )
    else:
        app = baseline_app(database_url=args.database_url, pool_size=args.pool_size)
    config = uvicorn.Config(
        app,
        lifespan="on",
        proxy_headers=False,
        ws="none",  # as `email-channels serve`
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    watchdog = threading.Thread(
        target=_watch,
        kwargs={
            "server": server,
            "parent": os.getppid(),
            "deadline": time.monotonic() + args.max_seconds,
        },
        name="bench-watchdog",
        daemon=True,
    )
    watchdog.start()
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
