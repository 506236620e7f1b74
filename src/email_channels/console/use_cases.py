"""The use cases on a setup's page: listed, added and deleted with the API's permissions.

A setup that use cases reference cannot be deleted; its page lists them, so the way forward
after a refused delete is on the same page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response

from email_channels.auth.permissions import Permission
from email_channels.console.flash import Flash
from email_channels.console.forms import form_values
from email_channels.console.rendering import ConsoleRoute, form_page, see_other
from email_channels.console.session import CONSOLE_PATH, CSRF_FIELD, ConsoleSession, signed_in
from email_channels.errors import AppError
from email_channels.problems import validation_errors
from email_channels.use_cases.schemas import UseCaseCreate
from email_channels.use_cases.service import UseCaseService

router = APIRouter(prefix=CONSOLE_PATH, route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[ConsoleSession, Depends(signed_in)]
SHOWN = 100  # use cases listed on a setup's page, newest first
NAMED_IN_REFUSAL = 20  # use cases a refused delete names
ADD_ACTION = "add-use-case"
DELETE_SETUP_ACTION = "delete-setup"
SETUP_PAGE = "{console}/setups/{setup_id}"


def setup_path(setup_id: uuid.UUID | str) -> str:
    """The console page of a setup."""
    return f"{CONSOLE_PATH}/setups/{setup_id}"


def _use_cases(request: Request) -> UseCaseService:
    service = request.app.state.use_cases
    assert isinstance(service, UseCaseService)
    return service


@dataclass(frozen=True)
class UseCaseSection:
    """What the setup page shows of its use cases, and what the key may do with them."""

    may_view: bool
    may_add: bool
    may_delete: bool
    items: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False  # more than SHOWN reference the setup
    blocking: list[dict[str, Any]] = field(default_factory=list)  # named by a refused delete
    typed_name: str = ""
    name_error: str | None = None


async def use_case_section(
    request: Request, session: ConsoleSession, *, setup_id: uuid.UUID, flash: Flash
) -> UseCaseSection:
    """The use cases of the setup as the key may see them, with the last form's messages."""
    may_view = session.may(Permission.USE_CASE_VIEW)
    refused = flash.action == DELETE_SETUP_ACTION
    items: list[dict[str, Any]] = []
    if may_view or refused:
        # A refused delete names what blocks it, as the API's 409 does, whatever the key.
        items = await _use_cases(request).list_for_setup(
            workspace_id=session.workspace_id, ses_setup_id=setup_id, limit=SHOWN + 1
        )
    added = flash.action == ADD_ACTION
    return UseCaseSection(
        may_view=may_view,
        may_add=session.may(Permission.USE_CASE_CREATE),
        may_delete=session.may(Permission.USE_CASE_DELETE),
        items=items[:SHOWN] if may_view else [],
        more=may_view and len(items) > SHOWN,
        blocking=items[:NAMED_IN_REFUSAL] if refused else [],
        typed_name=flash.values.get("name", "") if added else "",
        name_error=flash.field_errors.get("name") if added else None,
    )


def _parse(values: dict[str, str], setup_id: uuid.UUID) -> UseCaseCreate | Flash:
    """The API's create request, or the flash that shows the API's message by the field."""
    name = values.get("name", "")
    try:
        return UseCaseCreate(name=name, ses_setup_id=setup_id)
    except ValidationError as error:
        problems = validation_errors(RequestValidationError(error.errors()))
        messages = {problem.field: problem.message for problem in problems}
        return Flash(values={"name": name}, field_errors=messages, action=ADD_ACTION)


@router.post("/setups/{setup_id}/use-cases")
@form_page(SETUP_PAGE)
async def add_use_case(request: Request, session: Session, setup_id: uuid.UUID) -> Response:
    """Create a use case that references this setup, through the API's service."""
    values = await form_values(request)
    session.check_csrf(values.get(CSRF_FIELD))
    principal = session.require(Permission.USE_CASE_CREATE)
    parsed = _parse(values, setup_id)
    if isinstance(parsed, Flash):
        return see_other(request, setup_path(setup_id), flash=parsed)
    try:
        await _use_cases(request).create(workspace_id=principal.workspace_id, request=parsed)
    except AppError as error:
        refused = Flash(values={"name": parsed.name}, error=error.detail, action=ADD_ACTION)
        return see_other(request, setup_path(setup_id), flash=refused)
    added = Flash(notice=f"The use case “{parsed.name}” was added.")
    return see_other(request, setup_path(setup_id), flash=added)


@router.post("/setups/{setup_id}/use-cases/{use_case_id}/delete")
@form_page(SETUP_PAGE)
async def delete_use_case(
    request: Request, session: Session, setup_id: uuid.UUID, use_case_id: uuid.UUID
) -> Response:
    """Delete a use case, through the API's service; back to the setup's page."""
    values = await form_values(request)
    session.check_csrf(values.get(CSRF_FIELD))
    principal = session.require(Permission.USE_CASE_DELETE)
    service = _use_cases(request)
    use_case = await service.get(workspace_id=principal.workspace_id, use_case_id=use_case_id)
    await service.delete(workspace_id=principal.workspace_id, use_case_id=use_case_id)
    deleted = Flash(notice=f"The use case “{use_case['name']}” was deleted.")
    return see_other(request, setup_path(setup_id), flash=deleted)
