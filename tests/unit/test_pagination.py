"""Continuation tokens: opaque, bound to their list and workspace, never a 500."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from email_channels.errors import InvalidInput
from email_channels.pagination import Cursor, decode_token, encode_token

CURSOR = Cursor(created_at=datetime(2026, 11, 27, 4, 5, 6, 789, tzinfo=UTC), id=uuid.uuid4())


def test_a_token_round_trips() -> None:
    token = encode_token(CURSOR, kind="ses-setups", workspace_id="ws1")
    assert decode_token(token, kind="ses-setups", workspace_id="ws1") == CURSOR
    assert "ws1" not in token


def test_no_token_is_the_first_page() -> None:
    assert decode_token(None, kind="ses-setups", workspace_id="ws1") is None


@pytest.mark.parametrize(("kind", "workspace"), [("use-cases", "ws1"), ("ses-setups", "ws2")])
def test_a_token_of_another_list_or_workspace_is_refused(kind: str, workspace: str) -> None:
    token = encode_token(CURSOR, kind="ses-setups", workspace_id="ws1")
    with pytest.raises(InvalidInput):
        decode_token(token, kind=kind, workspace_id=workspace)


@pytest.mark.parametrize("token", ["", "=", "not base64!", "eyJ9", "W10", "bnVsbA", "\x00"])
def test_garbage_is_invalid_input(token: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        decode_token(token, kind="ses-setups", workspace_id="ws1")
    assert raised.value.errors[0].field == "continuation_token"
