"""Fixtures of the console's browser tests."""

from tests.support.browser import axe_source, browser
from tests.support.console import console_server

__all__ = ["axe_source", "browser", "console_server"]
