"""The DNS publisher port: zones this service serves for delegated setups, as plain data.

A delegated setup's domain `D` becomes a zone at the publisher (PowerDNS or Route 53) that
holds the setup's records. Each zone carries the fence of section 7 (setup id, workspace,
deployment, creation time), so that a delete or the sweep never touches a zone that is not
the setup's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from email_channels.errors import Conflict, UpstreamTimeout, UpstreamUnavailable
from email_channels.integrations.ses import TAG_SETUP_ID, Tags

ZONE_TTL = 3600
# RFC 1035: a <character-string> is one length octet and at most 255 octets of data.
MAX_CHARACTER_STRING = 255
# The types of the records a zone holds for a setup; the publisher's SOA stays its own.
RECORD_TYPES = frozenset({"CNAME", "MX", "TXT", "NS"})


@dataclass(frozen=True, slots=True)
class ZoneRecord:
    """One record set: a name (lower case, no trailing dot), a type and its values.

    Values are written as the setup's records are: MX as `"10 host"`, TXT unquoted (its
    character-strings joined), host names without a trailing dot.
    """

    name: str
    type: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Zone:
    """A zone at the publisher: its name, the servers that serve it and its fence."""

    name: str
    nameservers: tuple[str, ...]
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def setup_id(self) -> str | None:
        """The setup the zone was made for; None for a zone this service did not make."""
        return self.tags.get(TAG_SETUP_ID)


class PublisherUnavailable(UpstreamUnavailable):
    """The publisher refused, failed or could not be reached (502)."""

    title = "DNS service unavailable"


class PublisherTimeout(UpstreamTimeout):
    """The publisher did not answer before the deadline (504)."""

    title = "DNS service timed out"


class ZoneTaken(Conflict):
    """The publisher already serves a zone of that name for something else (409)."""


class DnsPublisher(Protocol):
    """Zones at one DNS service; failures raise the errors above, marked maybe-applied or not.

    `create_zone` looks a zone of that name up before it makes one: a zone made earlier for the
    same setup (an answer lost on the way) is returned as it is, anyone else's is `ZoneTaken`.
    Deletes are fenced and idempotent: a zone that is gone or not the setup's is left alone.
    """

    label: str  # the service's name, for messages and logs

    async def create_zone(
        self, name: str, *, records: Sequence[ZoneRecord], tags: Tags
    ) -> Zone: ...

    async def find_zone(self, name: str) -> Zone | None:
        """The zone of that name; None when the publisher has none."""
        ...

    async def zone_records(self, name: str) -> list[ZoneRecord] | None:
        """The zone's record sets of `RECORD_TYPES`; None when there is no such zone."""
        ...

    async def put_records(self, name: str, *, records: Sequence[ZoneRecord]) -> None:
        """Write these record sets into the zone, replacing what their names and types held."""
        ...

    async def delete_zone(self, name: str, *, setup_id: str) -> bool:
        """Delete the zone if it is `setup_id`'s; whether a zone of that name is still there."""
        ...

    def zones(self) -> AsyncIterator[Zone]:
        """Every zone the publisher holds, with its fence where it has one."""
        ...


def absolute(name: str) -> str:
    """A host name in absolute presentation form: exactly one trailing dot."""
    return name.rstrip(".") + "."


def relative_free(name: str) -> str:
    """A host name as this service keeps it: lower case, no trailing dot."""
    return name.rstrip(".").lower()


def _quote(data: bytes) -> str:
    escaped = "".join(
        "\\" + chr(byte)
        if byte in b'"\\'
        else chr(byte)
        if 0x20 <= byte < 0x7F
        else f"\\{byte:03d}"
        for byte in data
    )
    return f'"{escaped}"'


def presentation(record_type: str, value: str) -> str:
    """A value in zone-file form: host names absolute, TXT as quoted strings of 255 bytes."""
    if record_type == "TXT":
        data = value.encode("utf-8")
        step = MAX_CHARACTER_STRING
        pieces = [data[start : start + step] for start in range(0, len(data), step)]
        return " ".join(_quote(piece) for piece in pieces or [b""])
    if record_type == "MX":
        preference, exchange = value.split(maxsplit=1)
        return f"{int(preference)} {absolute(exchange)}"
    return absolute(value)


def parse_presentation(record_type: str, text: str) -> str:
    """The inverse of `presentation`: a TXT's strings joined, host names without the dot."""
    if record_type == "TXT":
        return _unquote_txt(text)
    if record_type == "MX":
        preference, _, exchange = text.strip().partition(" ")
        return f"{int(preference)} {relative_free(exchange.strip())}"
    return relative_free(text.strip())


def _unquote_txt(text: str) -> str:
    out = bytearray()
    index, quoted = 0, False
    while index < len(text):
        char = text[index]
        if char == '"':
            quoted = not quoted
        elif char == "\\" and index + 1 < len(text):
            digits = text[index + 1 : index + 4]
            if digits.isdigit() and len(digits) == 3:
                out.append(int(digits))
                index += 3
            else:
                out += text[index + 1].encode("utf-8")
                index += 1
        elif quoted:
            out += char.encode("utf-8")
        index += 1
    return out.decode("utf-8", errors="replace")


def zone_taken(name: str) -> ZoneTaken:
    """The 409 for a zone the publisher holds for something other than this setup."""
    error = ZoneTaken(
        f"The DNS zone {relative_free(name)} is already served by this platform for someone "
        "else; a delegated setup needs a domain whose zone is not in use yet."
    )
    mark_maybe_applied(error, maybe=False)
    return error


def mark_maybe_applied(error: BaseException, *, maybe: bool) -> BaseException:
    """Record on a failure whether the publisher may have applied the operation."""
    error.ses_maybe_applied = maybe  # type: ignore[attr-defined]
    return error
