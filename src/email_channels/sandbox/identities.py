"""Email identity operations: Easy DKIM tokens and the custom MAIL FROM domain."""

from __future__ import annotations

import dataclasses
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
from email_channels.sandbox.paging import keyset_page
from email_channels.sandbox.shapes import bad_request
from email_channels.sandbox.state import EmailIdentity, SesState
from email_channels.sandbox.tagging import tags_from_request, tags_to_response

_DNS_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$", re.IGNORECASE)
_DKIM_TOKEN_COUNT = 3
_DKIM_TOKEN_LENGTH = 32
_DEFAULT_KEY_LENGTH = "RSA_2048_BIT"
# The model's documentation of ListEmailIdentities' PageSize: "no more than 1000".
_MAX_LIST_PAGE_SIZE = 1000


def create_email_identity(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """CreateEmailIdentity with Easy DKIM (BYODKIM and DKIM replication are not emulated)."""
    name: str = request["EmailIdentity"]
    identity_type = "EMAIL_ADDRESS" if "@" in name else "DOMAIN"
    _check_identity_name(name)
    tags = tags_from_request(request)
    signing = request.get("DkimSigningAttributes") or {}
    if signing.get("DomainSigningPrivateKey") or signing.get("DomainSigningSelector"):
        raise bad_request("The sandbox emulates Easy DKIM only, not BYODKIM.")
    if signing.get("DomainSigningAttributesOrigin", "AWS_SES") != "AWS_SES":
        raise bad_request("The sandbox emulates DomainSigningAttributesOrigin AWS_SES only.")
    if name in state.identities:
        raise already_exists(f"Email identity {name} already exists.")
    if len(state.identities) >= account.quotas.max_email_identities:
        raise limit_exceeded(
            f"The account already has {account.quotas.max_email_identities} email identities."
        )
    tokens: tuple[str, ...] = ()
    if identity_type == "DOMAIN":
        tokens = tuple(random_lower_alnum(_DKIM_TOKEN_LENGTH) for _ in range(_DKIM_TOKEN_COUNT))
    identity = EmailIdentity(
        name=name,
        arn=account.identity_arn(name),
        identity_type=identity_type,
        created_at=time.time(),
        dkim_tokens=tokens,
        signing_hosted_zone=account.signing_hosted_zone,
        next_signing_key_length=signing.get("NextSigningKeyLength", _DEFAULT_KEY_LENGTH),
        tags=tags,
        configuration_set_name=request.get("ConfigurationSetName"),
    )
    state.identities[name] = identity
    return {
        "IdentityType": identity.identity_type,
        "VerifiedForSendingStatus": False,
        "DkimAttributes": _dkim_attributes(identity),
    }


def get_email_identity(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """GetEmailIdentity: nothing is ever verified, since the emulator does not look at DNS."""
    identity = _find_identity(state, request["EmailIdentity"])
    response: JsonObject = {
        "IdentityType": identity.identity_type,
        "FeedbackForwardingStatus": True,
        "VerifiedForSendingStatus": False,
        "DkimAttributes": _dkim_attributes(identity),
        "Policies": {},
        "Tags": tags_to_response(identity.tags),
        "ConfigurationSetName": identity.configuration_set_name,
        "VerificationStatus": "PENDING",
    }
    if identity.mail_from_domain:
        response["MailFromAttributes"] = {
            "MailFromDomain": identity.mail_from_domain,
            "MailFromDomainStatus": "PENDING",
            "BehaviorOnMxFailure": identity.behavior_on_mx_failure,
        }
    return response


def delete_email_identity(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """DeleteEmailIdentity; associations that point at it go with it."""
    identity = _find_identity(state, request["EmailIdentity"])
    del state.identities[identity.name]
    for key in state.associations.of_resource(identity.arn):
        del state.associations[key]
    return {}


def put_email_identity_mail_from_attributes(
    state: SesState, request: JsonObject, account: Account
) -> JsonObject:
    """PutEmailIdentityMailFromAttributes; an empty MailFromDomain removes the custom domain."""
    identity = _find_identity(state, request["EmailIdentity"])
    mail_from: str | None = request.get("MailFromDomain") or None
    if mail_from is not None:
        parent = identity.name.rpartition("@")[2].lower()
        if not mail_from.lower().endswith("." + parent) or not _is_host_name(mail_from):
            raise bad_request(
                f"MailFromDomain {mail_from} must be a subdomain of the identity {parent}."
            )
    state.identities[identity.name] = dataclasses.replace(
        identity,
        mail_from_domain=mail_from,
        behavior_on_mx_failure=request.get("BehaviorOnMxFailure", "USE_DEFAULT_VALUE"),
    )
    return {}


def list_email_identities(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """ListEmailIdentities, oldest first, paged by a keyset NextToken on (created_at, name)."""
    wanted: dict[str, str] = request.get("Filter") or {}
    name_part = wanted.get("IDENTITY_NAME_CONTAINS", "").lower()
    identities = [
        identity
        for identity in state.identities.values()
        # Nothing is ever verified here (see get_email_identity), so every status is PENDING.
        if name_part in identity.name.lower()
        and wanted.get("IDENTITY_TYPE") in (None, identity.identity_type)
        and wanted.get("VERIFICATION_STATUS") in (None, "PENDING")
    ]
    page, next_token = keyset_page(
        identities,
        sort_key=lambda identity: (identity.created_at, identity.name),
        request=request,
        maximum_page_size=_MAX_LIST_PAGE_SIZE,
    )
    response: JsonObject = {
        "EmailIdentities": [
            {
                "IdentityType": identity.identity_type,
                "IdentityName": identity.name,
                "SendingEnabled": False,
                "VerificationStatus": "PENDING",
            }
            for identity in page
        ]
    }
    if next_token is not None:
        response["NextToken"] = next_token
    return response


def _find_identity(state: SesState, name: str) -> EmailIdentity:
    identity = state.identities.get(name)
    if identity is None:
        raise not_found(f"Email identity {name} does not exist.")
    return identity


def _dkim_attributes(identity: EmailIdentity) -> JsonObject:
    if identity.identity_type != "DOMAIN":
        # An address signs with its domain's keys; it has no tokens of its own.
        return {"SigningEnabled": False, "Status": "NOT_STARTED"}
    return {
        "SigningEnabled": True,
        "Status": "PENDING",
        "Tokens": list(identity.dkim_tokens),
        "SigningHostedZone": identity.signing_hosted_zone,
        "SigningAttributesOrigin": "AWS_SES",
        "NextSigningKeyLength": identity.next_signing_key_length,
        "CurrentSigningKeyLength": identity.next_signing_key_length,
        "LastKeyGenerationTimestamp": identity.created_at,
    }


def _check_identity_name(name: str) -> None:
    local, at, domain = name.rpartition("@")
    if at and (not local or any(character.isspace() for character in local)):
        raise bad_request(f"{name!r} is not a valid email address.")
    if not _is_host_name(domain):
        raise bad_request(f"{domain!r} is not a valid domain name.")


def _is_host_name(name: str) -> bool:
    labels = name.split(".")
    return (
        len(name) <= 253 and len(labels) >= 2 and all(_DNS_LABEL.match(label) for label in labels)
    )
