"""Use cases: named references from a workspace's features to one of its SES setups."""

from __future__ import annotations

import uuid
from typing import Any

from email_channels.db.base import utc_now
from email_channels.db.engine import Database
from email_channels.errors import FieldError, InvalidInput, NotFound
from email_channels.pagination import read_page
from email_channels.use_cases import repository
from email_channels.use_cases.schemas import UseCaseCreate

LIST_KIND = "use-cases"


class UseCaseService:
    def __init__(self, *, db: Database) -> None:
        self._db = db

    async def create(self, *, workspace_id: str, request: UseCaseCreate) -> dict[str, Any]:
        """Create a use case referencing an active setup of the same workspace."""
        use_case_id, created_at = uuid.uuid4(), utc_now()
        async with self._db.transaction() as session:
            inserted = await repository.insert_for_active_setup(
                session,
                workspace_id=workspace_id,
                use_case_id=use_case_id,
                name=request.name,
                ses_setup_id=request.ses_setup_id,
                created_at=created_at,
            )
        if not inserted:
            raise InvalidInput(
                "The SES setup does not exist in this workspace (or is being deleted).",
                errors=[
                    FieldError(
                        field="ses_setup_id",
                        message="No active SES setup with this id in this workspace.",
                    )
                ],
            )
        return {
            "id": use_case_id,
            "name": request.name,
            "ses_setup_id": request.ses_setup_id,
            "created_at": created_at,
        }

    async def get(self, *, workspace_id: str, use_case_id: uuid.UUID) -> dict[str, Any]:
        async with self._db.read() as connection:
            row = await repository.get(
                connection, workspace_id=workspace_id, use_case_id=use_case_id
            )
        if row is None:
            raise NotFound("No use case with this id in this workspace.")
        return row._asdict()

    async def list_page(
        self, *, workspace_id: str, limit: int, continuation_token: str | None
    ) -> dict[str, Any]:
        return await read_page(
            self._db,
            kind=LIST_KIND,
            workspace_id=workspace_id,
            limit=limit,
            continuation_token=continuation_token,
            query=lambda connection, after: repository.list_page(
                connection, workspace_id=workspace_id, after=after, limit=limit
            ),
        )

    async def list_for_setup(
        self, *, workspace_id: str, ses_setup_id: uuid.UUID, limit: int
    ) -> list[dict[str, Any]]:
        """The newest `limit` use cases that reference the setup (what blocks its delete)."""
        async with self._db.read() as connection:
            rows = await repository.list_for_setup(
                connection, workspace_id=workspace_id, ses_setup_id=ses_setup_id, limit=limit
            )
        return [row._asdict() for row in rows]

    async def delete(self, *, workspace_id: str, use_case_id: uuid.UUID) -> None:
        async with self._db.transaction() as session:
            deleted = await repository.delete_use_case(
                session, workspace_id=workspace_id, use_case_id=use_case_id
            )
        if not deleted:
            raise NotFound("No use case with this id in this workspace.")
