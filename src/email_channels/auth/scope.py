"""What an API key is scoped to: one workspace, by its opaque id."""

from __future__ import annotations

import re

WORKSPACE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
WORKSPACE_ID_MAX_LENGTH = 64
WORKSPACE_ID_RULE = "Must be 1-64 characters of letters A-Z and a-z, digits, _ and -."

_WORKSPACE_ID = re.compile(WORKSPACE_ID_PATTERN)


def is_workspace_id(value: str) -> bool:
    """Whether `value` has the shape of a workspace id."""
    return _WORKSPACE_ID.fullmatch(value) is not None
