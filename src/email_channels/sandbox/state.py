"""The emulator's SES resources and their JSON file, rewritten atomically after each change."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_VERSION = 1

Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    tenant_id: str
    arn: str
    created_at: float
    tags: Tags = ()
    suppression_attributes: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class EmailIdentity:
    name: str
    arn: str
    identity_type: str  # DOMAIN | EMAIL_ADDRESS
    created_at: float
    dkim_tokens: tuple[str, ...]
    signing_hosted_zone: str
    next_signing_key_length: str
    tags: Tags = ()
    configuration_set_name: str | None = None
    mail_from_domain: str | None = None
    behavior_on_mx_failure: str = "USE_DEFAULT_VALUE"


@dataclass(frozen=True, slots=True)
class Association:
    tenant_name: str
    resource_arn: str
    created_at: float


@dataclass(slots=True)
class SesState:
    """All resources; records are immutable, so a copy of the three dicts is a full snapshot."""

    tenants: dict[str, Tenant] = field(default_factory=dict)
    identities: dict[str, EmailIdentity] = field(default_factory=dict)
    # Keyed by (tenant name, resource ARN); dicts keep insertion order, which lists rely on.
    associations: dict[tuple[str, str], Association] = field(default_factory=dict)

    def copy(self) -> SesState:
        """A snapshot that an operation may change without touching this one."""
        return SesState(dict(self.tenants), dict(self.identities), dict(self.associations))

    def to_json(self) -> dict[str, Any]:
        """The document written to the state file."""
        return {
            "version": STATE_VERSION,
            "tenants": [_tenant_to_json(tenant) for tenant in self.tenants.values()],
            "identities": [_identity_to_json(identity) for identity in self.identities.values()],
            "associations": [
                {
                    "tenant_name": association.tenant_name,
                    "resource_arn": association.resource_arn,
                    "created_at": association.created_at,
                }
                for association in self.associations.values()
            ],
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> SesState:
        """Rebuild the state written by `to_json`."""
        if document.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported state version {document.get('version')!r}")
        state = cls()
        for raw in document["tenants"]:
            tenant = Tenant(**{**raw, "tags": _tags(raw["tags"])})
            state.tenants[tenant.name] = tenant
        for raw in document["identities"]:
            identity = EmailIdentity(
                **{**raw, "tags": _tags(raw["tags"]), "dkim_tokens": tuple(raw["dkim_tokens"])}
            )
            state.identities[identity.name] = identity
        for raw in document["associations"]:
            association = Association(**raw)
            state.associations[(association.tenant_name, association.resource_arn)] = association
        return state


class StateStore:
    """Loads and saves the state file; with no path the state lives in memory only."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path is not None else None

    def load(self) -> SesState:
        """The saved state, or an empty one when there is no file yet."""
        if self.path is None or not self.path.exists():
            return SesState()
        try:
            return SesState.from_json(json.loads(self.path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            raise RuntimeError(f"sandbox state file {self.path} is unreadable: {exc}") from exc

    def save(self, state: SesState) -> None:
        """Write the state so that a crash leaves either the old file or the new one, whole."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        content = json.dumps(state.to_json(), indent=1).encode()
        descriptor, temp_name = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "wb") as temp_file:
                temp_file.write(content)
                temp_file.flush()
                os.fsync(temp_file.fileno())
            os.replace(temp_name, self.path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise


def _tenant_to_json(tenant: Tenant) -> dict[str, Any]:
    return {
        "name": tenant.name,
        "tenant_id": tenant.tenant_id,
        "arn": tenant.arn,
        "created_at": tenant.created_at,
        "tags": [list(tag) for tag in tenant.tags],
        "suppression_attributes": tenant.suppression_attributes,
    }


def _identity_to_json(identity: EmailIdentity) -> dict[str, Any]:
    return {
        "name": identity.name,
        "arn": identity.arn,
        "identity_type": identity.identity_type,
        "created_at": identity.created_at,
        "dkim_tokens": list(identity.dkim_tokens),
        "signing_hosted_zone": identity.signing_hosted_zone,
        "next_signing_key_length": identity.next_signing_key_length,
        "tags": [list(tag) for tag in identity.tags],
        "configuration_set_name": identity.configuration_set_name,
        "mail_from_domain": identity.mail_from_domain,
        "behavior_on_mx_failure": identity.behavior_on_mx_failure,
    }


def _tags(raw: list[list[str]]) -> Tags:
    return tuple((key, value) for key, value in raw)
