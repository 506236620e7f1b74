"""Continuation tokens: opaque, bound to their list and workspace, never a 500."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import orjson
import pytest

from email_channels.errors import InvalidInput
from email_channels.pagination import Cursor, _scope, decode_token, encode_token

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


def _crafted(**payload: object) -> str:
    """A token with the right scope for ws1's setups, as anyone could compute it."""
    body = orjson.dumps({"s": _scope("ses-setups", "ws1"), **payload})
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


GOOD_TIME = "2026-01-01T00:00:00+00:00"
GOOD_ID = "00000000-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    "payload",
    [
        {"t": "0001-01-01T00:00:00+14:00", "i": GOOD_ID},  # before the first representable UTC
        {"t": "9999-12-31T23:59:59-14:00", "i": GOOD_ID},  # after the last
        {"t": "2026-01-01T00:00:00", "i": GOOD_ID},  # naive
        {"t": "yesterday", "i": GOOD_ID},
        {"t": 1767225600, "i": GOOD_ID},
        {"t": None, "i": GOOD_ID},
        {"t": ["x"], "i": GOOD_ID},
        {"t": {"y": 2026}, "i": GOOD_ID},
        {"i": GOOD_ID},
        {"t": GOOD_TIME, "i": 5},
        {"t": GOOD_TIME, "i": ["x"]},
        {"t": GOOD_TIME, "i": None},
        {"t": GOOD_TIME, "i": True},
        {"t": GOOD_TIME, "i": {"hex": "0" * 32}},
        {"t": GOOD_TIME, "i": "nope"},
        {"t": GOOD_TIME},
    ],
)
def test_a_crafted_token_with_the_right_scope_is_invalid_input(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as raised:
        decode_token(_crafted(**payload), kind="ses-setups", workspace_id="ws1")
    assert raised.value.errors[0].field == "continuation_token"


@pytest.mark.parametrize("scope", [None, 5, ["x"], {"s": "x"}])
def test_a_scope_of_the_wrong_type_is_invalid_input(scope: object) -> None:
    body = orjson.dumps({"s": scope, "t": GOOD_TIME, "i": GOOD_ID})
    token = base64.urlsafe_b64encode(body).decode()
    with pytest.raises(InvalidInput):
        decode_token(token, kind="ses-setups", workspace_id="ws1")


def test_a_crafted_token_in_another_offset_is_the_same_instant() -> None:
    token = _crafted(t="2026-01-01T02:00:00+02:00", i=GOOD_ID)
    cursor = decode_token(token, kind="ses-setups", workspace_id="ws1")
    assert cursor == Cursor(created_at=datetime(2026, 1, 1, tzinfo=UTC), id=uuid.UUID(GOOD_ID))
