"""email-channels: SES setups for workspaces, with live DNS verification."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from email_channels.auth.permissions import Permission
from email_channels.auth.scope import WORKSPACE_ID_RULE, is_workspace_id
from email_channels.config import Settings

if TYPE_CHECKING:
    from email_channels.db.engine import Database
    from email_channels.ses_setups.reconcile import Reconciled

# The web stack and Alembic are imported by the commands that use them: `--help` and the
# key commands stay quick.

T = TypeVar("T")

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help=__doc__,
    pretty_exceptions_enable=False,
    context_settings=HELP_OPTIONS,
)
keys_app = typer.Typer(no_args_is_help=True, help="Manage API keys.", context_settings=HELP_OPTIONS)
sandbox_app = typer.Typer(
    no_args_is_help=True, help="The built-in SES v2 emulator.", context_settings=HELP_OPTIONS
)
app.add_typer(keys_app, name="keys")
app.add_typer(sandbox_app, name="sandbox")

NAME_MAX_LENGTH = 128  # the api_keys.name column
SHUTDOWN_GRACE_SECONDS = 30  # on SIGTERM, how long requests in flight get to finish

Host = Annotated[str, typer.Option(help="Address to listen on.")]


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on uvloop, the loop `serve` runs on, where it is installed; else asyncio's.

    The worker is mostly socket writes and wake-ups (DNS queries, database statements,
    webhook POSTs): on asyncio's own loop those were a fifth of its CPU in S8
    (bench/README.md).
    """
    try:
        import uvloop
    except ImportError:  # not on this platform (uvicorn[standard] installs it on Linux)
        return asyncio.run(main)
    return uvloop.run(main)


def _with_database(work: Callable[[Database], Awaitable[T]], *, migrated: bool = True) -> T:
    """Run `work` on the database of the current settings (migrated first), then close it."""
    from sqlalchemy.exc import SQLAlchemyError

    from email_channels.bootstrap import build_database
    from email_channels.db.migrate import migrate

    async def run() -> T:
        database = build_database(Settings())
        try:
            if migrated:
                await migrate(database.engine)
            return await work(database)
        finally:
            await database.dispose()

    try:
        return run_loop(run())
    except (SQLAlchemyError, OSError) as error:
        typer.echo(f"database error: {error}", err=True)
        raise typer.Exit(1) from error


def _migrate() -> None:
    from email_channels.db.migrate import migrate

    _with_database(lambda database: migrate(database.engine), migrated=False)


def _migrate_before_serving() -> None:
    """`_migrate` in a process of its own; exit as it did when it failed.

    Alembic, its environment and the migration scripts stay in the memory of the process that
    ran them (about 11 MB, bench/README.md, S5): the serving process need not carry them.
    """
    import subprocess
    import sys

    child = "from email_channels.cli import _migration_process; _migration_process()"
    status = subprocess.run([sys.executable, "-c", child], check=False).returncode
    if status != 0:
        raise typer.Exit(status)


def _migration_process() -> None:
    """The body of `_migrate_before_serving`'s process: serve's logging, then `_migrate`."""
    import sys

    from email_channels.observability.logs import configure_logging

    configure_logging(Settings().log_format)
    try:
        _migrate()
    except typer.Exit as failed:
        sys.exit(failed.exit_code)


@app.command()
def migrate() -> None:
    """Apply the database migrations."""
    _migrate()
    typer.echo("database is up to date", err=True)


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="API processes on the port (more than 1 needs PostgreSQL).")
    ] = 1,
    no_worker: Annotated[
        bool,
        typer.Option("--no-worker", help="Run no background worker in the API process(es)."),
    ] = False,
) -> None:
    """Migrate the database, then serve the API (with the background worker, by default)."""
    import os

    from email_channels.observability.serving import without_unused_packages

    without_unused_packages()  # before anything imports structlog or uvicorn

    import uvicorn

    if no_worker:
        # The API processes read their settings from the environment they inherit.
        os.environ["EMAIL_CHANNELS_SERVE_WORKER"] = "false"

    from email_channels.observability.logs import configure_logging
    from email_channels.observability.serving import metrics_directory, refusal_to_serve
    from email_channels.observability.startup import announce, refusal_to_start

    settings = Settings()
    refusal = refusal_to_serve(settings, workers=workers) or refusal_to_start(
        settings, host=host, port=port
    )
    if refusal:
        typer.echo(refusal, err=True)
        raise typer.Exit(2)
    configure_logging(settings.log_format)
    with metrics_directory(workers=workers):
        _migrate_before_serving()
        announce(settings, host=host, port=port, worker=not no_worker)
        uvicorn.run(
            "email_channels.asgi:serving_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=False,
            ws="none",  # an HTTP API: no WebSocket implementation loaded (2.3 MB per process)
            log_config=None,  # ours, set up in each process by the factory
            access_log=False,  # ours carries the route template and the request id
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )


@keys_app.command("create")
def keys_create(
    workspace: Annotated[str, typer.Option(help="The workspace the key belongs to.")],
    permission: Annotated[list[Permission], typer.Option(help="A permission; repeat for more.")],
    name: Annotated[str, typer.Option(help="A label to recognise the key by.")] = "",
) -> None:
    """Create an API key; print it (only here, only once)."""
    if not is_workspace_id(workspace):
        raise typer.BadParameter(WORKSPACE_ID_RULE, param_hint="--workspace")
    from email_channels.auth import service as keys

    if len(name) > NAME_MAX_LENGTH or not name.isprintable():
        raise typer.BadParameter(
            f"at most {NAME_MAX_LENGTH} printable characters (no tabs or line breaks)",
            param_hint="--name",
        )
    _, secret = _with_database(
        lambda database: keys.create_key(
            database, workspace_id=workspace, permissions=permission, name=name
        )
    )
    typer.echo(secret)


@keys_app.command("list")
def keys_list(workspace: Annotated[str, typer.Option(help="The workspace.")]) -> None:
    """List a workspace's keys: id, name, permissions, active or revoked."""
    from email_channels.auth import service as keys

    for key in _with_database(lambda database: keys.list_keys(database, workspace_id=workspace)):
        state = "revoked" if key.revoked_at else "active"
        typer.echo(f"{key.id}\t{key.name}\t{key.permissions}\t{state}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The id from `keys list`.")]) -> None:
    """Revoke a key: it stops working at once."""
    from email_channels.auth import service as keys

    try:
        parsed = uuid.UUID(key_id)
    except ValueError:
        typer.echo(f"no API key with id {key_id}", err=True)
        raise typer.Exit(1) from None
    if not _with_database(lambda database: keys.revoke_key(database, parsed)):
        typer.echo(f"no API key with id {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}", err=True)


@app.command()
def reconcile(
    older_than: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Grace period in seconds, for stuck setups and untracked SES resources alike "
            "(default: 6 x UPSTREAM_TIMEOUT, at least 300). Work whose owner is alive is "
            "never taken, whatever this says.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only print what would be done; change nothing.")
    ] = False,
) -> None:
    """Roll back creates and finish deletes that a crash or an SES outage interrupted; delete
    this deployment's SES resources that no setup knows; drop expired idempotency keys."""
    from email_channels.bootstrap import build_ses_setup_service
    from email_channels.idempotency.service import Idempotency
    from email_channels.observability.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_format)  # each deletion is a warning line on stderr
    seconds = older_than if older_than is not None else max(300.0, 6 * settings.upstream_timeout)

    async def run(database: Database) -> Reconciled:
        async with AsyncExitStack() as stack:
            service = await build_ses_setup_service(
                settings, database, stack, join_running_sandbox=True
            )
            report = await service.reconciler.run(
                older_than=timedelta(seconds=seconds), dry_run=dry_run
            )
        if not dry_run:
            purged = await Idempotency(database).purge_expired()
            typer.echo(f"removed {purged} expired idempotency keys", err=True)
        return report

    report = _with_database(run)
    would = "would " if dry_run else ""
    for label, ids in (
        ("roll back" if dry_run else "rolled back", report.rolled_back),
        ("delete" if dry_run else "deleted", report.deleted),
        ("failed", report.failed),
    ):
        for setup_id in ids:
            typer.echo(f"{would if label != 'failed' else ''}{label}\t{setup_id}")
    for resource in report.swept:
        typer.echo(f"{would}{'sweep' if dry_run else 'swept'}\t{resource}")
    for resource in report.sweep_failed:
        typer.echo(f"failed\t{resource}")
    found = (report.rolled_back, report.deleted, report.failed, report.swept, report.sweep_failed)
    if not any(found):
        # Said on standard error: standard output stays one line per item for scripts.
        typer.echo(
            "nothing to do: no interrupted create or delete, no untracked SES resource",
            err=True,
        )
    if not report.settled:
        raise typer.Exit(1)


@app.command()
def worker() -> None:
    """Run the background work (re-checks, SES status, webhooks, expiry) until SIGTERM."""
    from email_channels.bootstrap import open_worker
    from email_channels.observability.logs import configure_logging
    from email_channels.worker.command import run_until_signalled
    from email_channels.worker.priority import lower_cpu_priority

    settings = Settings()
    priority = lower_cpu_priority(settings.worker_cpu_priority)  # before any thread starts

    async def run(database: Database) -> None:
        configure_logging(settings.log_format)
        logging.getLogger("email_channels.worker").info("worker: %s", priority)
        async with AsyncExitStack() as stack:
            await run_until_signalled(await open_worker(settings, database, stack))

    _with_database(run)


@sandbox_app.command("serve")
def sandbox_serve(
    host: Host = "127.0.0.1",
    port: int = 4566,
    dns_nameservers: Annotated[
        str | None,
        typer.Option(
            help="HOST:PORT[,...] where GetEmailIdentity looks up DKIM and MAIL FROM records "
            "(default: SANDBOX_DNS_NAMESERVERS, else the system resolver)."
        ),
    ] = None,
) -> None:
    """Run the SES v2 emulator alone.

    Its account quotas, as SES's: SANDBOX_MAX_TENANTS, SANDBOX_MAX_EMAIL_IDENTITIES (10,000).
    """
    from email_channels.config import parse_nameservers
    from email_channels.sandbox.account import Quotas
    from email_channels.sandbox.server import SandboxStartupError, serve_sandbox

    settings = Settings()
    try:
        nameservers = (
            parse_nameservers(dns_nameservers)
            if dns_nameservers is not None
            else settings.sandbox_dns_nameservers
        )
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--dns-nameservers") from error
    try:
        serve_sandbox(
            host=host,
            port=port,
            state_path=settings.sandbox_state_path,
            region=settings.aws_region,
            quotas=Quotas(
                max_tenants=settings.sandbox_max_tenants,
                max_email_identities=settings.sandbox_max_email_identities,
            ),
            dns_nameservers=nameservers,
        )
    except SandboxStartupError as error:
        typer.echo(f"cannot start the SES sandbox: {error}", err=True)
        raise typer.Exit(1) from error


def main() -> None:
    app()
