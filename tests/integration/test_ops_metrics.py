"""/metrics: the families of DESIGN.md section 10 with their labels; route labels are templates."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.fixtures_api import Api

SETUP_ROUTE = "/v1/{workspace_id}/channels/ses-setup/{setup_id}"
CREATE_ROUTE = "/v1/{workspace_id}/channels/ses-setup"

# family name as the parser gives it -> (type, label names of its samples)
SECTION_10 = {
    "email_channels_http_requests": ("counter", {"method", "route", "status"}),
    "email_channels_http_request_duration_seconds": ("histogram", {"method", "route"}),
    "email_channels_ses_calls": ("counter", {"operation", "outcome"}),
    "email_channels_dns_lookups": ("counter", {"rdtype", "outcome"}),
    "email_channels_webhook_deliveries": ("counter", {"outcome"}),
}
GAUGES = ("email_channels_db_pool_connections_in_use", "email_channels_dns_checks_in_flight")


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"rate_limit": 0}  # a thousand GETs of one key are the point of a test here


def body() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]
    return {"tenant_name": f"metrics-{suffix}", "domain_identity": f"m{suffix}.example.test"}


async def scrape(api: Api) -> dict[str, Any]:
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def value(families: dict[str, Any], sample_name: str, **labels: str) -> float:
    """The sample's value, 0 when it is not there (yet)."""
    return sum(
        sample.value
        for family in families.values()
        for sample in family.samples
        if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def label_values(families: dict[str, Any]) -> dict[str, set[tuple[tuple[str, str], ...]]]:
    """Every label set of every sample of our families."""
    seen: dict[str, set[tuple[tuple[str, str], ...]]] = defaultdict(set)
    for name, family in families.items():
        if name.startswith("email_channels_"):
            for sample in family.samples:
                seen[name].add(tuple(sorted(sample.labels.items())))
    return seen


async def test_metrics_hold_every_family_of_section_10_after_a_create_a_get_and_a_failing_ses_call(
    api: Api, sandbox: Any
) -> None:
    headers = await api.key()
    before = await scrape(api)
    setup = await api.create_setup(headers, **body())
    got = await api.client.get(f"/v1/ws1/channels/ses-setup/{setup['id']}", headers=headers)
    assert got.status_code == 200
    sandbox.add_fault(operation="CreateTenant", error_code="ServiceUnavailable", times=10)
    failed = await api.client.post("/v1/ws1/channels/ses-setup", json=body(), headers=headers)
    assert failed.status_code == 502

    after = await scrape(api)

    for name, (kind, labels) in SECTION_10.items():
        assert after[name].type == kind, name
        assert after[name].samples, f"{name} has no samples"
        for sample in after[name].samples:
            assert set(sample.labels) - {"le"} == labels, (name, sample)
    for name in GAUGES:
        assert after[name].type == "gauge"

    def grew(sample: str, **labels: str) -> float:
        return value(after, sample, **labels) - value(before, sample, **labels)

    requests = "email_channels_http_requests_total"
    assert grew(requests, method="POST", route=CREATE_ROUTE, status="201") == 1
    assert grew(requests, method="POST", route=CREATE_ROUTE, status="502") == 1
    assert grew(requests, method="GET", route=SETUP_ROUTE, status="200") == 1
    duration = "email_channels_http_request_duration_seconds_count"
    assert grew(duration, method="GET", route=SETUP_ROUTE) == 1
    ses = "email_channels_ses_calls_total"
    assert grew(ses, operation="CreateTenant", outcome="ok") == 1
    # One count per operation, however many attempts its retries made (the fault outlasts 4).
    assert grew(ses, operation="CreateTenant", outcome="unavailable") == 1
    assert grew(ses, operation="CreateTenantResourceAssociation", outcome="ok") == 1
    # The setup's seven records: one query each at least (its domain has none: nxdomain).
    assert grew("email_channels_dns_lookups_total") >= 7
    assert grew("email_channels_dns_lookups_total", rdtype="CNAME") >= 3
    assert value(after, "email_channels_db_pool_connections_in_use") >= 0


async def test_a_thousand_gets_of_random_setup_ids_add_no_label_values(api: Api) -> None:
    headers = await api.key()
    # Every answer a scan can get once, so that the label sets are complete before counting.
    for setup_id in (uuid.uuid4(), "not-a-uuid"):
        await api.client.get(f"/v1/ws1/channels/ses-setup/{setup_id}", headers=headers)
    await api.client.get(f"/nowhere/{uuid.uuid4()}")
    before = label_values(await scrape(api))

    for index in range(1000):
        setup_id = uuid.uuid4() if index % 2 else uuid.uuid4().hex[: index % 17 + 1]
        response = await api.client.get(f"/v1/ws1/channels/ses-setup/{setup_id}", headers=headers)
        assert response.status_code in (404, 422)
    for _ in range(20):
        assert (await api.client.get(f"/nowhere/{uuid.uuid4()}")).status_code == 404

    after = label_values(await scrape(api))
    assert after == before
    routes = {dict(labels).get("route") for labels in after["email_channels_http_requests"]}
    assert SETUP_ROUTE in routes
    assert "unmatched" in routes
    assert not any(route and "nowhere" in route for route in routes)


async def test_a_made_up_method_counts_as_other(api: Api) -> None:
    await api.client.request("BREW", "/healthz")

    families = await scrape(api)

    methods = {s.labels["method"] for s in families["email_channels_http_requests"].samples}
    assert "BREW" not in methods
    assert "other" in methods
