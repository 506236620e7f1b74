"""Webhook subscriptions: what the webhook endpoints do."""

from __future__ import annotations

import uuid
from typing import Any

from email_channels.db.base import utc_now
from email_channels.db.engine import Database
from email_channels.errors import Conflict, FieldError, InvalidInput, NotFound
from email_channels.pagination import read_page
from email_channels.webhooks import repository
from email_channels.webhooks.models import Webhook
from email_channels.webhooks.outbox import EVENT_TYPES
from email_channels.webhooks.schemas import WebhookCreate
from email_channels.webhooks.signing import new_secret
from email_channels.webhooks.url_guard import Resolver, UnsafeUrl, check_url, system_resolver

LIST_KIND = "webhooks"


def _not_found() -> NotFound:
    return NotFound("No webhook with this id in this workspace.")


class WebhookService:
    """Create, read and delete webhooks; built once per process in the lifespan."""

    def __init__(
        self,
        *,
        db: Database,
        allow_private: bool,
        per_workspace: int,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._db = db
        self._allow_private = allow_private
        self._per_workspace = per_workspace
        self._resolver = resolver

    async def create(self, *, workspace_id: str, request: WebhookCreate) -> dict[str, Any]:
        """Subscribe a URL; the answer carries the signing secret, this once."""
        try:
            await check_url(request.url, allow_private=self._allow_private, resolver=self._resolver)
        except UnsafeUrl as error:
            raise InvalidInput(
                "The webhook URL is not allowed.",
                errors=[FieldError(field="url", message=str(error))],
            ) from error
        webhook = Webhook(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            url=request.url,
            events=list(request.events or EVENT_TYPES),
            description=request.description,
            secret=new_secret(),
            created_at=utc_now(),
        )
        async with self._db.transaction() as session:
            inserted = await repository.insert_within_cap(session, webhook, cap=self._per_workspace)
        if not inserted:
            raise Conflict(
                f"This workspace already has {self._per_workspace} webhooks, the most it may "
                "have; delete one before creating another."
            )
        return {**_webhook_json(webhook), "secret": webhook.secret}

    async def get(self, *, workspace_id: str, webhook_id: uuid.UUID) -> dict[str, Any]:
        """One webhook, without its secret."""
        async with self._db.read() as connection:
            row = await repository.get(connection, workspace_id=workspace_id, webhook_id=webhook_id)
        if row is None:
            raise _not_found()
        return row._asdict()

    async def list_page(
        self, *, workspace_id: str, limit: int, continuation_token: str | None
    ) -> dict[str, Any]:
        """One page of webhooks, newest first."""
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

    async def delete(self, *, workspace_id: str, webhook_id: uuid.UUID) -> None:
        """Unsubscribe; its pending deliveries are cancelled."""
        async with self._db.transaction() as session:
            deleted = await repository.delete_webhook(
                session, workspace_id=workspace_id, webhook_id=webhook_id
            )
        if not deleted:
            raise _not_found()

    async def deliveries_page(
        self,
        *,
        workspace_id: str,
        webhook_id: uuid.UUID,
        limit: int,
        continuation_token: str | None,
    ) -> dict[str, Any]:
        """One page of a webhook's delivery log, newest first."""
        await self.get(workspace_id=workspace_id, webhook_id=webhook_id)
        return await read_page(
            self._db,
            kind=f"deliveries:{webhook_id}",
            workspace_id=workspace_id,
            limit=limit,
            continuation_token=continuation_token,
            query=lambda connection, after: repository.deliveries_page(
                connection, webhook_id=webhook_id, after=after, limit=limit
            ),
        )


def _webhook_json(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "url": webhook.url,
        "events": webhook.events,
        "description": webhook.description,
        "created_at": webhook.created_at,
    }
