"""The API reference at /docs is served from the package's own files; `/` leads to the console."""

from __future__ import annotations

import re

from tests.support.fixtures_api import Api


async def test_root_redirects_to_the_console(api: Api) -> None:
    response = await api.client.get("/")
    assert response.status_code in {302, 303, 307}
    assert response.headers["location"] == "/console"


async def test_docs_page_refers_only_to_files_of_this_service(api: Api) -> None:
    response = await api.client.get("/docs")
    assert response.status_code == 200
    references = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert references, response.text
    assert all(ref.startswith("/") and not ref.startswith("//") for ref in references), references
    for reference in references:
        asset = await api.client.get(reference)
        assert asset.status_code == 200, reference
        assert asset.content


async def test_no_other_documentation_page_loads_from_a_cdn(api: Api) -> None:
    # FastAPI's ReDoc page would load its script from a CDN: not served.
    assert (await api.client.get("/redoc")).status_code == 404
