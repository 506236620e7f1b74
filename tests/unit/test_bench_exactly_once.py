"""S7's and S8's exactly-once checks (bench/exactly_once.py) and the receivers' signature check."""

from __future__ import annotations

import base64
import time
from collections import Counter

from bench.exactly_once import (
    check_deliveries,
    checks_per_setup,
    completion_rate,
    queries_per_setup,
)
from bench.receivers import signature_valid
from standardwebhooks.webhooks import Webhook as StandardWebhook

from email_channels.webhooks.signing import SECRET_PREFIX, new_secret, signed_headers

RECORDS = {
    "a.zone.test": [("x._domainkey.a.zone.test", "CNAME"), ("a.zone.test", "MX")],
    "b.zone.test": [("x._domainkey.b.zone.test", "CNAME"), ("b.zone.test", "MX")],
}


def test_every_setup_asked_once_is_exactly_once() -> None:
    counts = Counter({query: 1 for queries in RECORDS.values() for query in queries})
    result = checks_per_setup(counts, RECORDS)
    assert result.exactly_once(2)
    assert result.describe() == "2 setups 1x"


def test_a_setup_checked_twice_or_never_is_not_exactly_once() -> None:
    counts = Counter({query: 2 for query in RECORDS["a.zone.test"]})
    result = checks_per_setup(counts, RECORDS)
    assert result.times == Counter({2: 1, 0: 1})
    assert not result.exactly_once(2)


def test_records_of_one_setup_asked_unequally_are_named() -> None:
    counts = Counter({("x._domainkey.a.zone.test", "CNAME"): 1, ("a.zone.test", "MX"): 2})
    counts.update({query: 1 for query in RECORDS["b.zone.test"]})
    result = checks_per_setup(counts, RECORDS)
    assert result.uneven == ["a.zone.test"]
    assert not result.exactly_once(2)
    assert "records asked unequally (a.zone.test)" in result.describe()


def test_queries_per_setup_counts_names_under_the_domains_and_the_shared_ones() -> None:
    counts = Counter(
        {
            ("a.zone.test", "SOA"): 1,
            ("x._domainkey.a.zone.test", "CNAME"): 1,
            ("b.zone.test", "SOA"): 1,
            ("zone.test", "NS"): 5,  # the zone's own: not a setup's
            ("amazonses.com", "TXT"): 2,
        }
    )
    assert queries_per_setup(counts, RECORDS) == 1.5
    assert queries_per_setup(counts, RECORDS, shared=[("amazonses.com", "TXT")]) == 2.5


def test_deliveries_once_each_in_order_per_setup_are_clean() -> None:
    expected = [[("e1", "s1"), ("e2", "s2"), ("e3", "s1")]]
    # Setups interleave differently than they happened: only each setup's own order counts.
    received = [[("e2", "s2", True), ("e1", "s1", True), ("e3", "s1", True)]]
    check = check_deliveries(expected, received)
    assert check.violations == 0
    assert check.delivered == 3


def test_every_kind_of_delivery_violation_is_counted() -> None:
    expected = [[("e1", "s1"), ("e2", "s1"), ("e3", "s2")], [("e4", "s3")]]
    received = [
        [("e2", "s1", True), ("e1", "s1", True), ("e1", "s1", True), ("e9", "s9", False)],
        [],
    ]
    check = check_deliveries(expected, received)
    assert (check.delivered, check.missing, check.duplicates, check.unexpected) == (2, 2, 1, 1)
    assert (check.bad_signatures, check.out_of_order) == (1, 1)
    assert check.violations == 6


def test_completion_rate_counts_the_gaps_between_first_and_last() -> None:
    assert completion_rate(10.0, 12.0, 201) == 100.0
    assert completion_rate(10.0, 10.0, 5) is None
    assert completion_rate(None, 12.0, 5) is None
    assert completion_rate(10.0, 12.0, 1) is None


def test_the_receivers_accept_what_the_worker_signs_as_the_reference_does() -> None:
    secret = new_secret()
    body = b'{"type":"ses_setup.verified"}'
    headers = signed_headers(
        secret=secret, message_id="evt_1", timestamp=int(time.time()), body=body
    )
    StandardWebhook(secret).verify(body, headers)  # the reference agrees
    raw = {name.encode(): value.encode() for name, value in headers.items()}
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    assert signature_valid(raw, body, key)
    assert not signature_valid(raw, body + b" ", key)
    assert not signature_valid({**raw, b"webhook-id": b"evt_2"}, body, key)
