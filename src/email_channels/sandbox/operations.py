"""The table of emulated SES operations: handler and whether it changes state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from email_channels.sandbox import identities, reputation, tagging, tenants
from email_channels.sandbox.account import Account, JsonObject
from email_channels.sandbox.state import SesState

Handler = Callable[[SesState, JsonObject, Account], JsonObject]


@dataclass(frozen=True, slots=True)
class OperationSpec:
    handler: Handler
    mutates: bool


OPERATIONS: dict[str, OperationSpec] = {
    "CreateTenant": OperationSpec(tenants.create_tenant, mutates=True),
    "GetTenant": OperationSpec(tenants.get_tenant, mutates=False),
    "DeleteTenant": OperationSpec(tenants.delete_tenant, mutates=True),
    "CreateEmailIdentity": OperationSpec(identities.create_email_identity, mutates=True),
    "GetEmailIdentity": OperationSpec(identities.get_email_identity, mutates=False),
    "DeleteEmailIdentity": OperationSpec(identities.delete_email_identity, mutates=True),
    "PutEmailIdentityMailFromAttributes": OperationSpec(
        identities.put_email_identity_mail_from_attributes, mutates=True
    ),
    "CreateTenantResourceAssociation": OperationSpec(
        tenants.create_tenant_resource_association, mutates=True
    ),
    "DeleteTenantResourceAssociation": OperationSpec(
        tenants.delete_tenant_resource_association, mutates=True
    ),
    "ListTenantResources": OperationSpec(tenants.list_tenant_resources, mutates=False),
    "ListTenants": OperationSpec(tenants.list_tenants, mutates=False),
    "ListEmailIdentities": OperationSpec(identities.list_email_identities, mutates=False),
    "TagResource": OperationSpec(tagging.tag_resource, mutates=True),
    "UntagResource": OperationSpec(tagging.untag_resource, mutates=True),
    "ListTagsForResource": OperationSpec(tagging.list_tags_for_resource, mutates=False),
    "GetReputationEntity": OperationSpec(reputation.get_reputation_entity, mutates=False),
    "ListReputationEntities": OperationSpec(reputation.list_reputation_entities, mutates=False),
    "UpdateReputationEntityCustomerManagedStatus": OperationSpec(
        reputation.update_customer_managed_status, mutates=True
    ),
    "UpdateReputationEntityPolicy": OperationSpec(reputation.update_policy, mutates=True),
}

# Changes that no SES operation makes: SES's own side, played by the control routes.
CONTROL_CHANGES: dict[str, Handler] = {
    "SetSesManagedStatus": reputation.set_ses_managed_status,
}
