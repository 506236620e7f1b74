"""What an API key is scoped to: one workspace, by its opaque id."""

WORKSPACE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
