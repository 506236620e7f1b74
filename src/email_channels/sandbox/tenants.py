"""Tenant operations and the tenant-resource associations."""

from __future__ import annotations

import base64
import binascii
import re
import time

from email_channels.sandbox.account import (
    Account,
    JsonObject,
    already_exists,
    limit_exceeded,
    not_found,
    random_lower_alnum,
    tags_from_request,
    tags_to_response,
)
from email_channels.sandbox.shapes import bad_request
from email_channels.sandbox.state import Association, SesState, Tenant

# The SES documentation: up to 64 letters, digits, hyphens and underscores.
_TENANT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DEFAULT_PAGE_SIZE = 100
_RESOURCE_TYPES = ("EMAIL_IDENTITY", "CONFIGURATION_SET", "EMAIL_TEMPLATE")


def create_tenant(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """CreateTenant."""
    name: str = request["TenantName"]
    if not _TENANT_NAME.match(name):
        raise bad_request(
            f"TenantName must be 1-64 letters, digits, hyphens or underscores, not {name!r}"
        )
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
        tags=tags_from_request(request),
        suppression_attributes=request.get("SuppressionAttributes"),
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
    for key in [key for key in state.associations if key[0] == tenant.name]:
        del state.associations[key]
    return {}


def create_tenant_resource_association(
    state: SesState, request: JsonObject, account: Account
) -> JsonObject:
    """CreateTenantResourceAssociation; the emulator knows email identities as resources."""
    tenant = _find_tenant(state, request["TenantName"])
    resource_arn: str = request["ResourceArn"]
    if not any(identity.arn == resource_arn for identity in state.identities.values()):
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
        association.resource_arn
        for association in state.associations.values()
        if association.tenant_name == tenant.name and wanted_type in (None, "EMAIL_IDENTITY")
    ]
    start = _decode_token(request.get("NextToken"))
    page_size: int = request.get("PageSize") or _DEFAULT_PAGE_SIZE
    page = arns[start : start + page_size]
    response: JsonObject = {
        "TenantResources": [{"ResourceType": "EMAIL_IDENTITY", "ResourceArn": arn} for arn in page]
    }
    if start + page_size < len(arns):
        response["NextToken"] = _encode_token(start + page_size)
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
        "SendingStatus": "ENABLED",
        "SuppressionAttributes": tenant.suppression_attributes,
    }


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_token(token: str | None) -> int:
    if token is None:
        return 0
    try:
        prefix, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if prefix == "offset" and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise bad_request("NextToken is not valid.")
