"""uvicorn's entry in `serve`'s processes: unused packages kept out, then the app."""

from __future__ import annotations

from typing import Any

from email_channels.observability.serving import without_unused_packages


def serving_app() -> Any:
    """uvicorn's factory in `serve`'s processes: the app from the environment."""
    without_unused_packages()
    from email_channels.app import create_app_from_environment

    return create_app_from_environment()
