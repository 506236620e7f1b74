"""Templates, static files and the headers every console answer carries."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from email_channels.console.flash import Flash, browser_secret, forget_flash, read_flash, set_flash
from email_channels.console.session import (
    CONSOLE_PATH,
    SignInRequired,
    clear_session_cookie,
    set_sign_in_cookie,
    sign_in_token,
)
from email_channels.errors import AppError

if TYPE_CHECKING:
    import jinja2

STATIC_PATH = f"{CONSOLE_PATH}/static"

# Scripts and styles only from our own static files: an injected <script> or style="" in a
# page (say, from a TXT record someone published) does not run.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # Pages show a workspace's data to whoever holds the key: keep them out of shared caches.
    "Cache-Control": "no-store",
}


@cache
def static_url(name: str) -> str:
    """The URL of a static file, with a digest of its content so that browsers never mix."""
    data = resources.files("email_channels.console").joinpath("static", name).read_bytes()
    return f"{STATIC_PATH}/{name}?v={hashlib.sha256(data).hexdigest()[:12]}"


def when(value: datetime | str | None) -> str:
    """A time as people read it: UTC, to the minute."""
    if value is None:
        return "never"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(value: datetime | str | None) -> str:
    """A time for a `<time datetime>` attribute."""
    if value is None:
        return ""
    return value if isinstance(value, str) else value.astimezone(UTC).isoformat()


def breakable(value: str) -> Markup:
    """A DNS name or value, escaped, that may wrap after its dots rather than mid-label."""
    return Markup(".<wbr>").join(escape(part) for part in value.split("."))


@cache
def environment() -> jinja2.Environment:
    """The template environment; every value is HTML-escaped unless a template says otherwise.

    jinja2 is imported on the first page, not with the app: an API process that serves no
    console page does not carry it (1.5 MB of Python objects).
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("email_channels.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    env.globals["console"] = CONSOLE_PATH
    env.filters["when"] = when
    env.filters["iso"] = iso
    env.filters["breakable"] = breakable
    env.filters["duration"] = duration
    return env


def duration(seconds: int) -> str:
    """Seconds as a person reads them: "45 seconds", "5 minutes", "3 hours"."""
    if seconds >= 7200 and seconds % 3600 == 0:
        return f"{seconds // 3600} hours"
    if seconds >= 120:
        return f"{round(seconds / 60)} minutes"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """A page (or partial) with the console's security headers; a page shows its flash once."""
    page = request.method == "GET"
    values = {
        "session": getattr(request.state, "console_session", None),
        "flash": read_flash(request) if page else Flash(),
        **(context or {}),
    }
    html = environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if page:
        forget_flash(response, request)
    return response


def see_other(
    request: Request, path: str, *, flash: Flash | None = None, secret: str | None = None
) -> Response:
    """Post/Redirect/Get: a 303 to the page at `path`, which shows `flash` once."""
    response = with_security_headers(RedirectResponse(path, status_code=303))
    key = secret or browser_secret(request)
    if flash is not None and key:
        set_flash(response, request, replace(flash, path=path.split("?", 1)[0]), secret=key)
    return response


def with_security_headers(response: Response) -> Response:
    """Add the console's headers to a response built elsewhere (a redirect, a download)."""
    response.headers.update(SECURITY_HEADERS)
    return response


def sign_in_page(
    request: Request,
    *,
    error: str | None = None,
    notice: str | None = None,
    next_path: str = "",
    status: int = 200,
) -> HTMLResponse:
    """The sign-in form, with a fresh double-submit token when the browser has none."""
    token = sign_in_token(request)
    flash = read_flash(request) if request.method == "GET" else Flash()
    context = {
        "error": error or flash.error,
        "notice": notice if error is None and flash.error is None else None,
        "next_path": next_path,
        "sign_in_token": token,
    }
    response = render(request, "sign_in.html", context, status=status)
    set_sign_in_cookie(response, request, token)
    return response


def error_page(request: Request, error: AppError) -> HTMLResponse:
    """An error the person can read, in a role=alert, with the page's usual frame."""
    return render(request, "error.html", {"error": error}, status=error.status)


def _sign_in_instead(request: Request, error: SignInRequired) -> HTMLResponse:
    """The sign-in form in place of a page that needs a key; come back here afterwards."""
    request.state.console_session = None
    at_home = request.url.path == CONSOLE_PATH and not error.rejected
    page = sign_in_page(
        request,
        error=error.detail if error.rejected else None,
        notice=None if at_home or error.rejected else error.detail,
        next_path=request.url.path if request.method == "GET" else "",
        status=200 if at_home else error.status,
    )
    if error.rejected:
        clear_session_cookie(page, request)
    return page


class PageNotFound(AppError):
    status = 404
    title = "Page not found"


Handler = Callable[[Request], Coroutine[Any, Any, Response]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
FRAGMENT_HEADER = "X-Console-Fragment"  # sent by console.js: answer only a partial
_FORM_PAGE = "console_form_page"


def form_page(page: str) -> Callable[[Endpoint], Endpoint]:
    """Mark a POST endpoint with the GET page it returns to, a template of its path parameters.

    Whatever stops the form (no session, a stale CSRF token, a refusal) is then a 303 to that
    page with the message in a flash, like its success: no answer to a POST is ever a page.
    """

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _FORM_PAGE, page)
        return endpoint

    return mark


def _back_to(request: Request, page: str | None) -> str | None:
    """The page a form returns to, or None for a request that wants a page or a partial."""
    if page is None or request.method != "POST" or FRAGMENT_HEADER in request.headers:
        return None
    try:
        return page.format(console=CONSOLE_PATH, **request.path_params)
    except (KeyError, IndexError):
        return CONSOLE_PATH


class ConsoleRoute(APIRoute):
    """A route whose errors are pages for people, not problem+json for programs."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        page = getattr(self.endpoint, _FORM_PAGE, None)

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as error:
                back = _back_to(request, page)
                if back is not None:  # the page asks for a key, then comes back here
                    return see_other(request, back)
                return _sign_in_instead(request, error)
            except AppError as error:
                back = _back_to(request, page)
                if back is not None:
                    return see_other(request, back, flash=Flash(error=error.detail))
                return error_page(request, error)
            except RequestValidationError:
                # Only the path can be malformed here (forms are read by hand): no such page.
                missing = PageNotFound("There is no such page in the console.")
                if request.method == "POST" and FRAGMENT_HEADER not in request.headers:
                    return see_other(request, CONSOLE_PATH, flash=Flash(error=missing.detail))
                return error_page(request, missing)

        return console_handler
