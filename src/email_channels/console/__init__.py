"""The web console: server-rendered pages over the same services as the API."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from email_channels.console import use_cases
from email_channels.console.rendering import STATIC_PATH
from email_channels.console.routes import router


def install_console(app: FastAPI) -> None:
    """Serve the console at /console, its static files from inside the package."""
    app.include_router(router)
    app.include_router(use_cases.router)
    app.mount(
        STATIC_PATH,
        StaticFiles(packages=[("email_channels.console", "static")]),
        name="console-static",
    )
