"""The permissions an API key can carry."""

from enum import StrEnum


class Permission(StrEnum):
    CHANNEL_CREATE = "Channel.create"
    CHANNEL_VIEW = "Channel.view"
    CHANNEL_DELETE = "Channel.delete"
    CHANNEL_MANAGE = "Channel.manage"
    USE_CASE_CREATE = "UseCase.create"
    USE_CASE_VIEW = "UseCase.view"
    USE_CASE_DELETE = "UseCase.delete"
    WEBHOOK_MANAGE = "Webhook.manage"
