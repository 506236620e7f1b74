"""Who is signed in to the console: the API key in an HttpOnly cookie, re-checked every request.

The cookie holds the key itself rather than a server-side session id: every process of a
deployment can then authenticate it with the same lookup the API does, and a revoked key
stops working at once. Page scripts never see it (HttpOnly), other sites never send it
(SameSite=Strict). The CSRF token of a signed-in page is an HMAC keyed with the key, so every
process derives the same token without a shared secret, and nobody without the key can.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from fastapi import Request
from starlette.responses import Response

from email_channels.auth.permissions import Permission
from email_channels.auth.rate_limit import enforce_rate_limit
from email_channels.auth.repository import KeyGrant
from email_channels.auth.service import Principal, authenticate, authorise
from email_channels.db.engine import Database
from email_channels.errors import AppError, Forbidden, Unauthorized
from email_channels.observability.middleware import identify_caller

CONSOLE_PATH = "/console"
SESSION_COOKIE = "email_channels_console"
SIGN_IN_COOKIE = "email_channels_console_sign_in"
CSRF_FIELD = "csrf_token"
_CSRF_PURPOSE = b"email-channels console CSRF token v1"


class SignInRequired(AppError):
    """No key, or one that no longer authenticates: show the sign-in form."""

    status = 401
    title = "Sign in"

    def __init__(self, detail: str, *, rejected: bool) -> None:
        super().__init__(detail)
        self.rejected = rejected  # a key was sent and refused (an error, not just a prompt)


class CsrfRefused(Forbidden):
    """A changing form without the token of this session."""


def csrf_token_for(secret: str) -> str:
    """The CSRF token of a signed-in key: HMAC-SHA256 keyed with the key."""
    digest = hmac.new(secret.encode("utf-8", "surrogatepass"), _CSRF_PURPOSE, hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def tokens_match(sent: object, expected: str) -> bool:
    """Constant-time comparison of a submitted token with the expected one."""
    return isinstance(sent, str) and bool(sent) and hmac.compare_digest(sent, expected)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in person: their key's grant, and the token their forms carry."""

    grant: KeyGrant
    csrf_token: str
    secret: str = field(repr=False)

    @property
    def workspace_id(self) -> str:
        return self.grant.workspace_id

    def may(self, permission: Permission) -> bool:
        """Whether the key carries `permission` (what it may not do is not offered)."""
        return permission.value in self.grant.permissions

    def require(self, permission: Permission) -> Principal:
        """The principal for a service call; 403 when the key lacks `permission`."""
        return authorise(self.grant, workspace_id=self.workspace_id, permission=permission)

    def check_csrf(self, sent: object) -> None:
        """Refuse (403) a changing request whose form lacks this session's token."""
        if not tokens_match(sent, self.csrf_token):
            raise CsrfRefused(
                "This form did not come from this console session. Reload the page and try again."
            )


def _database(request: Request) -> Database:
    database = request.app.state.database
    assert isinstance(database, Database)
    return database


async def signed_in(request: Request) -> ConsoleSession:
    """The session of the request's cookie, authenticated now; `SignInRequired` otherwise."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise SignInRequired("Sign in with an API key to continue.", rejected=False)
    try:
        grant = await authenticate(_database(request), secret=secret)
    except Unauthorized as error:
        raise SignInRequired(f"{error.detail} Sign in with another key.", rejected=True) from error
    await _count_request(request, grant)
    session = ConsoleSession(grant=grant, csrf_token=csrf_token_for(secret), secret=secret)
    request.state.console_session = session  # for the error pages, which show "Sign out"
    return session


async def _count_request(request: Request, grant: KeyGrant) -> None:
    """The console is the API: its requests name the key in the access line and count
    against the key's rate limit (429 over it), as the API's do."""
    identify_caller(request, grant.key_id, workspace_id=grant.workspace_id)
    await enforce_rate_limit(request, grant.key_id)


async def sign_in(request: Request, secret: str) -> KeyGrant:
    """Authenticate a key typed into the sign-in form (401 invalid, 429 over its limit)."""
    grant = await authenticate(_database(request), secret=secret.strip())
    await _count_request(request, grant)
    return grant


def is_secure(request: Request) -> bool:
    """Whether the browser reached us over HTTPS (a listed proxy's X-Forwarded-Proto counts)."""
    # https as the client sees it: behind a proxy listed in FORWARDED_ALLOW_IPS, its
    # X-Forwarded-Proto (applied to the scope by the proxy headers middleware).
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, secret: str) -> None:
    """Keep the key where page scripts cannot read it and other sites cannot send it."""
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        path=CONSOLE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_secure(request),
    )
    response.delete_cookie(SIGN_IN_COOKIE, path=CONSOLE_PATH)


def clear_session_cookie(response: Response, request: Request) -> None:
    """Forget the key in the browser."""
    response.delete_cookie(
        SESSION_COOKIE,
        path=CONSOLE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_secure(request),
    )


def sign_in_token(request: Request) -> str:
    """The double-submit token of the sign-in form: the cookie's, or a new one."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)


def set_sign_in_cookie(response: Response, request: Request, token: str) -> None:
    """The sign-in form's token, which only pages of this origin can pair with the cookie."""
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        path=CONSOLE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_secure(request),
    )
