"""Shared fixtures; the BIND and sandbox fixtures live in tests/support."""

pytest_plugins = [
    "tests.support.fixtures_bind",
    "tests.support.source_dns",
    "tests.support.fixtures_sandbox",
    "tests.support.fixtures_api",
    "tests.support.publishers",
    "tests.support.worker",
]
