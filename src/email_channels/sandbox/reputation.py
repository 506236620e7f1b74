"""Reputation entities: a tenant's managed policy and its two sending statuses.

SES keeps a reputation entity per tenant (type `RESOURCE`, referenced by the tenant's ARN):
the customer-managed status (what the account owner sets), the SES-managed status (SES
pausing a tenant whose reputation findings cross its policy's thresholds), the aggregate of
both, and the impact of the worst finding. The emulator plays SES's side through the
`POST /_sandbox/reputation` control route (`set_ses_managed_status`).
"""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any

from email_channels.sandbox.account import Account, JsonObject, not_found
from email_channels.sandbox.paging import keyset_page
from email_channels.sandbox.shapes import bad_request
from email_channels.sandbox.state import SesState, Tenant

ENTITY_TYPE = "RESOURCE"
ENABLED, DISABLED, REINSTATED = "ENABLED", "DISABLED", "REINSTATED"
SENDING_STATUSES = (ENABLED, REINSTATED, DISABLED)
IMPACTS = ("LOW", "HIGH")
# The pattern CloudFormation documents for AWS::SES::Tenant's ReputationEntityPolicy.
_POLICY_ARN = re.compile(
    r"^arn:[a-z0-9-]+:ses:[a-z0-9-]+:aws:reputation-policy/(none|standard|strict)$"
)
_FILTER_KEYS = ("ENTITY_TYPE", "REPUTATION_IMPACT", "SENDING_STATUS", "ENTITY_REFERENCE_PREFIX")
# A tenant's ARN: arn:aws:ses:REGION:ACCOUNT:tenant/NAME/ID.
_TENANT_ARN = re.compile(r"^arn:[a-z0-9-]+:ses:[a-z0-9-]+:[0-9]+:tenant/([^/]+)/[^/]+$")


def default_policy(region: str) -> str:
    """The managed policy a new tenant starts with (SES's default: standard)."""
    return f"arn:aws:ses:{region}:aws:reputation-policy/standard"


def status_record(status: str, cause: str | None = None) -> dict[str, Any]:
    """A StatusRecord as SES answers it, stamped now."""
    record: dict[str, Any] = {"Status": status, "LastUpdatedTimestamp": time.time()}
    if cause:
        record["Cause"] = cause
    return record


def sending_status_aggregate(tenant: Tenant) -> str:
    """DISABLED when either status is; REINSTATED when the customer reinstated; else ENABLED."""
    customer = (tenant.customer_managed_status or {}).get("Status", ENABLED)
    ses = (tenant.ses_managed_status or {}).get("Status", ENABLED)
    if DISABLED in (customer, ses):
        return DISABLED
    return REINSTATED if customer == REINSTATED else ENABLED


def get_reputation_entity(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """GetReputationEntity."""
    tenant = _find_entity(state, request)
    return {"ReputationEntity": _entity(tenant, account)}


def list_reputation_entities(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """ListReputationEntities, oldest tenant first, paged by a keyset NextToken."""
    wanted: dict[str, str] = request.get("Filter") or {}
    unknown = set(wanted) - set(_FILTER_KEYS)
    if unknown:
        raise bad_request(f"Unknown filter keys: {', '.join(sorted(unknown))}.")
    entities = [
        tenant
        for tenant in state.tenants.values()
        if wanted.get("ENTITY_TYPE") in (None, ENTITY_TYPE)
        and wanted.get("REPUTATION_IMPACT") in (None, tenant.reputation_impact)
        and wanted.get("SENDING_STATUS") in (None, sending_status_aggregate(tenant))
        and tenant.arn.startswith(wanted.get("ENTITY_REFERENCE_PREFIX", ""))
    ]
    page, next_token = keyset_page(
        entities, sort_key=lambda tenant: (tenant.created_at, tenant.name), request=request
    )
    response: JsonObject = {"ReputationEntities": [_entity(tenant, account) for tenant in page]}
    if next_token is not None:
        response["NextToken"] = next_token
    return response


def update_customer_managed_status(
    state: SesState, request: JsonObject, account: Account
) -> JsonObject:
    """UpdateReputationEntityCustomerManagedStatus."""
    tenant = _find_entity(state, request)
    status: str = request["SendingStatus"]
    if status not in SENDING_STATUSES:
        raise bad_request(f"SendingStatus must be one of {', '.join(SENDING_STATUSES)}.")
    state.tenants[tenant.name] = dataclasses.replace(
        tenant, customer_managed_status=status_record(status)
    )
    return {}


def update_policy(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """UpdateReputationEntityPolicy: one of SES's managed policies, by ARN."""
    tenant = _find_entity(state, request)
    policy: str = request["ReputationEntityPolicy"]
    if not _POLICY_ARN.match(policy):
        raise bad_request(f"ReputationEntityPolicy {policy!r} is not an SES-managed policy.")
    state.tenants[tenant.name] = dataclasses.replace(tenant, reputation_policy=policy)
    return {}


def set_ses_managed_status(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """SES pausing (DISABLED) or reinstating (ENABLED) a tenant: the control route's change."""
    tenant = state.tenants.get(request["tenant_name"])
    if tenant is None:
        raise not_found(f"Tenant {request['tenant_name']} does not exist.")
    state.tenants[tenant.name] = dataclasses.replace(
        tenant,
        ses_managed_status=status_record(request["ses_managed_status"], request.get("cause")),
        reputation_impact=request.get("impact") or tenant.reputation_impact,
    )
    return {}


def _find_entity(state: SesState, request: JsonObject) -> Tenant:
    if request["ReputationEntityType"] != ENTITY_TYPE:
        raise bad_request(f"ReputationEntityType must be {ENTITY_TYPE}.")
    reference: str = request["ReputationEntityReference"]
    match = _TENANT_ARN.match(reference)
    tenant = state.tenants.get(match.group(1)) if match else None
    # Another region's or account's ARN names no entity here, as in SES.
    if tenant is None or tenant.arn != reference:
        raise not_found(f"Reputation entity {reference} does not exist.")
    return tenant


def _entity(tenant: Tenant, account: Account) -> JsonObject:
    entity: JsonObject = {
        "ReputationEntityReference": tenant.arn,
        "ReputationEntityType": ENTITY_TYPE,
        "ReputationManagementPolicy": tenant.reputation_policy or default_policy(account.region),
        "CustomerManagedStatus": tenant.customer_managed_status or status_record(ENABLED),
        "AwsSesManagedStatus": tenant.ses_managed_status or status_record(ENABLED),
        "SendingStatusAggregate": sending_status_aggregate(tenant),
    }
    if tenant.reputation_impact:
        entity["ReputationImpact"] = tenant.reputation_impact
    return entity
