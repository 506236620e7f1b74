"""Request bodies over 64 KiB are a 413, as a pure ASGI middleware.

Pure ASGI rather than `BaseHTTPMiddleware`: it must see the body as it arrives, chunk by chunk,
and answer before the application (and so the API key lookup) ever runs on a body too large.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from email_channels.problems import problem_response

MAX_BODY_BYTES = 64 * 1024


class BodyTooLarge(Exception):
    """Raised into the application when a body without a large Content-Length passes the limit."""


class BodyLimitMiddleware:
    """Answer 413 problem+json to a body over `limit` bytes, buffering no more than the limit."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse at once on a large Content-Length; else count the body as it is received."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self.refuse(scope, receive, send)  # not a byte of the body is read
            return
        await self._counted(scope, receive, send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the 413 problem; the application never sees the rest of the body."""
        # No "Connection: close": closing a socket with unread data makes the kernel reset it,
        # and a client still sending its body then loses the 413 it was answered. Kept open,
        # the server (uvicorn, with h11 or httptools) discards the rest of a finished
        # request's body as it arrives, so nothing is buffered and the client reads the 413.
        response = problem_response(
            status=413,
            title="Content too large",
            detail=f"The request body is larger than the limit of {self.limit} bytes.",
        )
        await response(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        too_large = response_started = False

        async def counted_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    too_large = True
                    raise BodyTooLarge(f"request body over {self.limit} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if too_large and not response_started:
                return  # the application's answer to the failed read: the 413 replaces it
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            # The application may turn BodyTooLarge into an error of its own (FastAPI makes
            # any failure to read a body a 400): whatever it raised, the cause was the size.
            if not too_large or response_started:
                raise
        if too_large and not response_started:
            await self.refuse(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before the app sees it
    return None
