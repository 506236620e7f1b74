"""What `serve` says before it serves: where everything is, and why it cannot start.

Printed once by the process the operator started (not by each API process), on standard
error, as plain lines: it is for the person at the terminal; the log lines that follow are
for the log pipeline.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from email_channels import __version__
from email_channels.config import LogFormat, SesMode, Settings
from email_channels.observability.logs import get_logger

SANDBOX_HOST = "127.0.0.1"  # the built-in emulator listens on loopback only


def _url_host(host: str) -> str:
    """The host as it goes in a URL: IPv6 in brackets, every-address binds as loopback."""
    if host in {"0.0.0.0", ""}:
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def database_location(database_url: str) -> str:
    """The database URL without its password (and, for SQLite, with the file's full path)."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return "(an unreadable EMAIL_CHANNELS_DATABASE_URL)"
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return f"SQLite file {Path(url.database).resolve()}"
    return url.render_as_string(hide_password=True)


def _ses(settings: Settings) -> str:
    if settings.ses_mode is SesMode.SANDBOX:
        state = Path(settings.sandbox_state_path).resolve()
        return (
            f"sandbox: the built-in SES v2 emulator on http://{SANDBOX_HOST}:"
            f"{settings.sandbox_port}, its state in {state}"
        )
    endpoint = settings.ses_endpoint_url or "Amazon SES"
    return f"aws: {endpoint}, region {settings.aws_region}"


def _servers(nameservers: list[tuple[str, int]]) -> str:
    if not nameservers:
        return "the system resolver"
    return ", ".join(f"{_url_host(host)}:{port}" for host, port in nameservers)


def _dns(settings: Settings) -> str:
    # DNS_CHECK: the zones' own servers (found through the resolver), or the resolver alone.
    servers = _servers(settings.dns_nameservers)
    if str(settings.dns_check) == "resolver":
        return f"resolver: {servers}"
    port = settings.dns_authoritative_port
    return f"authoritative: each zone's own name servers (port {port}), found through {servers}"


def where_everything_is(
    settings: Settings, *, host: str, port: int, worker: bool
) -> dict[str, str]:
    """API and console URLs, database, SES mode, DNS checks and worker, by name."""
    base = f"http://{_url_host(host)}:{port}"
    return {
        "API": f"{base}/v1/{{workspace_id}}/... (reference: {base}/docs)",
        "console": f"{base}/console",
        "database": database_location(settings.database_url),
        "SES": _ses(settings),
        "DNS": _dns(settings),
        "worker": "in the API process" if worker else "off (--no-worker)",
    }


def announce(settings: Settings, *, host: str, port: int, worker: bool) -> None:
    """Say once where everything is: plain lines, or one JSON log line with LOG_FORMAT=json."""
    where = where_everything_is(settings, host=host, port=port, worker=worker)
    if settings.log_format is LogFormat.JSON:
        fields = {name.lower(): value for name, value in where.items()}
        get_logger(__name__).info("where everything is", version=__version__, **fields)
        return
    lines = [f"email-channels {__version__}"]
    lines += [f"  {name:<9} {value}" for name, value in where.items()]
    print("\n".join(lines), file=sys.stderr, flush=True)


def port_in_use(host: str, port: int) -> bool:
    """Whether `host:port` is taken: a bind as the server will do it (SO_REUSEADDR) fails."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def refusal_to_start(settings: Settings, *, host: str, port: int) -> str | None:
    """One line naming the setting to change when a port `serve` needs is taken; else None."""
    if port_in_use(host, port):
        return (
            f"cannot serve: port {port} on {host} is already in use; "
            "choose another with --port (or stop the process using it)"
        )
    if settings.ses_mode is SesMode.SANDBOX and port_in_use(SANDBOX_HOST, settings.sandbox_port):
        return (
            f"cannot start the built-in SES sandbox: port {settings.sandbox_port} on "
            f"{SANDBOX_HOST} is already in use; choose another with "
            "EMAIL_CHANNELS_SANDBOX_PORT (or stop the process using it)"
        )
    return None
