"""Headless Debian Chromium through Playwright, and axe-core injected into pages."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# `./dev test` installs axe-core here from the npm package (git-ignored).
AXE_SCRIPT = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERIOUS = {"serious", "critical"}


def _missing(message: str) -> None:
    """Skip on a developer machine; fail in CI, where a skipped browser test proves nothing."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def chromium_path() -> str | None:
    """Debian's Chromium (Playwright's own browser downloads do not work here)."""
    found = shutil.which("chromium")
    return found or next((p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module.

    Not per session: Playwright's sync API marks an event loop running on the main thread
    while it is started, and the async tests of later modules need that thread's loop.
    """
    executable = chromium_path()
    if executable is None:
        _missing("Chromium is not installed; `./dev test` installs it (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed (a dev dependency)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The axe-core script, read once."""
    if not AXE_SCRIPT.exists():
        _missing(f"axe-core is not installed at {AXE_SCRIPT}; `./dev test` installs it")
    return AXE_SCRIPT.read_text()


def serious_violations(page: Any, axe_source: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    # Evaluated through the DevTools protocol, which the page's CSP does not govern: the page
    # keeps its real policy (no inline scripts) while axe runs.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    lines = []
    for violation in result["violations"]:
        if violation.get("impact") in SERIOUS:
            targets = [", ".join(map(str, node["target"])) for node in violation["nodes"]]
            lines.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return lines


def assert_accessible(page: Any, axe_source: str) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    violations = serious_violations(page, axe_source)
    assert not violations, f"axe-core on {page.url}:\n" + "\n".join(violations)
