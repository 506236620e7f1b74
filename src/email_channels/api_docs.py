"""The interactive API view at /docs, from files installed with the service: no CDN.

Swagger UI's own distribution comes from the `swagger-ui-bundle-v2` package (Apache-2.0; its
files are those of the npm package `swagger-ui-dist` of the same version), so /docs works on a
machine with no way out and under a CSP that allows only this host.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from email_channels.console.session import CONSOLE_PATH

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"


def install_api_docs(app: FastAPI, *, openapi_url: str = "/openapi.json") -> None:
    """Serve Swagger UI at /docs from the package's files, and send `GET /` to the console."""
    app.mount(ASSETS_PATH, StaticFiles(directory=str(swagger_ui_path)), name="api-docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
        )

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        # A person who opens the service's address lands on the console, not on a JSON 404.
        return RedirectResponse(CONSOLE_PATH, status_code=307)
