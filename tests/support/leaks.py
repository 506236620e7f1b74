"""What no answer of the API may carry (DESIGN.md section 1): ARNs, account ids, endpoint URLs."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

import httpx
import pytest

ARN = re.compile(r"arn:aws", re.IGNORECASE)
# Twelve digits on their own; not the fraction of a decimal number (a metric's epoch seconds
# in exponent form, 1.796048369478e+09, has twelve digits after its point).
ACCOUNT_ID = re.compile(r"(?<![0-9])(?<![0-9]\.)[0-9]{12}(?![0-9])")
URL = re.compile(r"https?://[^\s\"']*", re.IGNORECASE)
# A UUID's last group is 12 hex digits, all of them decimal in about one UUID of 280: an id
# of ours, not an account id, so UUIDs are taken out before looking for twelve digits.
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
# An event id (`evt_` and 32 hex digits) holds twelve decimal digits in a row in several
# percent of them: ours too (a delivery log of two events failed about one run in seven).
EVENT_ID = re.compile(r"evt_[0-9a-f]{32}")


def upstream_leaks(
    *,
    body: str,
    headers: Iterable[tuple[str, str]],
    json_body: bool,
    endpoint_urls: Iterable[str],
) -> list[str]:
    """What in one answer looks like an upstream internal: an ARN, account id or endpoint URL."""
    texts = [body, *(f"{name}: {value}" for name, value in headers)]
    # The host and port alone give an endpoint away as well as the whole URL.
    endpoints = {part for url in endpoint_urls for part in (url, urlsplit(url).netloc) if part}
    leaks: list[str] = []
    for text in texts:
        leaks += [f"ARN {match.group()!r}" for match in ARN.finditer(text)]
        without_ids = EVENT_ID.sub("<event>", UUID.sub("<uuid>", text))
        leaks += [f"account id {m.group()!r}" for m in ACCOUNT_ID.finditer(without_ids)]
        leaks += [f"endpoint {endpoint!r}" for endpoint in endpoints if endpoint in text]
    if json_body:
        leaks += [f"URL {match.group()!r}" for match in URL.finditer(body)]
    return sorted(set(leaks))


def refuse_upstream_internals(
    *endpoint_urls: str | None,
) -> Callable[[httpx.Response], Awaitable[None]]:
    """An httpx response hook that fails the test when an answer carries upstream internals."""
    urls = [url for url in endpoint_urls if url]

    async def check(response: httpx.Response) -> None:
        await response.aread()
        body = response.content.decode("utf-8", errors="replace")
        content_type = response.headers.get("content-type", "")
        # A webhook's URL is the client's own, echoed back: not an upstream internal.
        echoes_urls = "/webhooks" in response.request.url.path
        leaks = upstream_leaks(
            body=body,
            headers=response.headers.multi_items(),
            json_body="json" in content_type and not echoes_urls,
            endpoint_urls=urls,
        )
        if leaks:
            request = response.request
            pytest.fail(
                f"{request.method} {request.url.path} answered {response.status_code} with "
                f"upstream internals {leaks}: {body[:600]}"
            )

    return check
