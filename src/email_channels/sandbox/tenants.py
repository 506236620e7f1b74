"""Tenant operations and the tenant-resource associations."""

from __future__ import annotations

import re
import time

from email_channels.sandbox.account import (
    Account,
    JsonObject,
    already_exists,
    limit_exceeded,
    not_found,
    random_lower_alnum,
)
from email_channels.sandbox.paging import decode_token, encode_token, keyset_page, page_size
from email_channels.sandbox.reputation import (
    ENABLED,
    default_policy,
    sending_status_aggregate,
    status_record,
)
from email_channels.sandbox.shapes import bad_request
from email_channels.sandbox.state import Association, SesState, Tenant
from email_channels.sandbox.tagging import tags_from_request, tags_to_response

# The SES documentation: up to 64 letters, digits, hyphens and underscores.
_TENANT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_RESOURCE_TYPES = ("EMAIL_IDENTITY", "CONFIGURATION_SET", "EMAIL_TEMPLATE")


def create_tenant(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """CreateTenant."""
    name: str = request["TenantName"]
    if not _TENANT_NAME.match(name):
        raise bad_request(
            f"TenantName must be 1-64 letters, digits, hyphens or underscores, not {name!r}"
        )
    tags = tags_from_request(request)
    if name in state.tenants:
        raise already_exists(f"Tenant {name} already exists.")
    if len(state.tenants) >= account.quotas.max_tenants:
        raise limit_exceeded(f"The account already has {account.quotas.max_tenants} tenants.")
    tenant_id = "tn-" + random_lower_alnum(17)
    tenant = Tenant(
        name=name,
        tenant_id=tenant_id,
        arn=account.tenant_arn(name, tenant_id),
        created_at=time.time(),
        tags=tags,
        suppression_attributes=request.get("SuppressionAttributes"),
        reputation_policy=default_policy(account.region),
        customer_managed_status=status_record(ENABLED),
        ses_managed_status=status_record(ENABLED),
    )
    state.tenants[name] = tenant
    return _tenant_to_response(tenant)


def get_tenant(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """GetTenant."""
    return {"Tenant": _tenant_to_response(_find_tenant(state, request["TenantName"]))}


def delete_tenant(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """DeleteTenant; its resource associations go with it."""
    tenant = _find_tenant(state, request["TenantName"])
    del state.tenants[tenant.name]
    for key in state.associations.of_tenant(tenant.name):
        del state.associations[key]
    return {}


def create_tenant_resource_association(
    state: SesState, request: JsonObject, account: Account
) -> JsonObject:
    """CreateTenantResourceAssociation; the emulator knows email identities as resources."""
    tenant = _find_tenant(state, request["TenantName"])
    resource_arn: str = request["ResourceArn"]
    # An identity's ARN ends in its name: one look-up, not a walk over every identity.
    identity = state.identities.get(resource_arn.rpartition(":identity/")[2])
    if identity is None or identity.arn != resource_arn:
        raise not_found(f"Resource {resource_arn} does not exist.")
    key = (tenant.name, resource_arn)
    if key in state.associations:
        raise already_exists(f"Resource {resource_arn} is already associated with {tenant.name}.")
    state.associations[key] = Association(tenant.name, resource_arn, time.time())
    return {}


def delete_tenant_resource_association(
    state: SesState, request: JsonObject, account: Account
) -> JsonObject:
    """DeleteTenantResourceAssociation."""
    tenant = _find_tenant(state, request["TenantName"])
    key = (tenant.name, request["ResourceArn"])
    if key not in state.associations:
        raise not_found(f"Resource {key[1]} is not associated with tenant {tenant.name}.")
    del state.associations[key]
    return {}


def list_tenant_resources(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """ListTenantResources, oldest association first, paged by an opaque NextToken."""
    tenant = _find_tenant(state, request["TenantName"])
    wanted_type = (request.get("Filter") or {}).get("RESOURCE_TYPE")
    if wanted_type is not None and wanted_type not in _RESOURCE_TYPES:
        raise bad_request(f"RESOURCE_TYPE must be one of {', '.join(_RESOURCE_TYPES)}.")
    arns = [
        resource_arn
        for _, resource_arn in state.associations.of_tenant(tenant.name)
        if wanted_type in (None, "EMAIL_IDENTITY")
    ]
    start = _decode_offset(request.get("NextToken"))
    size = page_size(request)
    page = arns[start : start + size]
    response: JsonObject = {
        "TenantResources": [{"ResourceType": "EMAIL_IDENTITY", "ResourceArn": arn} for arn in page]
    }
    if start + size < len(arns):
        response["NextToken"] = encode_token(kind="offset", position=str(start + size))
    return response


def list_tenants(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """ListTenants, oldest first, paged by a keyset NextToken on (created_at, name)."""
    wanted: dict[str, str] = request.get("Filter") or {}
    name_part = wanted.get("TENANT_NAME_CONTAINS")
    sending_status = wanted.get("SENDING_STATUS")
    tenants = [
        tenant
        for tenant in state.tenants.values()
        if (name_part is None or name_part in tenant.name)
        and sending_status in (None, sending_status_aggregate(tenant))
    ]
    page, next_token = keyset_page(
        tenants, sort_key=lambda tenant: (tenant.created_at, tenant.name), request=request
    )
    response: JsonObject = {
        "Tenants": [
            {
                "TenantName": tenant.name,
                "TenantId": tenant.tenant_id,
                "TenantArn": tenant.arn,
                "CreatedTimestamp": tenant.created_at,
                "SendingStatus": sending_status_aggregate(tenant),
            }
            for tenant in page
        ]
    }
    if next_token is not None:
        response["NextToken"] = next_token
    return response


def _find_tenant(state: SesState, name: str) -> Tenant:
    tenant = state.tenants.get(name)
    if tenant is None:
        raise not_found(f"Tenant {name} does not exist.")
    return tenant


def _tenant_to_response(tenant: Tenant) -> JsonObject:
    return {
        "TenantName": tenant.name,
        "TenantId": tenant.tenant_id,
        "TenantArn": tenant.arn,
        "CreatedTimestamp": tenant.created_at,
        "Tags": tags_to_response(tenant.tags),
        "SendingStatus": sending_status_aggregate(tenant),
        "SuppressionAttributes": tenant.suppression_attributes,
    }


def _decode_offset(token: str | None) -> int:
    # ListTenantResources keeps its offset token; only the account-wide lists use a keyset.
    position = decode_token(token, kind="offset")
    if position is None:
        return 0
    if not position.isdigit():
        raise bad_request("NextToken is not valid.")
    return int(position)
