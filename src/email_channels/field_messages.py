"""A field's rule in words for each way pydantic can refuse it: messages for people.

Pydantic's own messages name its validators and quote regular expressions ("String should
match pattern '^[A-Za-z0-9_-]{1,64}$'"); an API answer says what to send instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

ID_RULE = "an id of the form 123e4567-e89b-42d3-a456-426614174000 (a UUID)"

# Each pattern the API declares (tenant names, workspace ids), in words; a test checks that
# the OpenAPI document declares no other. Kept here, not beside the schemas, so that the error
# renderer imports no feature.
PATTERN_RULES = {
    r"^[A-Za-z0-9_-]{1,64}$": "letters, digits, hyphens and underscores, 1-64 characters",
}


def _characters(count: object) -> str:
    return "1 character" if count == 1 else f"{count} characters"


def _items(count: object) -> str:
    return "1 item" if count == 1 else f"{count} items"


def _pattern(ctx: Mapping[str, Any]) -> str:
    rule = PATTERN_RULES.get(str(ctx.get("pattern", "")))
    return f"Must be {rule}." if rule else "Contains characters that are not allowed here."


def _choices(ctx: Mapping[str, Any]) -> str:
    expected = str(ctx.get("expected", "")).strip()
    return f"Must be one of {expected}." if expected else "Not one of the allowed values."


def _limit(word: str, value: object) -> str:
    return f"Must be {word} {value}."


MESSAGES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": lambda _: "Required.",
    "extra_forbidden": lambda _: "Unknown field.",
    "string_type": lambda _: "Must be text (a JSON string).",
    "string_unicode": lambda _: "Must be text (a JSON string).",
    "string_pattern_mismatch": _pattern,
    "string_too_short": lambda ctx: f"Must be at least {_characters(ctx.get('min_length'))}.",
    "string_too_long": lambda ctx: f"Must be at most {_characters(ctx.get('max_length'))}.",
    "too_short": lambda ctx: f"Must have at least {_items(ctx.get('min_length'))}.",
    "too_long": lambda ctx: f"Must have at most {_items(ctx.get('max_length'))}.",
    "int_type": lambda _: "Must be a whole number.",
    "int_parsing": lambda _: "Must be a whole number.",
    "int_from_float": lambda _: "Must be a whole number.",
    "float_type": lambda _: "Must be a number.",
    "float_parsing": lambda _: "Must be a number.",
    "bool_type": lambda _: "Must be true or false.",
    "bool_parsing": lambda _: "Must be true or false.",
    "greater_than_equal": lambda ctx: _limit("at least", ctx.get("ge")),
    "greater_than": lambda ctx: _limit("more than", ctx.get("gt")),
    "less_than_equal": lambda ctx: _limit("at most", ctx.get("le")),
    "less_than": lambda ctx: _limit("less than", ctx.get("lt")),
    "uuid_type": lambda _: f"Must be {ID_RULE}.",
    "uuid_parsing": lambda _: f"Must be {ID_RULE}.",
    "uuid_version": lambda _: f"Must be {ID_RULE}.",
    "list_type": lambda _: "Must be a list (a JSON array).",
    "dict_type": lambda _: "Must be an object (JSON, in braces).",
    "model_type": lambda _: "Must be an object (JSON, in braces).",
    "model_attributes_type": lambda _: "Must be an object (JSON, in braces).",
    "literal_error": _choices,
    "enum": _choices,
    "none_required": lambda _: "Must be null.",
    "url_parsing": lambda _: "Must be a URL such as https://example.com/hook.",
    "url_type": lambda _: "Must be a URL such as https://example.com/hook.",
    "url_scheme": lambda _: "Must be a URL such as https://example.com/hook.",
    "datetime_parsing": lambda _: "Must be a time such as 2026-01-31T12:00:00Z.",
    "datetime_type": lambda _: "Must be a time such as 2026-01-31T12:00:00Z.",
    "json_type": lambda _: "Must be text holding JSON.",
}


def message_for(error: Mapping[str, Any]) -> str:
    """The message for one of pydantic's errors (a dict of `ValidationError.errors()`)."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])  # our own validators' words, without pydantic's prefix
    render = MESSAGES.get(kind)
    if render is not None:
        return render(ctx)
    return "Not a valid value here."
