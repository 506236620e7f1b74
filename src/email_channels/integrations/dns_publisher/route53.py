"""The DNS publisher on Amazon Route 53 (hosted zones), through aiobotocore."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from aiohttp import ClientConnectorError
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

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

LABEL = "Amazon Route 53"
# CallerReference = this prefix + the setup id: fixed when the zone is made, so a zone whose
# tags never got written is still known as the setup's, and a repeated create is refused.
CALLER_PREFIX = "email-channels:"
SYNC_POLL = 0.5  # seconds between GetChange calls while a change is PENDING
_MISSING = frozenset({"NoSuchHostedZone", "HostedZoneNotFound"})


class Route53Publisher:
    """Public hosted zones tagged with the setup's fence; changes waited for until INSYNC."""

    label = LABEL

    def __init__(
        self,
        *,
        timeout: float,
        endpoint_url: str | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self._timeout = timeout
        self._endpoint_url = endpoint_url
        self._credentials = credentials
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def close(self) -> None:
        """Close the client."""
        await self._stack.aclose()
        self._client = None

    async def create_zone(self, name: str, *, records: Sequence[ZoneRecord], tags: Tags) -> Zone:
        """Make the hosted zone with `records`, or finish the one made earlier for the setup."""
        setup_id = tags.get(TAG_SETUP_ID, "")
        existing = await self._find(name)
        if existing is None:
            # _AlreadyMade: this setup's create was applied before, only its answer was lost.
            with contextlib.suppress(_AlreadyMade):
                await self._call(
                    "CreateHostedZone",
                    Name=absolute(name),
                    CallerReference=CALLER_PREFIX + setup_id,
                    HostedZoneConfig={"Comment": f"email-channels setup {setup_id}"},
                )
            existing = await self._find(name)
        if existing is None or existing[1].setup_id != setup_id:
            raise zone_taken(name)
        zone_id = existing[0]
        await self._call(
            "ChangeTagsForResource",
            ResourceType="hostedzone",
            ResourceId=zone_id,
            AddTags=[{"Key": key, "Value": value} for key, value in tags.items()],
        )
        await self._change(zone_id, records)
        return Zone(name=relative_free(name), nameservers=existing[1].nameservers, tags=tags)

    async def find_zone(self, name: str) -> Zone | None:
        """The hosted zone of that name (this service's first, if there are several)."""
        found = await self._find(name)
        return None if found is None else found[1]

    async def zone_records(self, name: str) -> list[ZoneRecord] | None:
        """The zone's record sets of our types; None when there is no such zone."""
        found = await self._find(name)
        if found is None:
            return None
        return [
            ZoneRecord(
                name=relative_free(rrset["Name"]),
                type=rrset["Type"],
                values=tuple(
                    parse_presentation(rrset["Type"], item["Value"])
                    for item in rrset.get("ResourceRecords", ())
                ),
            )
            for rrset in await self._record_sets(found[0])
            if rrset["Type"] in RECORD_TYPES
        ]

    async def put_records(self, name: str, *, records: Sequence[ZoneRecord]) -> None:
        """Upsert these record sets and wait until Route 53 serves them."""
        found = await self._find(name)
        if found is None:
            raise mark_maybe_applied(
                PublisherUnavailable(f"{LABEL} has no zone {relative_free(name)} to write to."),
                maybe=False,
            )
        await self._change(found[0], records)

    async def delete_zone(self, name: str, *, setup_id: str) -> bool:
        """Empty and delete the setup's zone; whether a zone of that name remains."""
        found = await self._find(name, setup_id=setup_id)
        if found is None:
            return await self._find(name) is not None
        zone_id, zone = found
        if zone.setup_id != setup_id:
            logger.warning("hosted zone %s is not setup %s's: left in place", name, setup_id)
            return True
        apex = absolute(name)
        changes = [
            {"Action": "DELETE", "ResourceRecordSet": rrset}
            for rrset in await self._record_sets(zone_id)
            if not (rrset["Name"] == apex and rrset["Type"] in ("SOA", "NS"))
        ]
        with contextlib.suppress(_Missing):
            if changes:
                await self._call(
                    "ChangeResourceRecordSets",
                    HostedZoneId=zone_id,
                    ChangeBatch={"Changes": changes},
                )
            await self._call("DeleteHostedZone", Id=zone_id)
        return await self._find(name) is not None

    async def zones(self) -> AsyncIterator[Zone]:
        """Every hosted zone of the account, with its fence."""
        marker: str | None = None
        while True:
            page = await self._call("ListHostedZones", **({"Marker": marker} if marker else {}))
            for raw in page.get("HostedZones", ()):
                yield await self._zone(raw)
            if not page.get("IsTruncated"):
                return
            marker = page.get("NextMarker")

    async def _find(self, name: str, *, setup_id: str | None = None) -> tuple[str, Zone] | None:
        """(id, zone) of the zone named `name`: the setup's if it has one, else the first."""
        apex = absolute(name).lower()
        page = await self._call("ListHostedZonesByName", DNSName=apex, MaxItems="100")
        found: list[tuple[str, Zone]] = []
        for raw in page.get("HostedZones", ()):
            if raw["Name"].lower() != apex:
                continue
            found.append((_zone_id(raw), await self._zone(raw)))
        wanted = [entry for entry in found if entry[1].setup_id == setup_id]
        if setup_id is not None:
            return wanted[0] if wanted else None
        ours = [entry for entry in found if entry[1].setup_id is not None]
        candidates = ours or found
        return candidates[0] if candidates else None

    async def _zone(self, raw: Any) -> Zone:
        zone_id = _zone_id(raw)
        tags: dict[str, str] = {}
        reference = str(raw.get("CallerReference", ""))
        if reference.startswith(CALLER_PREFIX):
            tags[TAG_SETUP_ID] = reference.removeprefix(CALLER_PREFIX)
            listed = await self._call(
                "ListTagsForResource", ResourceType="hostedzone", ResourceId=zone_id
            )
            for tag in listed.get("ResourceTagSet", {}).get("Tags", ()):
                tags.setdefault(str(tag["Key"]), str(tag.get("Value", "")))
        detail = await self._call("GetHostedZone", Id=zone_id)
        nameservers = detail.get("DelegationSet", {}).get("NameServers", ())
        return Zone(
            name=relative_free(raw["Name"]),
            nameservers=tuple(sorted(relative_free(server) for server in nameservers)),
            tags=tags,
        )

    async def _record_sets(self, zone_id: str) -> list[Any]:
        sets: list[Any] = []
        start: dict[str, str] = {}
        while True:
            page = await self._call("ListResourceRecordSets", HostedZoneId=zone_id, **start)
            sets += page.get("ResourceRecordSets", ())
            if not page.get("IsTruncated"):
                return sets
            start = {
                "StartRecordName": page["NextRecordName"],
                "StartRecordType": page["NextRecordType"],
            }

    async def _change(self, zone_id: str, records: Sequence[ZoneRecord]) -> None:
        changes = [
            {
                "Action": "UPSERT",
                "ResourceRecordSet": {
                    "Name": absolute(record.name),
                    "Type": record.type,
                    "TTL": ZONE_TTL,
                    "ResourceRecords": [
                        {"Value": presentation(record.type, value)} for value in record.values
                    ],
                },
            }
            for record in records
        ]
        if not changes:
            return
        answer = await self._call(
            "ChangeResourceRecordSets", HostedZoneId=zone_id, ChangeBatch={"Changes": changes}
        )
        change_id = answer["ChangeInfo"]["Id"]
        status = answer["ChangeInfo"].get("Status")
        deadline = asyncio.get_running_loop().time() + self._timeout
        while status != "INSYNC":
            if asyncio.get_running_loop().time() > deadline:
                raise mark_maybe_applied(
                    PublisherTimeout(f"{LABEL} did not apply a change in time."), maybe=True
                )
            await asyncio.sleep(SYNC_POLL)
            status = (await self._call("GetChange", Id=change_id))["ChangeInfo"].get("Status")

    async def _call(self, operation: str, **params: Any) -> Any:
        """One Route 53 call (botocore retries throttling); failures in our words."""
        client = await self._open()
        method = getattr(client, _snake(operation))
        try:
            async with asyncio.timeout(self._timeout):
                return await method(**params)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code in _MISSING:
                raise _Missing(operation) from None
            if code == "HostedZoneAlreadyExists":
                raise _AlreadyMade(operation) from None
            logger.warning("%s %s: %s", LABEL, operation, error)
            word = "failed" if status >= 500 else "refused"
            raise mark_maybe_applied(
                PublisherUnavailable(f"{LABEL} {word} {operation} ({code or status})."),
                maybe=status >= 500 or status == 0,
            ) from None
        except (ReadTimeoutError, ConnectTimeoutError, TimeoutError):
            raise mark_maybe_applied(
                PublisherTimeout(f"{LABEL} did not answer {operation} in time."), maybe=True
            ) from None
        except EndpointConnectionError as error:
            cause = error.kwargs.get("error")
            not_sent = isinstance(cause, (ClientConnectorError, socket.gaierror))
            raise mark_maybe_applied(
                PublisherUnavailable(f"{LABEL} could not be reached for {operation}."),
                maybe=not not_sent,
            ) from None
        except BotoCoreError as error:
            logger.warning("%s %s: %s", LABEL, operation, error)
            raise mark_maybe_applied(
                PublisherUnavailable(f"{LABEL} failed {operation}."), maybe=True
            ) from None

    async def _open(self) -> Any:
        if self._client is None:
            config = AioConfig(
                connect_timeout=self._timeout,
                read_timeout=self._timeout,
                retries={"mode": "standard", "total_max_attempts": 3},
            )
            keys: dict[str, str] = {}
            if self._credentials is not None:
                keys = {
                    "aws_access_key_id": self._credentials[0],
                    "aws_secret_access_key": self._credentials[1],
                }
            self._client = await self._stack.enter_async_context(
                get_session().create_client(
                    "route53",
                    region_name="us-east-1",
                    endpoint_url=self._endpoint_url,
                    config=config,
                    **keys,
                )
            )
        return self._client


class _Missing(Exception):
    """Route 53 has no such hosted zone."""


class _AlreadyMade(Exception):
    """CreateHostedZone with a CallerReference already used: it was applied before."""


def _zone_id(raw: Any) -> str:
    return str(raw["Id"]).rsplit("/", 1)[-1]


def _snake(operation: str) -> str:
    return "".join("_" + char.lower() if char.isupper() else char for char in operation).lstrip("_")
