"""`email-channels worker`: the worker alone, until SIGTERM (or Ctrl+C)."""

from __future__ import annotations

import asyncio
import logging
import signal

from email_channels.worker.loop import Worker

logger = logging.getLogger(__name__)


async def run_until_signalled(worker: Worker) -> None:
    """Run every job until a signal; the piece of work in hand finishes first."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.stop)
    logger.info("worker started")
    await worker.run()
    logger.info("worker stopped")
