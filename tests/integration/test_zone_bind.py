"""The zone fragment in real BIND 9: `named-checkzone` loads it, `named` serving it verifies."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.bind import BindServer
from tests.support.fixtures_api import Api
from tests.support.fixtures_bind import TestZone

pytestmark = pytest.mark.bind

URL = "/v1/ws1/channels/ses-setup"


def zone_head(domain: str) -> str:
    """The SOA, NS and glue of a zone of our own for `domain`."""
    return (
        f"$ORIGIN {domain}.\n$TTL 300\n"
        f"@ IN SOA ns1 hostmaster 2026010101 3600 600 86400 300\n"
        f"@ IN NS ns1\nns1 IN A 127.0.0.1\n"
    )


async def _fragment(api: Api, zone: TestZone, headers: dict[str, str]) -> tuple[str, str]:
    """(setup id, zone fragment) of a new setup for the test's domain."""
    setup = await api.create_setup(
        headers, tenant_name=f"z-{uuid.uuid4().hex[:10]}", domain_identity=zone.domain
    )
    response = await api.client.get(f"{URL}/{setup['id']}/zone", headers=headers)
    assert response.status_code == 200, response.text
    return setup["id"], response.text


async def test_named_checkzone_accepts_the_zone_with_the_fragment_appended(
    api: Api, dns_zone: TestZone, tmp_path: Path
) -> None:
    checkzone = shutil.which("named-checkzone") or "/usr/bin/named-checkzone"
    headers = await api.key()
    _, fragment = await _fragment(api, dns_zone, headers)
    zone_file = tmp_path / "zone.db"
    zone_file.write_text(zone_head(dns_zone.domain) + fragment)

    # -i local: no lookups of the out-of-zone MX and CNAME targets (this machine is offline).
    flags = ["-i", "local", "-k", "fail", "-n", "fail", "-m", "fail", "-M", "fail"]
    process = await asyncio.create_subprocess_exec(
        checkzone,
        *flags,
        dns_zone.domain,
        str(zone_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    result = subprocess.CompletedProcess(checkzone, process.returncode, output.decode(), "")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("OK"), result.stdout


async def test_bind_serving_the_fragment_makes_the_setup_verified(
    api: Api, dns_zone: TestZone, bind_server: BindServer
) -> None:
    headers = await api.key()
    setup_id, fragment = await _fragment(api, dns_zone, headers)
    before = (await api.client.get(f"{URL}/{setup_id}", headers=headers)).json()
    assert before["dns_verified"] is False

    bind_server.add_zone(dns_zone.domain, zone_text=zone_head(dns_zone.domain) + fragment)
    try:
        detail = (await api.client.get(f"{URL}/{setup_id}", headers=headers)).json()
    finally:
        bind_server.remove_zone(dns_zone.domain)

    assert [r["status"] for r in detail["dns_records"]] == ["verified"] * 7, detail
    assert detail["dns_verified"] is True
