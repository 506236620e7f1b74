"""Logging through structlog: one handler renders every line, ours and the libraries' alike.

Our own code logs with structlog (`get_logger`); uvicorn, Alembic, botocore and `warnings`
log through the standard library. Both meet in one `ProcessorFormatter` on the root logger,
so with `LOG_FORMAT=json` every line of the process is one JSON object, and every line written
while a request runs carries the request id bound in the context.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from email_channels.config import LogFormat

# Loggers that configure their own handlers; their lines must go through ours instead.
_LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi", "alembic")


def _drop_color_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # uvicorn's terminal-coloured copy of its message: noise in a log pipeline.
    event_dict.pop("color_message", None)
    return event_dict


def _add_process_id(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # Which worker wrote a line, when `serve --workers N` runs several.
    event_dict.setdefault("pid", os.getpid())
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_process_id,
    ]


def configure_structlog() -> None:
    """Send structlog's events to the standard library's loggers (idempotent)."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def ensure_structlog() -> None:
    """Route structlog to the standard library unless a caller configured it already."""
    if not structlog.is_configured():
        configure_structlog()


def _formatter(log_format: LogFormat) -> logging.Formatter:
    renderer: Processor
    if log_format is LogFormat.JSON:
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=False,
            # Plain: rich's formatter would also print every frame's local variables.
            exception_formatter=structlog.dev.plain_traceback,
        )
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if log_format is LogFormat.JSON:
        # A traceback becomes a string field of the same object, never lines of its own.
        final.append(structlog.processors.format_exc_info)
    final.append(renderer)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            *_shared_processors(),
            structlog.stdlib.ExtraAdder(),
            _drop_color_message,
        ],
        processors=final,
    )


def configure_logging(log_format: LogFormat, *, level: int = logging.INFO) -> None:
    """Make every log line of this process go through structlog, to standard error."""
    configure_structlog()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_formatter(log_format))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in _LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers = []
        library.propagate = True
    # The access line is ours (with the route template and the request id); never uvicorn's.
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    # Alembic announces each of its plugins at INFO on every start; its migrations stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # httpx writes each webhook request's full URL at INFO: a receiver's URL often carries its
    # own token in the query, and the address the guard resolved. Our delivery line suffices.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.captureWarnings(True)
    # What no processor here renders, the standard library need not gather for every record:
    # the caller's frame (a walk up the stack per line), the thread and the process names.
    # These are the switches of the logging HOWTO's "Optimization" section; our own `pid`
    # field comes from `_add_process_id`.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger named like a standard library one."""
    return structlog.stdlib.get_logger(name)
