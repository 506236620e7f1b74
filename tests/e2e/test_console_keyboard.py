"""The console with the keyboard alone: everything reachable, the focus always visible."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.console import ConsoleServer

pytestmark = pytest.mark.bind


@pytest.fixture
def page(browser: Any, console_server: ConsoleServer) -> Any:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, base_url=console_server.url
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def focus_ring(page: Page) -> tuple[str, float]:
    """The outline style and width of the element that has the keyboard focus."""
    style, width = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    return str(style), float(width)


def tab_to(page: Page, locator: Any, *, limit: int = 15) -> None:
    """Press Tab until `locator` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{locator} never got the focus in {limit} presses of Tab")


def test_keyboard_alone_signs_in_and_reaches_everything_with_a_visible_focus(
    page: Page, console_server: ConsoleServer
) -> None:
    _, secret = console_server.key(f"ws-{uuid.uuid4().hex[:10]}")
    page.goto("/console")

    tab_to(page, page.get_by_role("textbox", name="API key"))
    assert focus_ring(page)[0] != "none"
    page.keyboard.type(secret)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="SES setups")).to_be_visible()

    new_link = page.get_by_role("link", name="New SES setup")
    tab_to(page, new_link)
    style, width = focus_ring(page)
    assert style == "solid"
    assert width >= 2
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="New SES setup")).to_be_visible()
    tab_to(page, page.get_by_role("button", name="Sign out"))
    assert focus_ring(page)[0] == "solid"
