"""/docs renders in a browser that can reach nothing but the service: no CDN."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.support.console import ConsoleServer

LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


def test_docs_render_with_every_other_host_cut_off(
    browser: Any, console_server: ConsoleServer
) -> None:
    elsewhere: list[str] = []

    def only_loopback(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in {"http", "https"} and urlsplit(url).hostname not in LOOPBACK:
            elsewhere.append(url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context = browser.new_context()
    try:
        context.route("**/*", only_loopback)
        page = context.new_page()
        page.goto(f"{console_server.url}/docs")
        create = page.locator(".opblock-post .opblock-summary-path").filter(
            has_text="/v1/{workspace_id}/channels/ses-setup"
        )
        create.first.wait_for(state="visible", timeout=30_000)
        assert page.locator(".opblock").count() >= 15  # every operation of the API
        assert page.locator(".errors-wrapper").count() == 0  # Swagger UI parsed the document
        # Cut off entirely: what is on the page stays usable (it needs nothing more).
        context.set_offline(True)
        create.first.click()
        page.locator(".opblock-post.is-open").first.wait_for(state="visible", timeout=10_000)
    finally:
        context.close()
    assert elsewhere == [], f"/docs asked other hosts for {elsewhere}"
