"""What `sending` shows for SES's reputation entity of a tenant (pure mapping)."""

from __future__ import annotations

import pytest

from email_channels.integrations.ses import Reputation, policy_arn, policy_name
from email_channels.ses_setups.sending import sending_values


def _reputation(customer: str = "ENABLED", ses: str = "ENABLED", **rest: str) -> Reputation:
    return Reputation(
        customer_status=customer,
        customer_cause=rest.get("customer_cause"),
        ses_status=ses,
        ses_cause=rest.get("ses_cause"),
        policy=rest.get("policy", "standard"),
        impact=rest.get("impact"),
    )


@pytest.mark.parametrize(
    ("reputation", "status", "paused_by"),
    [
        (_reputation(), "enabled", None),
        (_reputation(customer="REINSTATED"), "enabled", None),
        (_reputation(customer="DISABLED"), "paused", "workspace"),
        (_reputation(ses="DISABLED"), "paused", "ses"),
        # While SES holds the tenant, resuming is not the workspace's to do: SES is named.
        (_reputation(customer="DISABLED", ses="DISABLED"), "paused", "ses"),
    ],
)
def test_who_paused_sending(reputation: Reputation, status: str, paused_by: str | None) -> None:
    values = sending_values(reputation)
    assert (values["sending_status"], values["sending_paused_by"]) == (status, paused_by)


def test_ses_cause_and_impact_are_shown_in_lower_case_impact() -> None:
    values = sending_values(_reputation(ses="DISABLED", ses_cause="Bounces", impact="HIGH"))
    assert values["sending_cause"] == "Bounces"
    assert values["reputation_impact"] == "high"


def test_policy_arns_are_ses_managed_ones_of_the_tenants_region() -> None:
    tenant = "arn:aws:ses:eu-west-1:123456789012:tenant/acme/tn-1"
    arn = policy_arn(tenant_arn=tenant, policy="strict")
    assert arn == "arn:aws:ses:eu-west-1:aws:reputation-policy/strict"
    assert policy_name(arn) == "strict"
    assert policy_name("arn:aws:ses:eu-west-1:aws:reputation-policy/custom") is None
    assert policy_name(None) is None
