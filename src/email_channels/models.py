"""Every table, imported once so that the schema test and autogenerate see the whole metadata."""

from email_channels.auth.models import ApiKey
from email_channels.db.base import Base
from email_channels.db.installation import Installation
from email_channels.idempotency.models import IdempotencyKey
from email_channels.ses_setups.models import InflightDelete, SesSetup
from email_channels.use_cases.models import UseCase
from email_channels.webhooks.models import Delivery, Event, Webhook

__all__ = [
    "ApiKey",
    "Base",
    "Delivery",
    "Event",
    "IdempotencyKey",
    "InflightDelete",
    "Installation",
    "SesSetup",
    "UseCase",
    "Webhook",
]
