"""Signing, retry schedule and re-check schedule: pure rules of section 8."""

from __future__ import annotations

import ipaddress
import time

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from email_channels.ses_setups.schedule import Schedule
from email_channels.webhooks.delivery import RETRY_DELAYS, retry_delay
from email_channels.webhooks.signing import new_secret, sign, signed_headers
from email_channels.webhooks.url_guard import is_public, parse_url, pinned


def test_our_signature_is_what_the_standard_webhooks_reference_verifies() -> None:
    secret = new_secret()
    body = b'{"type":"ses_setup.verified","data":{}}'
    headers = signed_headers(
        secret=secret, message_id="evt_1", timestamp=int(time.time()), body=body
    )
    assert StandardWebhook(secret).verify(body, headers) == {
        "type": "ses_setup.verified",
        "data": {},
    }
    # And it is the reference's own signature, byte for byte.
    reference = StandardWebhook(secret).sign("evt_1", _when(headers), body.decode())
    assert headers["webhook-signature"] == reference


def test_a_tampered_body_or_another_secret_fails_verification() -> None:
    secret = new_secret()
    headers = signed_headers(
        secret=secret, message_id="evt_2", timestamp=int(time.time()), body=b"{}"
    )
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(secret).verify(b'{"x":1}', headers)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(new_secret()).verify(b"{}", headers)


def test_signature_scheme_is_v1_base64_hmac_of_id_timestamp_body() -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert (
        sign(
            secret=secret,
            message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp=1614265330,
            body=b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def _when(headers: dict[str, str]) -> object:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=UTC)


def test_retries_follow_the_schedule_scaled_with_jitter_then_give_up() -> None:
    for attempt, base in enumerate(RETRY_DELAYS, start=1):
        delay = retry_delay(attempt, scale=0.5)
        assert delay is not None
        assert base * 0.5 * 0.8 <= delay <= base * 0.5 * 1.2
    assert retry_delay(len(RETRY_DELAYS) + 1, scale=1.0) is None
    assert RETRY_DELAYS == (5, 300, 1800, 7200, 18000, 36000, 50400, 72000)


def test_unverified_interval_doubles_on_background_checks_up_to_the_max() -> None:
    schedule = Schedule(
        check_interval_min=60, check_interval_max=300, verified_check_interval=86400
    )
    interval, seen = 60.0, []
    for _ in range(5):
        due, interval = schedule.after_check(
            interval=interval, verified=False, was_verified=False, background=True
        )
        seen.append(due)
    assert seen == [60, 120, 240, 300, 300]
    assert schedule.after_check(
        interval=300, verified=True, was_verified=False, background=True
    ) == (86400, 60)
    # A client's look moves the due time without doubling; a setup that just broke starts over.
    assert schedule.after_check(
        interval=240, verified=False, was_verified=False, background=False
    ) == (240, 240)
    assert schedule.after_check(
        interval=60, verified=False, was_verified=True, background=True
    ) == (60, 120)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("224.0.0.1", False),
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
    ],
)
def test_only_public_unicast_addresses_may_receive_webhooks(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("url", "address", "expected"),
    [
        (
            "https://hooks.example.com/in?x=1",
            "93.184.216.34",
            ("https://93.184.216.34/in?x=1", "hooks.example.com", "hooks.example.com"),
        ),
        (
            "https://hooks.example.com:8443/in",
            "2606:4700::1111",
            ("https://[2606:4700::1111]:8443/in", "hooks.example.com:8443", "hooks.example.com"),
        ),
    ],
)
def test_a_delivery_connects_to_the_address_it_checked(
    url: str, address: str, expected: tuple[str, str, str]
) -> None:
    parsed = parse_url(url, allow_private=False)
    assert pinned(parsed, ipaddress.ip_address(address)) == expected
