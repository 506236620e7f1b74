"""SQL for SES setups."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import (
    ColumnElement,
    bindparam,
    delete,
    exists,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from email_channels.db.clock import database_now
from email_channels.db.driver import DriverPool
from email_channels.errors import MAX_REFERENCES, Conflict, Reference
from email_channels.pagination import AnyRow, Cursor, keyset_query
from email_channels.ses_setups.models import SesSetup, SetupState
from email_channels.use_cases.models import UseCase
from email_channels.webhooks.outbox import EventType, event_arguments, with_event_sql

VISIBLE_STATES = (SetupState.ACTIVE.value, SetupState.DELETING.value)

# The list reads only what a list item shows.
LIST_COLUMNS = (
    SesSetup.id,
    SesSetup.tenant_name,
    SesSetup.domain_identity,
    SesSetup.region,
    SesSetup.dns_verified,
    SesSetup.dns_checked_at,
    SesSetup.created_at,
    SesSetup.updated_at,
)


def _conflict_from(error: IntegrityError, *, tenant_name: str, domain: str) -> Conflict:
    conflict = _conflict(str(error.orig), tenant_name=tenant_name, domain=domain)
    if conflict is None:
        raise error
    return conflict


def _conflict(message: str, *, tenant_name: str, domain: str) -> Conflict | None:
    """The 409 of a unique violation whose message names one of the two unique columns."""
    if "tenant_name" in message:
        return Conflict(f"The tenant name {tenant_name!r} is already taken.")
    if "domain_identity" in message:
        return Conflict(f"The domain {domain!r} already has an SES setup.")
    return None


async def insert_leased(
    connection: AsyncConnection, setup: SesSetup, *, token: uuid.UUID, seconds: float
) -> None:
    """Insert a new setup already leased to its creator, in one statement (autocommit).

    The lease and the state clock start on the database's clock. A taken tenant name or
    domain is a 409 (the constraints decide).
    """
    values = _inserted_values(setup)
    values.update(
        lease_token=token,
        lease_expires_at=database_now(seconds),
        state_changed_at=database_now(),
    )
    try:
        await connection.execute(insert(SesSetup).values(**values))
    except IntegrityError as error:
        raise _conflict_from(
            error, tenant_name=setup.tenant_name, domain=setup.domain_identity
        ) from error


async def insert_leased_driver(
    driver: DriverPool, setup: SesSetup, *, token: uuid.UUID, seconds: float
) -> None:
    """`insert_leased` on the driver's pool: the same row, one prepared statement."""
    values = _inserted_values(setup)
    names = tuple(values)
    try:
        await driver.execute(
            _insert_leased_sql(names),
            token,
            seconds,
            *(json.dumps(values[n]) if n in _JSON_COLUMNS else values[n] for n in names),
        )
    except asyncpg.UniqueViolationError as error:
        conflict = _conflict(
            f"{error.constraint_name} {error}",
            tenant_name=setup.tenant_name,
            domain=setup.domain_identity,
        )
        if conflict is None:
            raise
        raise conflict from error


# What the insert sets itself: the lease (on the database clock) and the state clock.
_SET_BY_INSERT = ("lease_token", "lease_expires_at", "state_changed_at")


def _inserted_values(setup: SesSetup) -> dict[str, Any]:
    """The columns a new setup sets, by name; the lease and the state clock left to the insert."""
    return {
        column.name: getattr(setup, column.key)
        for column in SesSetup.__table__.columns
        if getattr(setup, column.key) is not None and column.name not in _SET_BY_INSERT
    }


@functools.lru_cache(maxsize=8)  # one set of columns in practice: what a create sets
def _insert_leased_sql(names: tuple[str, ...]) -> str:
    placeholders = [
        f"${index}::json" if name in _JSON_COLUMNS else f"${index}"
        for index, name in enumerate(names, start=3)
    ]
    return (
        f"INSERT INTO ses_setups ({', '.join(_SET_BY_INSERT)}, {', '.join(names)})"
        " VALUES ($1, clock_timestamp() + make_interval(secs => $2::float8), clock_timestamp(),"
        f" {', '.join(placeholders)})"
    )


async def update_setup(session: AsyncSession, setup_id: uuid.UUID, **values: Any) -> int:
    """Set columns of one setup; the number of rows changed."""
    result = await session.execute(
        update(SesSetup)
        .where(SesSetup.id == setup_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_setup(session: AsyncSession, setup_id: uuid.UUID) -> None:
    await session.execute(delete(SesSetup).where(SesSetup.id == setup_id))


async def get_visible(
    connection: AsyncConnection, *, workspace_id: str, setup_id: uuid.UUID
) -> SesSetup | None:
    """The setup as clients may see it: created, not yet deleted."""
    row = (
        await connection.execute(
            select(SesSetup.__table__).where(
                SesSetup.id == setup_id,
                SesSetup.workspace_id == workspace_id,
                SesSetup.state.in_(VISIBLE_STATES),
            )
        )
    ).first()
    return None if row is None else SesSetup(**row._asdict())


_LIST = keyset_query(
    select(*LIST_COLUMNS).where(
        SesSetup.workspace_id == bindparam("workspace_id"), SesSetup.state.in_(VISIBLE_STATES)
    ),
    created_at=SesSetup.created_at,
    id_column=SesSetup.id,
)


async def list_page(
    connection: AsyncConnection, *, workspace_id: str, after: Cursor | None, limit: int
) -> Sequence[AnyRow]:
    """One page of a workspace's visible setups, newest first, one row more than `limit`."""
    return await _LIST.page(connection, after=after, limit=limit, workspace_id=workspace_id)


_LIST_SQL_COLUMNS = ", ".join(column.key for column in LIST_COLUMNS)
_LIST_SQL_FROM = (
    f"SELECT {_LIST_SQL_COLUMNS} FROM ses_setups"
    " WHERE workspace_id = $1 AND state IN ({})".format(
        ", ".join(f"'{state}'" for state in VISIBLE_STATES)  # our constants, not input
    )
)
_LIST_SQL_ORDER = " ORDER BY created_at DESC, id DESC LIMIT $2"
_LIST_FIRST_SQL = _LIST_SQL_FROM + _LIST_SQL_ORDER
_LIST_AFTER_SQL = _LIST_SQL_FROM + " AND (created_at, id) < ($3, $4)" + _LIST_SQL_ORDER


async def list_page_driver(
    driver: DriverPool, *, workspace_id: str, after: Cursor | None, limit: int
) -> Sequence[Any]:
    """`list_page` on the driver's pool: the same statement as `_LIST`, prepared by asyncpg."""
    if after is None:
        return await driver.fetch(_LIST_FIRST_SQL, workspace_id, limit + 1)
    return await driver.fetch(_LIST_AFTER_SQL, workspace_id, limit + 1, after.created_at, after.id)


_VISIBLE_SQL = "state IN ({})".format(
    ", ".join(f"'{state}'" for state in VISIBLE_STATES)  # our constants, not input
)
_JSON_COLUMNS = (
    "dkim_tokens",
    "provisioning_steps",
    "dns_results",
    "dns_zone",
    "delegation_nameservers",
)
_SETUP_SQL = "SELECT {} FROM ses_setups WHERE id = $1 AND workspace_id = $2 AND {}".format(
    ", ".join(column.name for column in SesSetup.__table__.columns), _VISIBLE_SQL
)


async def get_visible_driver(
    driver: DriverPool, *, workspace_id: str, setup_id: uuid.UUID
) -> SesSetup | None:
    """`get_visible` on the driver's pool: the same row, as a (detached) SesSetup."""
    record = await driver.fetchrow(_SETUP_SQL, setup_id, workspace_id)
    return None if record is None else setup_of_record(record)


SETUP_COLUMNS_SQL = ", ".join(column.name for column in SesSetup.__table__.columns)


def setup_of_record(record: Any) -> SesSetup:
    """A (detached) SesSetup of a driver's row of every column (`SETUP_COLUMNS_SQL`)."""
    values = dict(record)
    for column in _JSON_COLUMNS:  # asyncpg hands `json` over as its text
        if isinstance(values[column], str):
            values[column] = json.loads(values[column])
    return SesSetup(**values)


# A check in one statement: `store_check` plus `schedule_next_check`, for a check that
# announces nothing. `failed_checks` is reset when verified, counted up by a background check
# that saw a record missing or mismatched, kept otherwise. A verified check needs
# `announced_verified` on already, a counted one needs it off (only an announced setup can be
# announced unverified): otherwise no row matches and the caller takes the transaction, which
# announces and writes the event. One text for one check (parameters) and for many (the
# columns of an `unnest`), so that the two cannot drift apart.
def _store_check_sql(
    *,
    setup_id: str,
    results: str,
    verified: str,
    checked_at: str,
    updated_at: str,
    due_in: str,
    interval: str,
    zone: str,
    count_failure: str,
    source: str = "",
) -> str:
    return (
        f"UPDATE ses_setups SET dns_results = {results}, dns_verified = {verified},"
        f" dns_checked_at = COALESCE({checked_at}, dns_checked_at),"
        f" updated_at = COALESCE({updated_at}, updated_at),"
        f" next_check_at = clock_timestamp() + make_interval(secs => {due_in}),"
        f" check_interval = {interval}, check_claimed_until = NULL,"
        f" failed_checks = CASE WHEN {verified} THEN 0 WHEN {count_failure}"
        " THEN failed_checks + 1 ELSE failed_checks END,"
        f" dns_zone = COALESCE({zone}, dns_zone){source}"
        f" WHERE id = {setup_id} AND {_VISIBLE_SQL}"
        f" AND CASE WHEN {verified} THEN announced_verified"
        f" WHEN {count_failure} THEN NOT announced_verified ELSE true END"
    )


_STORE_CHECK_SQL = _store_check_sql(
    setup_id="$1",
    results="$2::json",
    verified="$3",
    checked_at="$4::timestamptz",
    updated_at="$5::timestamptz",
    due_in="$6::float8",
    interval="$7",
    zone="$8::json",
    count_failure="$9",
)

# Many checks in one statement: the same UPDATE, its values one row of `unnest` per check.
_STORE_CHECKS_SQL = (
    _store_check_sql(
        setup_id="v.setup_id",
        results="v.results::json",
        verified="v.verified",
        checked_at="v.checked_at",
        updated_at="v.changed_at",
        due_in="v.due_in",
        interval="v.check_every",
        zone="v.zone::json",
        count_failure="v.count_failure",
        source=" FROM unnest($1::uuid[], $2::text[], $3::bool[], $4::timestamptz[],"
        " $5::timestamptz[], $6::float8[], $7::float8[], $8::text[], $9::bool[])"
        " AS v(setup_id, results, verified, checked_at, changed_at, due_in, check_every, zone,"
        " count_failure)",
    )
    + " RETURNING ses_setups.id"
)


@dataclass(frozen=True, slots=True)
class CheckToStore:
    """What a check that announces nothing writes (`store_check_driver`, `store_checks_driver`)."""

    setup_id: uuid.UUID
    dns_results: list[dict[str, Any]]
    dns_verified: bool
    dns_checked_at: datetime | None
    updated_at: datetime | None
    due_in: float
    interval: float
    dns_zone: dict[str, Any] | None
    count_failure: bool = False


def _store_values(check: CheckToStore) -> tuple[Any, ...]:
    """A check's values in the order of both statements' nine parameters (or columns)."""
    return (
        check.setup_id,
        json.dumps(check.dns_results),  # as SQLAlchemy's JSON type writes it
        check.dns_verified,
        check.dns_checked_at,
        check.updated_at,
        check.due_in,
        check.interval,
        None if check.dns_zone is None else json.dumps(check.dns_zone),
        check.count_failure,
    )


async def store_check_driver(driver: DriverPool, check: CheckToStore) -> bool:
    """Store a check that announces nothing; False when it must take the long way."""
    return await driver.execute(_STORE_CHECK_SQL, *_store_values(check)) == "UPDATE 1"


async def store_checks_driver(driver: DriverPool, checks: Sequence[CheckToStore]) -> set[uuid.UUID]:
    """`store_check_driver` for many checks in one statement; the ids it stored.

    A check whose id is not in the answer must take the long way, as a False from
    `store_check_driver` says. The rows are locked in the order of their ids, so that two
    workers' statements over the same setups (a claim run out and taken over) cannot
    deadlock.
    """
    ordered = sorted(checks, key=lambda check: check.setup_id)
    columns = zip(*(_store_values(check) for check in ordered), strict=True)
    rows = await driver.fetch(_STORE_CHECKS_SQL, *(list(column) for column in columns))
    return {row[0] for row in rows}


_ACTIVATE_SQL = with_event_sql(
    "UPDATE ses_setups SET state = $3, state_changed_at = clock_timestamp(),"
    " dkim_tokens = $4::json, signing_hosted_zone = $5,"
    " lease_token = NULL, lease_expires_at = NULL"
    " WHERE id = $1 AND lease_token = $2 RETURNING 1",
    parameters=5,
)


_RENEW_PROVISIONED_SQL = (
    "UPDATE ses_setups SET lease_expires_at = clock_timestamp() + make_interval(secs => $3),"
    " tenant_arn = $4, identity_arn = $5, provisioning_steps = $6::json"
    " WHERE id = $1 AND lease_token = $2"
)


async def renew_provisioned_driver(
    driver: DriverPool, setup: SesSetup, *, token: uuid.UUID, seconds: float
) -> bool:
    """`renew_lease` after a create's first round (its ARNs and steps), in one statement."""
    status = await driver.execute(
        _RENEW_PROVISIONED_SQL,
        setup.id,
        token,
        seconds,
        setup.tenant_arn,
        setup.identity_arn,
        json.dumps(setup.provisioning_steps),
    )
    return status == "UPDATE 1"


async def activate_created_driver(driver: DriverPool, setup: SesSetup, *, token: uuid.UUID) -> bool:
    """End a create's lease: the setup `active`, with `ses_setup.created`, in one statement.

    What `end_lease` and `record_event` do in a transaction, in one round trip; False when
    `token` no longer holds the row (nothing written).
    """
    changed = await driver.fetchrow(
        _ACTIVATE_SQL,
        setup.id,
        token,
        SetupState.ACTIVE.value,
        json.dumps(setup.dkim_tokens),
        setup.signing_hosted_zone,
        *event_arguments(event_type=EventType.CREATED, setup=setup),
    )
    return bool(changed[0])


class DeleteClaim(StrEnum):
    CLAIMED = "claimed"
    NOT_FOUND = "not_found"
    IN_PROGRESS = "in_progress"  # another actor's delete holds a live lease


def _lease_free() -> ColumnElement[bool]:
    """Nobody holds the row, or its holder's lease has run out on the database's clock."""
    return or_(SesSetup.lease_token.is_(None), SesSetup.lease_expires_at < database_now())


def _returning_setup(statement: Any) -> Any:
    return statement.returning(SesSetup.__table__).execution_options(synchronize_session=False)


async def renew_lease(
    session: AsyncSession | AsyncConnection,
    *,
    setup_id: uuid.UUID,
    token: uuid.UUID,
    seconds: float,
    **values: Any,
) -> bool:
    """Extend the lease (and set `values`) if `token` still holds it; False: taken over."""
    result = await session.execute(
        update(SesSetup)
        .where(SesSetup.id == setup_id, SesSetup.lease_token == token)
        .values(lease_expires_at=database_now(seconds), **values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def end_lease(
    session: AsyncSession, *, setup_id: uuid.UUID, token: uuid.UUID, **values: Any
) -> bool:
    """Release the lease (and set `values`) if `token` still holds it."""
    values.update(lease_token=None, lease_expires_at=None)
    if "state" in values:
        values["state_changed_at"] = database_now()
    result = await session.execute(
        update(SesSetup)
        .where(SesSetup.id == setup_id, SesSetup.lease_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def delete_leased(session: AsyncSession, *, setup_id: uuid.UUID, token: uuid.UUID) -> bool:
    """Forget the setup if `token` still holds its lease."""
    result = await session.execute(
        delete(SesSetup).where(SesSetup.id == setup_id, SesSetup.lease_token == token)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def claim_delete(
    session: AsyncSession,
    *,
    workspace_id: str,
    setup_id: uuid.UUID,
    token: uuid.UUID,
    seconds: float,
) -> tuple[SesSetup | None, DeleteClaim, list[Reference]]:
    """Mark the setup `deleting` under a lease: (setup, outcome, the use cases using it).

    An active setup is claimed; a `deleting` one only once its holder's lease has expired
    (a delete that died is taken over, one that runs is not joined). The UPDATE comes first
    so that it takes the row's write lock before the reference check: a use case being
    created at the same moment either committed already (we see it) or waits for us and
    then finds the setup no longer active. Nothing changes while referenced (the caller's
    transaction rolls back).
    """
    mine = (SesSetup.id == setup_id) & (SesSetup.workspace_id == workspace_id)
    row = (
        await session.execute(
            _returning_setup(
                update(SesSetup)
                .where(
                    mine,
                    or_(
                        SesSetup.state == SetupState.ACTIVE.value,
                        (SesSetup.state == SetupState.DELETING.value) & _lease_free(),
                    ),
                )
                .values(
                    state=SetupState.DELETING.value,
                    state_changed_at=database_now(),
                    lease_token=token,
                    lease_expires_at=database_now(seconds),
                    # A DELETE that takes over an expiry whose holder died is the client's.
                    teardown_event=EventType.DELETED.value,
                )
            )
        )
    ).first()
    if row is None:
        busy = await session.scalar(
            select(exists().where(mine, SesSetup.state == SetupState.DELETING.value))
        )
        return None, DeleteClaim.IN_PROGRESS if busy else DeleteClaim.NOT_FOUND, []
    referenced = await session.execute(
        select(UseCase.id, UseCase.name)
        .where(UseCase.ses_setup_id == setup_id)
        .order_by(UseCase.created_at, UseCase.id)
        .limit(MAX_REFERENCES)
    )
    references = [Reference(id=id_, name=name) for id_, name in referenced]
    return SesSetup(**row._asdict()), DeleteClaim.CLAIMED, references


async def claim_stale(
    session: AsyncSession,
    *,
    token: uuid.UUID,
    seconds: float,
    older_than: float,
    skip: Sequence[uuid.UUID] = (),
) -> SesSetup | None:
    """Lease one setup left `provisioning` or `deleting` for `older_than` seconds, if any.

    The claim is one conditional UPDATE: two reconcilers (or a reconcile and a retried
    DELETE) never drive the same row, and a create or delete whose lease is live is left
    alone however old it is. `skip`: rows this run already tried.
    """
    candidate = (
        select(SesSetup.id)
        .where(
            SesSetup.state.in_((SetupState.PROVISIONING.value, SetupState.DELETING.value)),
            SesSetup.state_changed_at < database_now(-older_than),
            _lease_free(),
            SesSetup.id.not_in(skip) if skip else true(),
        )
        .order_by(SesSetup.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            _returning_setup(
                update(SesSetup)
                .where(SesSetup.id == candidate, _lease_free())
                .values(lease_token=token, lease_expires_at=database_now(seconds))
            )
        )
    ).first()
    return None if row is None else SesSetup(**row._asdict())


async def stale(connection: AsyncConnection, *, older_than: float) -> list[SesSetup]:
    """What `claim_stale` would take now, without taking it (for a dry run)."""
    rows = await connection.execute(
        select(SesSetup.__table__)
        .where(
            SesSetup.state.in_((SetupState.PROVISIONING.value, SetupState.DELETING.value)),
            SesSetup.state_changed_at < database_now(-older_than),
            _lease_free(),
        )
        .order_by(SesSetup.created_at)
    )
    return [SesSetup(**row._asdict()) for row in rows]


async def known_ids(connection: AsyncConnection) -> set[str]:
    """The id of every setup row, whatever its state (the sweep spares what a row knows)."""
    return {str(setup_id) for setup_id in await connection.scalars(select(SesSetup.id))}


async def regions_in_use(connection: AsyncConnection) -> set[str]:
    """Every region a setup row names."""
    return set(await connection.scalars(select(SesSetup.region).distinct()))


async def database_time(connection: AsyncConnection) -> datetime:
    """The database's clock now."""
    now = await connection.scalar(select(database_now()))
    assert isinstance(now, datetime)
    return now


async def store_check(
    session: AsyncSession,
    *,
    setup_id: uuid.UUID,
    dns_results: list[dict[str, Any]],
    dns_verified: bool,
    dns_checked_at: datetime | None,
    updated_at: datetime | None,
    dns_zone: dict[str, Any] | None,
) -> None:
    """Store the outcome of a DNS check (only on visible setups); a null zone keeps the last."""
    values: dict[str, Any] = {"dns_results": dns_results, "dns_verified": dns_verified}
    if dns_zone is not None:
        values["dns_zone"] = dns_zone
    if dns_checked_at is not None:
        values["dns_checked_at"] = dns_checked_at
    if updated_at is not None:
        values["updated_at"] = updated_at
    await session.execute(
        update(SesSetup)
        .where(SesSetup.id == setup_id, SesSetup.state.in_(VISIBLE_STATES))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
