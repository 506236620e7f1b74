"""Running the emulator: inside an event loop that is already running, or on its own."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import socket
from collections.abc import Generator, Sequence

import uvicorn

from email_channels.memory import freeze_startup_objects
from email_channels.sandbox.account import Quotas
from email_channels.sandbox.app import create_sandbox_app
from email_channels.sandbox.runtime import SandboxRuntime

# Hung requests are released on shutdown, so this only bounds a stuck connection.
_GRACEFUL_SHUTDOWN_SECONDS = 5


# Set in the embedded emulator's task: uvicorn's lines about its own server ("Started server
# process", "Shutting down", ...) would repeat the host application's, word for word.
_EMBEDDED = contextvars.ContextVar("embedded_sandbox", default=False)


class _QuietWhenEmbedded(logging.Filter):
    """Drop uvicorn's informational lines written by the embedded emulator's task."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or not _EMBEDDED.get()


def _quiet_embedded_server_lines() -> None:
    server_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietWhenEmbedded) for f in server_logger.filters):
        server_logger.addFilter(_QuietWhenEmbedded())


class SandboxStartupError(RuntimeError):
    """The emulator could not start, typically because its port is taken."""


class _SandboxServer(uvicorn.Server):
    """uvicorn that reports readiness, releases hung requests on shutdown, and may leave the
    process's signal handlers alone (when embedded, they belong to the host application)."""

    def __init__(
        self, config: uvicorn.Config, *, runtime: SandboxRuntime, handle_signals: bool
    ) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()
        self._runtime = runtime
        self._handle_signals = handle_signals

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._runtime.begin_shutdown()
        await super().shutdown(sockets=sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if self._handle_signals:
            with super().capture_signals():
                yield
        else:
            yield


class EmbeddedSandbox:
    """The emulator as a task of the running event loop, e.g. beside the main app."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        state_path: str | None,
        region: str,
        account_id: str = "000000000000",
        quotas: Quotas | None = None,
        dns_nameservers: Sequence[tuple[str, int]] | None = None,
    ) -> None:
        self.host = host
        self._dns_nameservers = dns_nameservers
        self.port = port  # the bound port once started, also when 0 asked for a free one
        self._state_path = state_path
        self._region = region
        self._account_id = account_id
        self._quotas = quotas
        self._server: _SandboxServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def endpoint_url(self) -> str:
        """The URL SES clients use as `endpoint_url`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Listen and serve; returns once connections are accepted."""
        if self._task is not None:
            raise RuntimeError("the sandbox is already running")
        listener = bind_listener(self.host, self.port)
        self.port = listener.getsockname()[1]
        try:
            app = create_sandbox_app(
                state_path=self._state_path,
                region=self._region,
                account_id=self._account_id,
                quotas=self._quotas,
                dns_nameservers=self._dns_nameservers,
            )
        except BaseException:
            listener.close()
            raise
        # log_config=None: the host application owns logging configuration.
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
        )
        server = _SandboxServer(config, runtime=app.state.sandbox, handle_signals=False)
        _quiet_embedded_server_lines()
        context = contextvars.copy_context()
        context.run(_EMBEDDED.set, True)
        task = asyncio.create_task(
            server.serve(sockets=[listener]), name="ses-sandbox", context=context
        )
        ready = asyncio.create_task(server.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not server.ready.is_set():
            ready.cancel()
            listener.close()
            raise SandboxStartupError(f"the sandbox on {self.endpoint_url} did not start") from (
                task.exception() if not task.cancelled() else None
            )
        self._server, self._task = server, task

    async def stop(self) -> None:
        """Stop serving; hung requests get an error answer, the state is already saved."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await self._task
        finally:
            self._server = self._task = None


def serve_sandbox(
    *,
    host: str,
    port: int,
    state_path: str | None,
    region: str,
    quotas: Quotas | None = None,
    dns_nameservers: Sequence[tuple[str, int]] = (),
) -> None:
    """Serve the emulator until interrupted (the `email-channels sandbox serve` command)."""
    listener = bind_listener(host, port)
    app = create_sandbox_app(
        state_path=state_path, region=region, quotas=quotas, dns_nameservers=dns_nameservers
    )
    # The state loaded at start lives as long as the process: out of the garbage collector's
    # reach, a full collection no longer walks every record (55 ms with 10,000 setups, a
    # pause of every request in flight; bench/README.md, S6). Records made later are
    # collected as before. (Embedded, the host application's start-up does the same.)
    freeze_startup_objects()
    config = uvicorn.Config(
        app, lifespan="off", timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS
    )
    server = _SandboxServer(config, runtime=app.state.sandbox, handle_signals=True)
    # uvicorn announces its address only for sockets it binds itself.
    address = listener.getsockname()
    logging.getLogger("uvicorn.error").info(
        "SES v2 sandbox listening on http://%s:%d (state: %s)",
        address[0],
        address[1],
        state_path or "in memory",
    )
    # uvicorn re-raises the Ctrl+C it handled gracefully; like `uvicorn.run`, end quietly.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[listener])


def bind_listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port (0 picks a free port), or SandboxStartupError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only when proto says TCP;
    # without it every response pays a 40 ms delayed-ACK stall.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise SandboxStartupError(
            f"the SES sandbox cannot listen on {host}:{port}: {exc.strerror or exc}"
            " (is another process using that port?)"
        ) from exc
    return listener
