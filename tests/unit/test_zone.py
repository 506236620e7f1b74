"""The zone-file and CSV rendering of a setup's records (DESIGN.md section 9)."""

from __future__ import annotations

import csv
import io

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone

from email_channels.ses_setups.records import ExpectedRecord, Purpose, expected_records
from email_channels.ses_setups.zone import (
    ZoneFormat,
    character_strings,
    records_csv,
    render,
    txt_rdata,
    zone_filename,
    zone_fragment,
    zone_line,
)

DOMAIN = "mail.example.com"
RECORDS = expected_records(
    domain=DOMAIN,
    region="eu-west-1",
    mail_from_subdomain="bounce",
    dkim_tokens=["tok1", "tok2", "tok3"],
    signing_hosted_zone="dkim.amazonses.com",
)
SOA = (
    f"$TTL 300\n@ IN SOA ns1.{DOMAIN}. hostmaster.{DOMAIN}. 1 3600 600 86400 300\n"
    f"@ IN NS ns1.{DOMAIN}.\nns1 IN A 127.0.0.1\n"
)


def _txt(address: str, value: str) -> ExpectedRecord:
    return ExpectedRecord(Purpose.DMARC, "TXT", address, value)


def test_a_300_byte_txt_value_is_split_into_255_and_45_bytes() -> None:
    value = "v=spf1 " + "a" * 293
    assert len(value.encode()) == 300

    rendered = txt_rdata(value)

    assert rendered == '"' + value[:255] + '" "' + value[255:] + '"'
    assert [len(piece) for piece in character_strings(value)] == [255, 45]


def test_split_counts_bytes_not_characters_and_escapes_after_cutting() -> None:
    value = "é" * 200  # 400 bytes in UTF-8: the cut falls inside a character
    pieces = character_strings(value)
    assert [len(piece) for piece in pieces] == [255, 145]
    rendered = txt_rdata(value)
    # Every byte outside printable ASCII is a decimal escape; parsed back it is the same bytes.
    parsed = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, rendered)
    assert b"".join(parsed.strings) == value.encode()  # type: ignore[attr-defined]
    assert [len(s) for s in parsed.strings] == [255, 145]  # type: ignore[attr-defined]


def test_quotes_and_backslashes_are_escaped() -> None:
    line = zone_line(_txt("_dmarc.example.com", 'say "hi" \\ bye'))
    assert line == '_dmarc.example.com.\t3600\tIN\tTXT\t"say \\"hi\\" \\\\ bye"'
    rendered = line.split("\t")[-1]
    parsed = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, rendered)
    assert parsed.strings == (b'say "hi" \\ bye',)  # type: ignore[attr-defined]


def test_fragment_is_seven_absolute_lines_with_ttl_3600() -> None:
    lines = zone_fragment(RECORDS).splitlines()
    assert len(lines) == 7
    assert lines[0] == f"tok1._domainkey.{DOMAIN}.\t3600\tIN\tCNAME\ttok1.dkim.amazonses.com."
    assert lines[3] == f"bounce.{DOMAIN}.\t3600\tIN\tMX\t10 feedback-smtp.eu-west-1.amazonses.com."
    assert lines[4] == f'bounce.{DOMAIN}.\t3600\tIN\tTXT\t"v=spf1 include:amazonses.com ~all"'
    assert lines[5] == f"{DOMAIN}.\t3600\tIN\tMX\t10 inbound-smtp.eu-west-1.amazonaws.com."
    assert lines[6] == f'_dmarc.{DOMAIN}.\t3600\tIN\tTXT\t"v=DMARC1; p=none;"'


def test_fragment_appended_to_a_zone_parses_to_the_expected_records() -> None:
    zone = dns.zone.from_text(SOA + zone_fragment(RECORDS), origin=DOMAIN, relativize=False)
    for record in RECORDS:
        rdataset = zone.find_rdataset(record.address + ".", record.type)
        assert rdataset.ttl == 3600
        texts = {r.to_text().rstrip(".") for r in rdataset}
        if record.type == "TXT":
            texts = {
                b"".join(r.strings).decode()  # type: ignore[attr-defined]
                for r in rdataset
            }
        assert record.record in texts


def test_csv_has_a_header_and_quotes_what_needs_it() -> None:
    records = [*RECORDS, _txt("x.example.com", 'a,b "c"')]
    text = records_csv(records)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["type", "name", "value"]
    assert rows[1] == ["CNAME", f"tok1._domainkey.{DOMAIN}", "tok1.dkim.amazonses.com"]
    assert rows[-1] == ["TXT", "x.example.com", 'a,b "c"']
    assert '"a,b ""c"""' in text
    assert len(rows) == 9


def test_render_picks_body_and_media_type() -> None:
    assert render(RECORDS, zone_format=ZoneFormat.BIND)[1] == "text/dns"
    assert render(RECORDS, zone_format=ZoneFormat.CSV)[1] == "text/csv"
    assert zone_filename(DOMAIN, ZoneFormat.BIND) == f"{DOMAIN}.zone"
    assert zone_filename(DOMAIN, ZoneFormat.CSV) == f"{DOMAIN}.csv"
