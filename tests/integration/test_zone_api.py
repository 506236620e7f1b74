"""GET .../ses-setup/{id}/zone: the records as a zone-file fragment or CSV, on both databases."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import dns.zone

from email_channels.auth.permissions import Permission
from tests.support.fixtures_api import Api

URL = "/v1/ws1/channels/ses-setup"
DOMAIN = "mail.zone-export.example"


def _soa(domain: str) -> str:
    return (
        f"$TTL 300\n@ IN SOA ns1.{domain}. hostmaster.{domain}. 1 3600 600 86400 300\n"
        f"@ IN NS ns1.{domain}.\nns1 IN A 127.0.0.1\n"
    )


async def _setup(api: Api, headers: dict[str, str]) -> dict[str, Any]:
    return await api.create_setup(
        headers, tenant_name=f"zone-{uuid.uuid4().hex[:8]}", domain_identity=DOMAIN
    )


async def test_zone_answers_the_seven_records_as_bind_lines(api: Api) -> None:
    headers = await api.key()
    setup = await _setup(api, headers)

    response = await api.client.get(f"{URL}/{setup['id']}/zone", headers=headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "text/dns"
    assert response.headers["content-disposition"] == f'attachment; filename="{DOMAIN}.zone"'
    lines = response.text.splitlines()
    assert len(lines) == 7
    for line, record in zip(lines, setup["dns_records"], strict=True):
        name, ttl, klass, rdtype, _ = line.split("\t")
        assert (name, ttl, klass, rdtype) == (record["address"] + ".", "3600", "IN", record["type"])
    zone = dns.zone.from_text(_soa(DOMAIN) + response.text, origin=DOMAIN, relativize=False)
    for record in setup["dns_records"]:
        rdataset = zone.find_rdataset(record["address"] + ".", record["type"])
        if record["type"] == "TXT":
            values = {b"".join(r.strings).decode() for r in rdataset}  # type: ignore[attr-defined]
        else:
            values = {r.to_text().rstrip(".") for r in rdataset}
        assert record["record"] in values


async def test_zone_as_csv_has_a_header_and_one_row_per_record(api: Api) -> None:
    headers = await api.key()
    setup = await _setup(api, headers)

    response = await api.client.get(
        f"{URL}/{setup['id']}/zone", params={"format": "csv"}, headers=headers
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "text/csv"
    assert response.headers["content-disposition"] == f'attachment; filename="{DOMAIN}.csv"'
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["type", "name", "value"]
    assert rows[1:] == [[r["type"], r["address"], r["record"]] for r in setup["dns_records"]]


async def test_zone_in_another_format_is_a_422(api: Api) -> None:
    headers = await api.key()
    setup = await _setup(api, headers)

    response = await api.client.get(
        f"{URL}/{setup['id']}/zone", params={"format": "json"}, headers=headers
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["format"]


async def test_zone_needs_channel_view_and_the_same_workspace(api: Api) -> None:
    headers = await api.key()
    setup = await _setup(api, headers)
    path = f"{URL}/{setup['id']}/zone"
    create_only = await api.key(permissions=[Permission.CHANNEL_CREATE])
    other_workspace = await api.key("ws2")

    assert (await api.client.get(path)).status_code == 401
    assert (await api.client.get(path, headers=await api.revoked_key())).status_code == 401
    assert (await api.client.get(path, headers=create_only)).status_code == 403
    assert (await api.client.get(path, headers=other_workspace)).status_code == 403
    foreign = f"/v1/ws2/channels/ses-setup/{setup['id']}/zone"
    assert (await api.client.get(foreign, headers=other_workspace)).status_code == 404
    missing = f"{URL}/{uuid.uuid4()}/zone"
    assert (await api.client.get(missing, headers=headers)).status_code == 404
    assert (await api.client.get(f"{URL}/not-a-uuid/zone", headers=headers)).status_code == 422


async def test_zone_of_a_deleted_setup_is_a_404(api: Api) -> None:
    headers = await api.key()
    setup = await _setup(api, headers)
    assert (await api.client.delete(f"{URL}/{setup['id']}", headers=headers)).status_code == 204

    response = await api.client.get(f"{URL}/{setup['id']}/zone", headers=headers)

    assert response.status_code == 404
