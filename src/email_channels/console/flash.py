"""What a POST has to say to the page it redirects to (Post/Redirect/Get), in a signed cookie.

Every form of the console answers 303 to a GET page, so a reload never submits it again. What
the POST found (a refusal, a notice, the values a person typed with their messages) travels in
a short-lived HttpOnly cookie that the next page of the same path shows once and deletes.

The cookie is signed with an HMAC keyed with the browser's own secret: the signed-in API key,
or before sign-in the sign-in form's random token. Another site, or a neighbour that can set
cookies for this host, cannot make the console show words it did not write.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from email_channels.console.session import (
    CONSOLE_PATH,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    is_secure,
)

FLASH_COOKIE = "email_channels_console_flash"
FLASH_SECONDS = 120  # long enough for a slow redirect, short enough to never meet a later page
MAX_TYPED = 512  # characters of a typed value kept: past every field's limit, within a cookie
_PURPOSE = b"email-channels console flash v1"


@dataclass(frozen=True, slots=True)
class Flash:
    """What the page at `path` shows once: a notice, an error, a form as it was typed."""

    path: str = ""
    notice: str | None = None
    error: str | None = None
    field_errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    action: str = ""  # the form it came from, e.g. "delete-setup"


NO_FLASH = Flash()


def _signing_key(secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8", "surrogatepass"), _PURPOSE, hashlib.sha256).digest()


def _signature(secret: str, payload: str) -> str:
    digest = hmac.new(_signing_key(secret), payload.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def browser_secret(request: Request) -> str | None:
    """The secret this browser signs flashes with: its API key, else its sign-in token."""
    session = getattr(request.state, "console_session", None)
    secret = getattr(session, "secret", None)
    if isinstance(secret, str):
        return secret
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(SIGN_IN_COOKIE)


def set_flash(response: Response, request: Request, flash: Flash, *, secret: str) -> None:
    """Attach `flash` to a redirect, for the next page at `flash.path` only."""
    values = {name: value[:MAX_TYPED] for name, value in flash.values.items()}
    document: dict[str, Any] = {**asdict(flash), "values": values, "at": int(time.time())}
    payload = base64.urlsafe_b64encode(orjson.dumps(document)).decode("ascii").rstrip("=")
    response.set_cookie(
        FLASH_COOKIE,
        f"{payload}.{_signature(secret, payload)}",
        max_age=FLASH_SECONDS,
        path=CONSOLE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_secure(request),
    )


def read_flash(request: Request) -> Flash:
    """The flash this browser brought for this page, or `NO_FLASH` (unsigned, stale, elsewhere)."""
    cached = getattr(request.state, "console_flash", None)
    if isinstance(cached, Flash):
        return cached
    flash = _decode(request)
    request.state.console_flash = flash
    return flash


def _decode(request: Request) -> Flash:
    cookie, secret = request.cookies.get(FLASH_COOKIE), browser_secret(request)
    if not cookie or not secret or "." not in cookie:
        return NO_FLASH
    payload, signature = cookie.rsplit(".", 1)
    if not hmac.compare_digest(signature, _signature(secret, payload)):
        return NO_FLASH
    try:
        document = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        at = document.pop("at")
        flash = Flash(**document)
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
        return NO_FLASH
    if flash.path != request.url.path or not 0 <= time.time() - at <= FLASH_SECONDS:
        return NO_FLASH
    return flash


def forget_flash(response: Response, request: Request) -> None:
    """Delete the flash cookie once a page was rendered: shown once, never on a reload."""
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(
            FLASH_COOKIE,
            path=CONSOLE_PATH,
            httponly=True,
            samesite="strict",
            secure=is_secure(request),
        )
