"""`email-channels worker`: the worker alone, until SIGTERM (or Ctrl+C)."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack

from email_channels.config import Settings
from email_channels.db.engine import Database
from email_channels.observability.logs import configure_logging

logger = logging.getLogger(__name__)


async def run_worker(settings: Settings, database: Database) -> None:
    """Run every job until a signal; the piece of work in hand finishes first."""
    from email_channels.app import build_ses_setup_service
    from email_channels.worker.build import build_worker

    configure_logging(settings.log_format)
    async with AsyncExitStack() as stack:
        service = await build_ses_setup_service(
            settings, database, stack, join_running_sandbox=True
        )
        worker = await build_worker(
            settings, database=database, service=service, ses=service.ses, stack=stack
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        logger.info("worker started")
        await worker.run()
        logger.info("worker stopped")
