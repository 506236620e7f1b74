"""Request bodies over 64 KiB: 413 problem+json before the body is read or the key looked up."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest

from email_channels.auth import dependencies as auth_dependencies
from email_channels.body_limit import MAX_BODY_BYTES
from tests.support.fixtures_api import Api, api_settings
from tests.support.live_server import LiveServer

TEN_MB = 10 * 1024 * 1024
CHUNK = memoryview(b" " * 65536)  # one buffer sent again and again: the client allocates nothing
POST_PATHS = [
    "/v1/ws1/channels/ses-setup",
    f"/v1/ws1/channels/ses-setup/{uuid.uuid4()}/verify",
    "/v1/ws1/use-cases",
]


async def blank_chunks(size: int) -> AsyncIterator[bytes]:
    """`size` bytes of white space, in chunks of at most 64 KiB."""
    while size > 0:
        yield bytes(CHUNK[: min(size, len(CHUNK))])
        size -= len(CHUNK)


async def async_chunks(data: bytes, size: int = 16384) -> AsyncIterator[bytes]:
    """`data` as a chunked body: httpx sends no Content-Length for an iterator."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.fixture
def key_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every API key lookup the API makes."""
    calls: list[str] = []
    real = auth_dependencies.authenticate

    async def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append("authenticate")
        return await real(*args, **kwargs)

    monkeypatch.setattr(auth_dependencies, "authenticate", spy)
    return calls


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert set(problem) == {"type", "title", "status", "detail"}
    assert problem["status"] == 413
    assert problem["type"].startswith("urn:email-channels:problem:")
    assert str(MAX_BODY_BYTES) in problem["detail"]


def setup_body(size: int) -> bytes:
    """A valid create body, padded with white space to exactly `size` bytes."""
    body = orjson.dumps(
        {"tenant_name": f"t-{uuid.uuid4().hex[:10]}", "domain_identity": "big.example.test"}
    )
    return body[:-1] + b" " * (size - len(body)) + b"}"


@pytest.mark.parametrize("path", POST_PATHS)
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("with_key", [True, False], ids=["valid-key", "no-key"])
async def test_ten_megabyte_body_is_413_before_the_key_is_looked_up(
    api: Api, key_lookups: list[str], path: str, framing: str, with_key: bool
) -> None:
    headers = {"Content-Type": "application/json", **(await api.key() if with_key else {})}
    if framing == "content-length":
        headers["Content-Length"] = str(TEN_MB)
        content: Any = b" " * TEN_MB
    else:
        content = async_chunks(b" " * TEN_MB, size=65536)
    response = await api.client.post(path, content=content, headers=headers)
    assert_too_large(response)
    assert key_lookups == []


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_body_of_exactly_the_limit_is_accepted(
    api: Api, key_lookups: list[str], framing: str
) -> None:
    body = setup_body(MAX_BODY_BYTES)
    assert len(body) == MAX_BODY_BYTES
    content: Any = body if framing == "content-length" else async_chunks(body)
    response = await api.client.post(
        "/v1/ws1/channels/ses-setup",
        content=content,
        headers={"Content-Type": "application/json", **await api.key()},
    )
    assert response.status_code == 201, response.text
    assert key_lookups == ["authenticate"]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_body_one_byte_over_the_limit_is_413(
    api: Api, key_lookups: list[str], framing: str
) -> None:
    body = setup_body(MAX_BODY_BYTES + 1)
    content: Any = body if framing == "content-length" else async_chunks(body)
    response = await api.client.post(
        "/v1/ws1/channels/ses-setup",
        content=content,
        headers={"Content-Type": "application/json", **await api.key()},
    )
    assert_too_large(response)
    assert key_lookups == []


def test_openapi_documents_the_413_on_post_routes(api: Api) -> None:
    paths = api.app.openapi()["paths"]
    assert "413" in paths["/v1/{workspace_id}/channels/ses-setup"]["post"]["responses"]
    assert (
        "413"
        in paths["/v1/{workspace_id}/channels/ses-setup/{setup_id}/verify"]["post"]["responses"]
    )
    assert "413" in paths["/v1/{workspace_id}/use-cases"]["post"]["responses"]
    assert "413" not in paths["/v1/{workspace_id}/channels/ses-setup"]["get"]["responses"]


@pytest.fixture
def live_server(api: Api) -> Iterator[LiveServer]:
    """The same configuration as `api`, served by uvicorn over a real socket."""
    server = LiveServer(api_settings(**api.settings.model_dump())).start()
    try:
        yield server
    finally:
        server.stop()


def memory_kib(field: str) -> int:
    """A memory figure of this process (the live server runs in a thread of it)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


def reset_peak() -> str:
    """Restart the peak resident size count if the kernel allows; the field to read after."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")  # resets VmHWM to the current VmRSS (Linux 4.0+)
    except OSError:
        return "VmRSS"  # only the memory still held afterwards can be compared
    return "VmHWM"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_ten_megabytes_over_a_socket_are_refused_without_being_buffered(
    api: Api, live_server: LiveServer, framing: str
) -> None:
    headers = {"Content-Type": "application/json", **await api.key()}
    if framing == "content-length":
        headers["Content-Length"] = str(TEN_MB)
    # Generous timeout: the test asserts the answer and the memory, never the time taken.
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        assert (await client.get("/healthz")).status_code == 200  # connection and buffers set up
        before = memory_kib("VmRSS")
        field = reset_peak()
        response = await client.post(
            "/v1/ws1/channels/ses-setup", content=blank_chunks(TEN_MB), headers=headers
        )
        grown = memory_kib(field) - before
    assert_too_large(response)
    assert grown < 5 * 1024, f"{field} grew by {grown} KiB while 10 MB were sent"
