"""The DNS publisher on PowerDNS Authoritative, through its HTTP API (`/api/v1`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp

from email_channels.integrations.dns_publisher import (
    RECORD_TYPES,
    ZONE_TTL,
    PublisherTimeout,
    PublisherUnavailable,
    Zone,
    ZoneRecord,
    absolute,
    mark_maybe_applied,
    parse_presentation,
    presentation,
    relative_free,
    zone_taken,
)
from email_channels.integrations.ses import TAG_SETUP_ID, Tags

logger = logging.getLogger(__name__)

LABEL = "PowerDNS"
# Who wrote a comment; the fence itself is the comment's content (the tags as JSON).
COMMENT_ACCOUNT = "email-channels"
# SOA timers: refresh, retry, expire, and a negative-caching time of 5 minutes, so that a
# resolver that asked before the zone was served forgets the "no such name" soon.
SOA_TIMERS = "10800 3600 604800 300"


class _Missing(Exception):
    """The API answered 404: no such zone."""


class _Exists(Exception):
    """The API answered 409: a zone of that name exists."""


class PowerDnsPublisher:
    """Zones of kind Native, NS = the delegation name servers, fenced by a comment on the NS."""

    label = LABEL

    def __init__(
        self,
        *,
        api_url: str,
        api_key: str,
        server_id: str,
        nameservers: Sequence[str],
        timeout: float,
    ) -> None:
        self._base = f"{api_url.rstrip('/')}/api/v1/servers/{server_id}"
        # Kept only in the session's default headers: never logged, never part of an error.
        self._headers = {"X-API-Key": api_key, "Accept": "application/json"}
        self._nameservers = tuple(relative_free(name) for name in nameservers)
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def create_zone(self, name: str, *, records: Sequence[ZoneRecord], tags: Tags) -> Zone:
        """Make the zone `name` with `records`, or find the one made earlier for the setup."""
        existing = await self.find_zone(name)
        if existing is None:
            body = self._zone_body(name, records=records, tags=tags)
            try:
                await self._request("POST", "/zones", operation="create a zone", body=body)
                return Zone(name=relative_free(name), nameservers=self._nameservers, tags=tags)
            except _Exists:
                existing = await self.find_zone(name)
        if existing is not None and existing.setup_id == tags.get(TAG_SETUP_ID):
            await self.put_records(name, records=records)
            return existing
        raise zone_taken(name)

    async def find_zone(self, name: str) -> Zone | None:
        """The zone with its fence; None when there is none."""
        raw = await self._zone(name)
        return None if raw is None else self._to_zone(raw)

    async def zone_records(self, name: str) -> list[ZoneRecord] | None:
        """The zone's record sets of our types; None when there is no such zone."""
        raw = await self._zone(name)
        if raw is None:
            return None
        return [
            ZoneRecord(
                name=relative_free(rrset["name"]),
                type=rrset["type"],
                values=tuple(
                    parse_presentation(rrset["type"], record["content"])
                    for record in rrset.get("records", ())
                    if not record.get("disabled")
                ),
            )
            for rrset in raw.get("rrsets", ())
            if rrset.get("type") in RECORD_TYPES
        ]

    async def put_records(self, name: str, *, records: Sequence[ZoneRecord]) -> None:
        """Replace the record sets of these names and types."""
        body = {"rrsets": [dict(_rrset(record), changetype="REPLACE") for record in records]}
        try:
            await self._request(
                "PATCH", f"/zones/{absolute(name)}", operation="write records", body=body
            )
        except _Missing as missing:
            raise mark_maybe_applied(
                PublisherUnavailable(f"{LABEL} has no zone {relative_free(name)} to write to."),
                maybe=False,
            ) from missing

    async def delete_zone(self, name: str, *, setup_id: str) -> bool:
        """Delete the zone if it is the setup's; whether a zone of that name remains."""
        zone = await self.find_zone(name)
        if zone is None:
            return False
        if zone.setup_id != setup_id:
            logger.warning("zone %s is not setup %s's: left in place", name, setup_id)
            return True
        with contextlib.suppress(_Missing):
            await self._request("DELETE", f"/zones/{absolute(name)}", operation="delete a zone")
        return False

    async def zones(self) -> AsyncIterator[Zone]:
        """Every zone; those with an account (ours set one) are read for their fence."""
        listing = await self._request("GET", "/zones", operation="list zones")
        for entry in listing or ():
            if not entry.get("account"):
                yield Zone(name=relative_free(entry["name"]), nameservers=())
                continue
            zone = await self.find_zone(entry["name"])
            if zone is not None:
                yield zone

    def _zone_body(self, name: str, *, records: Sequence[ZoneRecord], tags: Tags) -> Any:
        apex = absolute(name)
        primary = absolute(self._nameservers[0]) if self._nameservers else apex
        soa = f"{primary} hostmaster.{apex} 1 {SOA_TIMERS}"
        ns = dict(
            _rrset(ZoneRecord(name=name, type="NS", values=self._nameservers)),
            comments=[{"content": json.dumps(dict(tags)), "account": COMMENT_ACCOUNT}],
        )
        return {
            "name": apex,
            "kind": "Native",
            # The zone's account is the setup id: the zone list shows whose a zone is.
            "account": tags.get(TAG_SETUP_ID, ""),
            "nameservers": [],
            "rrsets": [
                {"name": apex, "type": "SOA", "ttl": ZONE_TTL, "records": [{"content": soa}]},
                ns,
                *(_rrset(record) for record in records if record.type != "NS"),
            ],
        }

    def _to_zone(self, raw: Any) -> Zone:
        apex = raw["name"]
        tags: dict[str, str] = {}
        nameservers: tuple[str, ...] = ()
        for rrset in raw.get("rrsets", ()):
            if rrset.get("name") != apex or rrset.get("type") != "NS":
                continue
            nameservers = tuple(sorted(relative_free(r["content"]) for r in rrset["records"]))
            for comment in rrset.get("comments", ()):
                if comment.get("account") == COMMENT_ACCOUNT:
                    tags = _tags_of(comment.get("content", ""))
        return Zone(name=relative_free(apex), nameservers=nameservers, tags=tags)

    async def _zone(self, name: str) -> Any:
        try:
            return await self._request("GET", f"/zones/{absolute(name)}", operation="read a zone")
        except _Missing:
            return None

    async def _request(self, method: str, path: str, *, operation: str, body: Any = None) -> Any:
        """One API call under the deadline; failures in our words, the API's in the log."""
        session = self._open()
        try:
            async with asyncio.timeout(self._timeout):
                async with session.request(method, self._base + path, json=body) as response:
                    text = await response.text()
        except aiohttp.ClientConnectorError as error:
            logger.warning("%s %s: %s", LABEL, operation, error)
            raise mark_maybe_applied(
                PublisherUnavailable(f"{LABEL} could not be reached to {operation}."), maybe=False
            ) from None
        except TimeoutError:
            raise mark_maybe_applied(
                PublisherTimeout(f"{LABEL} did not answer in time to {operation}."), maybe=True
            ) from None
        except aiohttp.ClientError as error:
            logger.warning("%s %s: %s", LABEL, operation, error)
            raise mark_maybe_applied(
                PublisherUnavailable(f"{LABEL} failed to {operation}."), maybe=True
            ) from None
        return _answer(response.status, text, operation=operation)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, trust_env=False)
        return self._session


def _answer(status: int, text: str, *, operation: str) -> Any:
    if status == 404:
        raise _Missing(operation)
    if status == 409:
        raise _Exists(operation)
    if status >= 300:
        logger.warning("%s %s answered %s: %s", LABEL, operation, status, text[:500])
        word = "failed" if status >= 500 else "refused"
        raise mark_maybe_applied(
            PublisherUnavailable(f"{LABEL} {word} to {operation} ({status})."),
            maybe=status >= 500,
        )
    return json.loads(text) if text.strip() else None


def _rrset(record: ZoneRecord) -> dict[str, Any]:
    return {
        "name": absolute(record.name),
        "type": record.type,
        "ttl": ZONE_TTL,
        "records": [
            {"content": presentation(record.type, value), "disabled": False}
            for value in record.values
        ],
    }


def _tags_of(content: str) -> dict[str, str]:
    try:
        parsed = json.loads(content)
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {str(key): str(value) for key, value in parsed.items()}
