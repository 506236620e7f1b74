"""The test suite's check for upstream internals in answers: what it catches, what it lets by."""

from __future__ import annotations

import pytest

from tests.support.leaks import upstream_leaks

ENDPOINT = "http://127.0.0.1:45123"


def leaks(
    body: str, *, json_body: bool = True, headers: tuple[tuple[str, str], ...] = ()
) -> list[str]:
    return upstream_leaks(
        body=body, headers=headers, json_body=json_body, endpoint_urls=[ENDPOINT, ""]
    )


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ('{"detail": "arn:aws:ses:us-east-1:123456789012:tenant/x"}', "ARN"),
        ('{"detail": "ARN:AWS:iam::1:role/x"}', "ARN"),
        ('{"detail": "account 123456789012 is not allowed"}', "account id"),
        ('{"detail": "account:123456789012."}', "account id"),
        ('{"detail": "Could not connect to http://127.0.0.1:45123/v2/email"}', "endpoint"),
        ('{"detail": "refused by 127.0.0.1:45123"}', "endpoint"),
        ('{"detail": "see https://email.us-east-1.amazonaws.com"}', "URL"),
    ],
)
def test_upstream_internals_are_caught(body: str, kind: str) -> None:
    found = leaks(body)
    assert any(leak.startswith(kind) for leak in found), found


def test_headers_are_checked_too() -> None:
    found = leaks("{}", headers=(("x-upstream", "arn:aws:ses:us-east-1:123456789012:x"),))
    assert "ARN 'arn:aws'" in found
    assert "account id '123456789012'" in found


@pytest.mark.parametrize(
    "body",
    [
        '{"id": "0f8fad5b-d9cb-469f-a165-123456789012"}',  # a UUID whose last group is digits
        '{"event_id": "evt_5e20a286d655e508364858862e72feb3"}',  # an event id with 12 digits
        '{"created_at": "2026-11-27T10:11:12.123456+00:00"}',
        '{"n": 1234567890123, "m": 12345678901}',  # 13 and 11 digits: not an account id
        "process_start_time_seconds 1.796048369478e+09",  # a fraction's twelve digits
        '{"seconds": 0.123456789012}',
        '{"address": "abcdef0123456789abcdef0123456789._domainkey.example.test"}',
        '{"type": "urn:email-channels:problem:bad-gateway", "detail": "SES is unavailable."}',
        '{"continuation_token": "eyJ0IjoiMjAyNi0xMS0yN1QxMDoxMToxMiswMDowMCJ9"}',
    ],
)
def test_legitimate_answers_pass(body: str) -> None:
    assert leaks(body) == []


def test_urls_count_only_in_json_bodies() -> None:
    html = '<script src="https://cdn.example/x.js"></script>'
    assert leaks(html, json_body=False) == []
    assert leaks('{"href": "https://cdn.example/x.js"}') != []
