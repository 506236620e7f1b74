"""The console's pages: each calls the same service objects as the API, never the API."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from email_channels.auth.permissions import Permission
from email_channels.auth.rate_limit import TooManyRequests
from email_channels.console.flash import Flash, read_flash
from email_channels.console.forms import CreateForm, form_values, safe_next_path
from email_channels.console.rendering import (
    FRAGMENT_HEADER,
    ConsoleRoute,
    form_page,
    render,
    see_other,
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
    set_sign_in_cookie,
    sign_in,
    sign_in_token,
    signed_in,
    tokens_match,
)
from email_channels.console.use_cases import (
    SETUP_PAGE,
    UseCaseSection,
    setup_path,
    use_case_section,
)
from email_channels.errors import AppError, Unauthorized
from email_channels.ses_setups.service import SesSetupService
from email_channels.ses_setups.zone import ZoneFormat, zone_filename
from email_channels.ses_setups.zone import render as render_zone

router = APIRouter(prefix=CONSOLE_PATH, route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[ConsoleSession, Depends(signed_in)]
PAGE_SIZE = 20
NEW_SETUP_PATH = f"{CONSOLE_PATH}/setups/new"


def _setups(request: Request) -> SesSetupService:
    service = request.app.state.ses_setups
    assert isinstance(service, SesSetupService)
    return service


@router.get("")
async def setups_page(
    request: Request,
    session: Session,
    continuation_token: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """The list of the workspace's setups, newest first, a page at a time."""
    context: dict[str, Any] = {
        "items": [],
        "next_token": None,
        "paged": continuation_token is not None,
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
        # A fresh form token signs the message, so the page after the redirect can show it.
        token = sign_in_token(request)
        refused = CsrfRefused("The sign-in form expired. Type the API key again.")
        response = see_other(request, next_path, flash=Flash(error=refused.detail), secret=token)
        set_sign_in_cookie(response, request, token)
        return response
    secret = values.get("api_key", "").strip()
    error = None if secret else "Enter an API key."
    if secret:
        try:
            await sign_in(request, secret)
        except Unauthorized as refused:
            error = refused.detail
        except TooManyRequests as refused:
            # Not a state change: the page says so where it stands, with the 429 status.
            return sign_in_page(request, error=refused.detail, next_path=next_path, status=429)
    if error is not None:
        return see_other(request, next_path, flash=Flash(error=error), secret=expected)
    response = see_other(request, next_path)
    set_session_cookie(response, request, secret)
    return response


@router.post("/sign-out")
@form_page("{console}")
async def sign_out(request: Request) -> Response:
    """Forget the key; works even when the key was revoked meanwhile."""
    values = await form_values(request)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret and not tokens_match(values.get(CSRF_FIELD), csrf_token_for(secret)):
        raise CsrfRefused("This form did not come from this console session.")
    response = see_other(request, CONSOLE_PATH)
    clear_session_cookie(response, request)
    return response


@router.get("/setups/new")
async def new_setup_page(request: Request, session: Session) -> Response:
    """The "New SES setup" form: empty, or as typed with the messages of the last try."""
    session.require(Permission.CHANNEL_CREATE)
    setups = _setups(request)
    offered = setups.zones.offered
    context = {
        "form": CreateForm.flashed(read_flash(request), delegation_offered=offered),
        "regions": setups.offered_regions,  # a choice only when more than one
        "delegation_offered": offered,
    }
    return render(request, "new_setup.html", context)


@router.post("/setups")
@form_page(NEW_SETUP_PATH)
async def create_setup(request: Request, session: Session) -> Response:
    """Create through the service; back to the form, as typed, with messages when it fails."""
    values = await form_values(request)
    session.check_csrf(values.get(CSRF_FIELD))
    principal = session.require(Permission.CHANNEL_CREATE)
    form = CreateForm.submitted(values)
    parsed = form.parse()
    if parsed is not None:
        try:
            detail = await _setups(request).create(
                workspace_id=principal.workspace_id, request=parsed
            )
        except AppError as error:
            form.refused(error)
        else:
            return see_other(request, setup_path(detail["id"]))
    return see_other(request, NEW_SETUP_PATH, flash=form.flash())


@router.get("/setups/{setup_id}")
async def setup_page(
    request: Request, session: Session, setup_id: uuid.UUID, confirm: str | None = None
) -> Response:
    """A setup, its records as the last check left them (no DNS lookup), its use cases."""
    principal = session.require(Permission.CHANNEL_VIEW)
    setup = await _setups(request).get_stored(
        workspace_id=principal.workspace_id, setup_id=setup_id
    )
    flash = read_flash(request)
    use_cases: UseCaseSection = await use_case_section(
        request, session, setup_id=setup_id, flash=flash
    )
    may_delete = session.may(Permission.CHANNEL_DELETE)
    context = {
        "setup": setup,
        "may_delete": may_delete,
        "confirm_delete": confirm == "delete" and may_delete,
        "use_cases": use_cases,
        "may_manage": session.may(Permission.CHANNEL_MANAGE),
    }
    return render(request, "setup.html", context)


@router.post("/setups/{setup_id}/verify")
@form_page(SETUP_PAGE)
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
    return see_other(request, setup_path(setup_id))


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
@form_page(SETUP_PAGE)
async def delete_setup(request: Request, session: Session, setup_id: uuid.UUID) -> Response:
    """Delete through the service; a refusal (use cases still reference it) names them."""
    values = await form_values(request)
    session.check_csrf(values.get(CSRF_FIELD))
    principal = session.require(Permission.CHANNEL_DELETE)
    setups = _setups(request)
    try:
        setup = await setups.get_stored(workspace_id=principal.workspace_id, setup_id=setup_id)
        await setups.delete(workspace_id=principal.workspace_id, setup_id=setup_id)
    except AppError as error:
        refused = Flash(error=error.detail, action="delete-setup")
        return see_other(request, setup_path(setup_id), flash=refused)
    notice = "The SES setup was deleted."
    if setup["dns_mode"] == "delegated":
        # The zone is gone; NS records left at the customer's zone would point at nothing.
        notice += (
            f" Now remove the NS records of {setup['domain_identity']} at your DNS provider:"
            " the servers they name no longer serve it."
        )
    return see_other(request, CONSOLE_PATH, flash=Flash(notice=notice))


@router.post("/setups/{setup_id}/pause")
@form_page(SETUP_PAGE)
async def pause_sending(request: Request, session: Session, setup_id: uuid.UUID) -> Response:
    """Pause the tenant's sending in SES; back to the page, with SES's refusal if any."""
    return await _set_sending(request, session, setup_id, enabled=False)


@router.post("/setups/{setup_id}/resume")
@form_page(SETUP_PAGE)
async def resume_sending(request: Request, session: Session, setup_id: uuid.UUID) -> Response:
    """Resume the tenant's sending in SES; back to the page, with SES's refusal if any."""
    return await _set_sending(request, session, setup_id, enabled=True)


async def _set_sending(
    request: Request, session: ConsoleSession, setup_id: uuid.UUID, *, enabled: bool
) -> Response:
    values = await form_values(request)
    session.check_csrf(values.get(CSRF_FIELD))
    principal = session.require(Permission.CHANNEL_MANAGE)
    try:
        await _setups(request).set_sending(
            workspace_id=principal.workspace_id, setup_id=setup_id, enabled=enabled
        )
    except AppError as error:
        action = "resumed" if enabled else "paused"
        refused = Flash(error=f"Sending was not {action}: {error.detail}", action="sending")
        return see_other(request, setup_path(setup_id), flash=refused)
    return see_other(request, setup_path(setup_id))
