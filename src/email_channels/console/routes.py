"""The console's pages: each calls the same service objects as the API, never the API."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from email_channels.auth.permissions import Permission
from email_channels.auth.rate_limit import TooManyRequests
from email_channels.console.forms import CreateForm, form_values, safe_next_path
from email_channels.console.rendering import (
    ConsoleRoute,
    render,
    sign_in_page,
    with_security_headers,
)
from email_channels.console.session import (
    CONSOLE_PATH,
    CSRF_FIELD,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    ConsoleSession,
    CsrfRefused,
    clear_session_cookie,
    csrf_token_for,
    set_session_cookie,
    sign_in,
    signed_in,
    tokens_match,
)
from email_channels.errors import (
    AppError,
    Conflict,
    ServiceUnavailable,
    Unauthorized,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from email_channels.ses_setups.service import SesSetupService
from email_channels.ses_setups.zone import ZoneFormat, zone_filename
from email_channels.ses_setups.zone import render as render_zone

router = APIRouter(prefix=CONSOLE_PATH, route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[ConsoleSession, Depends(signed_in)]
PAGE_SIZE = 20
FRAGMENT_HEADER = "X-Console-Fragment"  # sent by console.js: answer only the records partial
NOTICES = {"deleted": "The SES setup was deleted."}


def _setups(request: Request) -> SesSetupService:
    service = request.app.state.ses_setups
    assert isinstance(service, SesSetupService)
    return service


def _see_other(path: str) -> Response:
    """Post/redirect/get: a reload never submits a form twice."""
    return with_security_headers(RedirectResponse(path, status_code=303))


def _setup_path(setup_id: uuid.UUID | str) -> str:
    return f"{CONSOLE_PATH}/setups/{setup_id}"


@router.get("")
async def setups_page(
    request: Request,
    session: Session,
    continuation_token: Annotated[str | None, Query(max_length=512)] = None,
    notice: str | None = None,
) -> Response:
    """The list of the workspace's setups, newest first, a page at a time."""
    context: dict[str, Any] = {
        "items": [],
        "next_token": None,
        "paged": continuation_token is not None,
        "notice": NOTICES.get(notice or ""),
        "error": None,
        "may_create": session.may(Permission.CHANNEL_CREATE),
    }
    try:
        principal = session.require(Permission.CHANNEL_VIEW)
        page = await _setups(request).list_page(
            workspace_id=principal.workspace_id,
            limit=PAGE_SIZE,
            continuation_token=continuation_token,
        )
    except AppError as error:
        context["error"] = error.detail
        return render(request, "setups.html", context, status=error.status)
    context.update(items=page["items"], next_token=page["continuation_token"])
    return render(request, "setups.html", context)


@router.post("/sign-in")
async def sign_in_submit(request: Request) -> Response:
    """Check the typed key, then keep it in an HttpOnly cookie."""
    values = await form_values(request)
    next_path = safe_next_path(values.get("next"))
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not tokens_match(values.get(CSRF_FIELD), expected):
        refused = CsrfRefused("The sign-in form expired. Type the API key again.")
        return sign_in_page(request, error=refused.detail, next_path=next_path, status=403)
    secret = values.get("api_key", "").strip()
    if not secret:
        return sign_in_page(request, error="Enter an API key.", next_path=next_path, status=422)
    try:
        await sign_in(request, secret)
    except Unauthorized as error:
        return sign_in_page(request, error=error.detail, next_path=next_path, status=401)
    except TooManyRequests as error:
        return sign_in_page(request, error=error.detail, next_path=next_path, status=429)
    response = _see_other(next_path)
    set_session_cookie(response, request, secret)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """Forget the key; works even when the key was revoked meanwhile."""
    values = await form_values(request)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret and not tokens_match(values.get(CSRF_FIELD), csrf_token_for(secret)):
        raise CsrfRefused("This form did not come from this console session.")
    response = _see_other(CONSOLE_PATH)
    clear_session_cookie(response, request)
    return response


@router.get("/setups/new")
async def new_setup_page(request: Request, session: Session) -> Response:
    """The empty "New SES setup" form."""
    session.require(Permission.CHANNEL_CREATE)
    return render(request, "new_setup.html", {"form": CreateForm.empty()})


@router.post("/setups")
async def create_setup(request: Request, session: Session) -> Response:
    """Create through the service; the form again, as typed, with messages when it fails."""
    values = await form_values(request)
    session.check_csrf(values.get(CSRF_FIELD))
    principal = session.require(Permission.CHANNEL_CREATE)
    form = CreateForm.submitted(values)
    parsed = form.parse()
    if parsed is None:
        return render(request, "new_setup.html", {"form": form}, status=422)
    try:
        detail = await _setups(request).create(workspace_id=principal.workspace_id, request=parsed)
    except AppError as error:
        form.refused(error)
        return render(request, "new_setup.html", {"form": form}, status=error.status)
    return _see_other(_setup_path(detail["id"]))


async def _detail_page(
    request: Request,
    session: ConsoleSession,
    setup_id: uuid.UUID,
    *,
    confirm_delete: bool = False,
    delete_error: str | None = None,
    status: int = 200,
) -> Response:
    principal = session.require(Permission.CHANNEL_VIEW)
    setup = await _setups(request).get_stored(
        workspace_id=principal.workspace_id, setup_id=setup_id
    )
    may_delete = session.may(Permission.CHANNEL_DELETE)
    context = {
        "setup": setup,
        "may_delete": may_delete,
        "confirm_delete": confirm_delete and may_delete,
        "delete_error": delete_error,
    }
    return render(request, "setup.html", context, status=status)


@router.get("/setups/{setup_id}")
async def setup_page(
    request: Request, session: Session, setup_id: uuid.UUID, confirm: str | None = None
) -> Response:
    """A setup and its records as the last check left them (no DNS lookup until asked)."""
    return await _detail_page(request, session, setup_id, confirm_delete=confirm == "delete")


@router.post("/setups/{setup_id}/verify")
async def verify_setup(request: Request, session: Session, setup_id: uuid.UUID) -> Response:
    """Check the records in DNS now; the records partial for console.js, else the page."""
    values = await form_values(request)
    session.check_csrf(values.get(CSRF_FIELD))
    principal = session.require(Permission.CHANNEL_VIEW)
    setup = await _setups(request).get_checked(
        workspace_id=principal.workspace_id, setup_id=setup_id
    )
    if request.headers.get(FRAGMENT_HEADER) == "records":
        return render(request, "_records_table.html", {"setup": setup, "announce": True})
    return _see_other(_setup_path(setup_id))


@router.get("/setups/{setup_id}/zone")
async def download_zone(
    request: Request, session: Session, setup_id: uuid.UUID, format: ZoneFormat = ZoneFormat.BIND
) -> Response:
    """The zone-file fragment (or CSV) as a download."""
    principal = session.require(Permission.CHANNEL_VIEW)
    domain, records = await _setups(request).zone_records(
        workspace_id=principal.workspace_id, setup_id=setup_id
    )
    body, media_type = render_zone(records, zone_format=format)
    disposition = f'attachment; filename="{zone_filename(domain, format)}"'
    response = Response(body, media_type=media_type, headers={"Content-Disposition": disposition})
    return with_security_headers(response)


@router.post("/setups/{setup_id}/delete")
async def delete_setup(request: Request, session: Session, setup_id: uuid.UUID) -> Response:
    """Delete through the service; a refusal (a use case still uses it) is explained."""
    values = await form_values(request)
    session.check_csrf(values.get(CSRF_FIELD))
    principal = session.require(Permission.CHANNEL_DELETE)
    try:
        await _setups(request).delete(workspace_id=principal.workspace_id, setup_id=setup_id)
    except (Conflict, ServiceUnavailable, UpstreamUnavailable, UpstreamTimeout) as error:
        message = f"Not deleted: {error.detail}"
        return await _detail_page(
            request, session, setup_id, delete_error=message, status=error.status
        )
    return _see_other(f"{CONSOLE_PATH}?notice=deleted")
