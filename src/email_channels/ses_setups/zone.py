"""A setup's records as a BIND zone-file fragment or CSV, pure functions."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from enum import StrEnum

from email_channels.ses_setups.records import ExpectedRecord

ZONE_TTL = 3600
# RFC 1035: a <character-string> is one length octet and at most 255 octets of data.
MAX_CHARACTER_STRING = 255
ZONE_MEDIA_TYPE = "text/dns"
CSV_MEDIA_TYPE = "text/csv"


class ZoneFormat(StrEnum):
    BIND = "bind"
    CSV = "csv"


def absolute(name: str) -> str:
    """A host name in absolute presentation form: exactly one trailing dot."""
    return name.rstrip(".") + "."


def character_strings(value: str, *, limit: int = MAX_CHARACTER_STRING) -> list[bytes]:
    """`value` as UTF-8, cut into pieces of at most `limit` bytes (one empty piece if empty)."""
    data = value.encode("utf-8")
    return [data[start : start + limit] for start in range(0, len(data), limit)] or [b""]


def quote_character_string(data: bytes) -> str:
    """One quoted <character-string>: `"` and `\\` escaped, other non-printables as `\\DDD`."""
    # Escapes are applied after the cut, so a piece never ends in half an escape sequence.
    escaped = "".join(
        "\\" + chr(byte)
        if byte in b'"\\'
        else chr(byte)
        if 0x20 <= byte < 0x7F
        else f"\\{byte:03d}"
        for byte in data
    )
    return f'"{escaped}"'


def txt_rdata(value: str) -> str:
    """A TXT value in zone-file form: quoted strings of at most 255 bytes, space-separated."""
    return " ".join(quote_character_string(piece) for piece in character_strings(value))


def rdata(record: ExpectedRecord) -> str:
    """The record's data in zone-file form, host names absolute."""
    if record.type == "TXT":
        return txt_rdata(record.record)
    if record.type == "MX":
        preference, exchange = record.record.split(maxsplit=1)
        return f"{int(preference)} {absolute(exchange)}"
    return absolute(record.record)


def zone_line(record: ExpectedRecord, *, ttl: int = ZONE_TTL) -> str:
    """One resource record: `name. TTL IN TYPE data`."""
    return f"{absolute(record.address)}\t{ttl}\tIN\t{record.type}\t{rdata(record)}"


def zone_fragment(records: Sequence[ExpectedRecord]) -> str:
    """The records as lines to append to the zone file of `domain`'s zone, one line each."""
    # No comment or $ORIGIN line: the fragment is exactly the records, so it can be appended
    # anywhere in a zone file (absolute names do not depend on the current origin).
    return "".join(zone_line(record) + "\n" for record in records)


def records_csv(records: Sequence[ExpectedRecord]) -> str:
    """`type,name,value` rows with a header, quoted as RFC 4180 asks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["type", "name", "value"])
    for record in records:
        writer.writerow([record.type, record.address, record.record])
    return buffer.getvalue()


def zone_filename(domain: str, zone_format: ZoneFormat) -> str:
    """The download's file name: the domain (letters, digits, hyphens, dots) and an extension."""
    extension = "csv" if zone_format is ZoneFormat.CSV else "zone"
    return f"{domain}.{extension}"


def render(records: Sequence[ExpectedRecord], *, zone_format: ZoneFormat) -> tuple[str, str]:
    """(body, media type) of the export in `zone_format`."""
    if zone_format is ZoneFormat.CSV:
        return records_csv(records), CSV_MEDIA_TYPE
    return zone_fragment(records), ZONE_MEDIA_TYPE
