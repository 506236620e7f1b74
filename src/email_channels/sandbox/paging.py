"""Opaque NextToken values and the pages of the emulator's List operations."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from email_channels.sandbox.account import JsonObject
from email_channels.sandbox.shapes import bad_request

DEFAULT_PAGE_SIZE = 100

Item = TypeVar("Item")
# (created_at, name): unique per resource, since names are unique, and stable across calls.
SortKey = tuple[float, str]


def encode_token(*, kind: str, position: str) -> str:
    """An opaque token for `position`; `kind` keeps one List's token out of another's format."""
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode()


def decode_token(token: str | None, *, kind: str) -> str | None:
    """The position `encode_token` wrapped, None without a token; BadRequest for a foreign one."""
    if token is None:
        return None
    try:
        prefix, separator, position = (
            base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError, ValueError):
        prefix, separator, position = "", "", ""
    if prefix != kind or not separator:
        raise bad_request("NextToken is not valid.")
    return position


def page_size(request: JsonObject, *, maximum: int | None = None) -> int:
    """The request's PageSize; absent or 0 means the default, as the existing lists treat it."""
    size: int = request.get("PageSize") or DEFAULT_PAGE_SIZE
    if size < 0 or (maximum is not None and size > maximum):
        limit = f"0 to {maximum}" if maximum is not None else "at least 0"
        raise bad_request(f"PageSize must be {limit}, not {size}.")
    return size


def keyset_page(
    items: Sequence[Item],
    *,
    sort_key: Callable[[Item], SortKey],
    request: JsonObject,
    maximum_page_size: int | None = None,
) -> tuple[list[Item], str | None]:
    """One page of `items` ordered by `sort_key`, and the NextToken when more follow.

    A keyset, not an offset: the token holds the last key returned, so deleting resources
    already listed between two calls neither skips nor repeats any that remain.
    """
    size = page_size(request, maximum=maximum_page_size)
    ordered = sorted(items, key=sort_key)
    keys = [sort_key(item) for item in ordered]
    after = _decode_key(decode_token(request.get("NextToken"), kind="after"))
    start = 0 if after is None else bisect.bisect_right(keys, after)
    page = ordered[start : start + size]
    if start + size >= len(ordered):
        return page, None
    return page, encode_token(kind="after", position=json.dumps(list(keys[start + size - 1])))


def _decode_key(position: str | None) -> SortKey | None:
    if position is None:
        return None
    try:
        created_at, name = json.loads(position)
    except (ValueError, TypeError):
        raise bad_request("NextToken is not valid.") from None
    if not isinstance(created_at, int | float) or not isinstance(name, str):
        raise bad_request("NextToken is not valid.")
    return float(created_at), name
