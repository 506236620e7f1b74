"""The base of every request body: unknown fields refused, and no control characters.

A NUL is refused by PostgreSQL and kept by SQLite, so one database would answer 500 where the
other stores it; tabs, line breaks, escapes and lone surrogates break every display and log
line that shows the text. Refusing them in the base model covers every text field of every
body, those added later too, before any service or database sees them.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

# Control characters (C0, DEL, C1) and surrogates, which no UTF-8 text can carry.
REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})


def refused_character(text: str) -> str | None:
    """The first character of `text` that no text field may hold, or None."""
    return next((c for c in text if unicodedata.category(c) in REFUSED_CATEGORIES), None)


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        refused = refused_character(value)
        if refused is not None:
            raise ValueError(
                f"Must not contain control characters (found U+{ord(refused):04X}); "
                "no NUL, tabs or line breaks."
            )
    elif isinstance(value, list | tuple):
        for item in value:
            _check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)


class RequestBody(BaseModel):
    """A JSON request body (or a console form parsed as one)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        _check_text(value)
        return value
