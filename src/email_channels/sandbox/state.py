"""The emulator's SES resources in memory, and the journal of what an operation changed.

The store (sandbox/store.py) keeps them in SQLite and writes only the journal's keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar

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
    # The tenant's reputation entity (sandbox/reputation.py): the managed policy's ARN, the
    # two status records ({"Status", "Cause", "LastUpdatedTimestamp"}) and the impact.
    reputation_policy: str | None = None
    customer_managed_status: dict[str, Any] | None = None
    ses_managed_status: dict[str, Any] | None = None
    reputation_impact: str | None = None


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


Kind = Literal["tenants", "identities", "associations"]
KINDS: tuple[Kind, ...] = ("tenants", "identities", "associations")


MISSING = object()


class Journal:
    """The keys an operation changed, in order; what the store writes, and nothing else."""

    def __init__(self) -> None:
        # (kind, key) -> whether the key was deleted at some point (then it moves to the end).
        self.changes: dict[tuple[Kind, Any], bool] = {}
        # (kind, key) -> its record before the operation touched it (MISSING: it had none).
        self.previous: dict[tuple[Kind, Any], Any] = {}

    def record(self, kind: Kind, key: Any, *, deleted: bool, previous: Any) -> None:
        self.previous.setdefault((kind, key), previous)
        self.changes[(kind, key)] = deleted or self.changes.get((kind, key), False)

    def take(self) -> dict[tuple[Kind, Any], bool]:
        """The changes so far; the journal starts again empty."""
        changes, self.changes, self.previous = self.changes, {}, {}
        return changes

    def undo(self, state: SesState) -> None:
        """Put back every record the operation changed (a deleted one returns at the end)."""
        for (kind, key), previous in reversed(self.previous.items()):
            records = getattr(state, kind)
            if previous is MISSING:
                records.untracked_pop(key)
            else:
                records.untracked_set(key, previous)
        self.take()


K = TypeVar("K")
V = TypeVar("V")


class TrackedDict(dict[K, V]):
    """A dict that notes in its journal each key set or deleted (handlers use only those)."""

    def __init__(self, kind: Kind, journal: Journal) -> None:
        super().__init__()
        self._kind: Kind = kind
        self._journal = journal

    def __setitem__(self, key: Any, value: Any) -> None:
        previous = dict.get(self, key, MISSING)
        self._journal.record(self._kind, key, deleted=False, previous=previous)
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        previous = dict.__getitem__(self, key)
        super().__delitem__(key)
        self._journal.record(self._kind, key, deleted=True, previous=previous)

    def untracked_set(self, key: Any, value: Any) -> None:
        """Set without noting it (a record loaded from storage, or one an undo puts back)."""
        super().__setitem__(key, value)

    def untracked_pop(self, key: Any) -> None:
        """Remove without noting it (what an undo takes back); no error when it is absent."""
        if dict.__contains__(self, key):
            super().__delitem__(key)

    def _untracked(self, *_: Any, **__: Any) -> Any:
        raise TypeError("change the sandbox state by key: d[key] = value, del d[key]")

    pop = popitem = clear = update = setdefault = _untracked


class Associations(TrackedDict[tuple[str, str], Association]):
    """Associations by (tenant name, resource ARN), indexed by each of the two as well.

    Deleting a tenant or an identity removes its associations, and a tenant lists its
    resources: through the indexes these cost what the tenant or resource has, not what the
    whole account holds (the sandbox scales like a database).
    """

    def __init__(self, journal: Journal) -> None:
        super().__init__("associations", journal)
        self._by_tenant: dict[str, dict[tuple[str, str], None]] = {}
        self._by_resource: dict[str, dict[tuple[str, str], None]] = {}

    def of_tenant(self, tenant_name: str) -> list[tuple[str, str]]:
        """The keys of a tenant's associations, oldest first."""
        return list(self._by_tenant.get(tenant_name, ()))

    def of_resource(self, resource_arn: str) -> list[tuple[str, str]]:
        """The keys of a resource's associations, oldest first."""
        return list(self._by_resource.get(resource_arn, ()))

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self._index(key)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self._unindex(key)

    def untracked_set(self, key: Any, value: Any) -> None:
        super().untracked_set(key, value)
        self._index(key)

    def untracked_pop(self, key: Any) -> None:
        super().untracked_pop(key)
        self._unindex(key)

    def _index(self, key: tuple[str, str]) -> None:
        self._by_tenant.setdefault(key[0], {})[key] = None
        self._by_resource.setdefault(key[1], {})[key] = None

    def _unindex(self, key: tuple[str, str]) -> None:
        for index, part in ((self._by_tenant, key[0]), (self._by_resource, key[1])):
            keys = index.get(part)
            if keys is not None:
                keys.pop(key, None)
                if not keys:
                    del index[part]


class SesState:
    """All resources, changed in place; the journal says what an operation changed."""

    __slots__ = ("associations", "identities", "journal", "tenants")

    def __init__(self) -> None:
        self.journal = Journal()
        self.tenants: TrackedDict[str, Tenant] = TrackedDict("tenants", self.journal)
        self.identities: TrackedDict[str, EmailIdentity] = TrackedDict("identities", self.journal)
        # Keyed by (tenant name, resource ARN); dicts keep insertion order, which lists rely on.
        self.associations = Associations(self.journal)

    def put(self, kind: Kind, record: Any) -> None:
        """Add a record as loaded from storage (not a change)."""
        if kind == "associations":
            self.associations.untracked_set((record.tenant_name, record.resource_arn), record)
        else:
            getattr(self, kind).untracked_set(record.name, record)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> SesState:
        """The state of a version 1 JSON state file (what the sandbox kept before SQLite)."""
        if document.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported state version {document.get('version')!r}")
        state = cls()
        for raw in document["tenants"]:
            state.put("tenants", record_from_json("tenants", raw))
        for raw in document["identities"]:
            state.put("identities", record_from_json("identities", raw))
        for raw in document["associations"]:
            state.put("associations", record_from_json("associations", raw))
        return state


def record_to_json(kind: Kind, record: Any) -> dict[str, Any]:
    """One record as a JSON object (the state file's form, and a stored row's)."""
    if kind == "tenants":
        return _tenant_to_json(record)
    if kind == "identities":
        return _identity_to_json(record)
    return {
        "tenant_name": record.tenant_name,
        "resource_arn": record.resource_arn,
        "created_at": record.created_at,
    }


def record_from_json(kind: Kind, raw: dict[str, Any]) -> Any:
    """The record `record_to_json` wrote."""
    if kind == "tenants":
        return Tenant(**{**raw, "tags": _tags(raw["tags"])})
    if kind == "identities":
        return EmailIdentity(
            **{**raw, "tags": _tags(raw["tags"]), "dkim_tokens": tuple(raw["dkim_tokens"])}
        )
    return Association(**raw)


def _tenant_to_json(tenant: Tenant) -> dict[str, Any]:
    return {
        "name": tenant.name,
        "tenant_id": tenant.tenant_id,
        "arn": tenant.arn,
        "created_at": tenant.created_at,
        "tags": [list(tag) for tag in tenant.tags],
        "suppression_attributes": tenant.suppression_attributes,
        "reputation_policy": tenant.reputation_policy,
        "customer_managed_status": tenant.customer_managed_status,
        "ses_managed_status": tenant.ses_managed_status,
        "reputation_impact": tenant.reputation_impact,
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
