"""Normalisation and validation of domain identities (DESIGN.md section 1), table-driven."""

from __future__ import annotations

import pytest

from email_channels.ses_setups.domains import InvalidDomain, normalise_domain


def fullwidth(text: str) -> str:
    """The text in full-width forms (as an East Asian keyboard may type it)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


LABEL_63 = "a" * 63
LABEL_64 = "a" * 64
# 63 + 1 + 63 + 1 + 63 + 1 + 13 + 4 = 209 characters: the longest domain whose DKIM names,
# <32-character token>._domainkey.<domain>, fit in the 253 characters DNS allows.
NAME_209 = f"{LABEL_63}.{LABEL_63}.{LABEL_63}.{'b' * 13}.com"
NAME_210 = f"{LABEL_63}.{LABEL_63}.{LABEL_63}.{'b' * 14}.com"
NAME_253 = f"{LABEL_63}.{LABEL_63}.{LABEL_63}.{'b' * 57}.com"
NAME_254 = f"{LABEL_63}.{LABEL_63}.{LABEL_63}.{'b' * 58}.com"

VALID = [
    ("example.com", "example.com"),
    ("Example.COM", "example.com"),
    ("example.com.", "example.com"),
    ("  example.com \t\n", "example.com"),
    (" MAIL.Example.Com. ", "mail.example.com"),
    ("a.b.c.d.example.co.uk", "a.b.c.d.example.co.uk"),
    ("example.co.uk", "example.co.uk"),
    ("my-shop.example", "my-shop.example"),
    ("1password.com", "1password.com"),
    ("123.example.com", "123.example.com"),
    ("x.io", "x.io"),
    ("ab--cd.example.com", "ab--cd.example.com"),
    ("bücher.de", "xn--bcher-kva.de"),
    ("BÜCHER.DE", "xn--bcher-kva.de"),
    ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("XN--BCHER-KVA.DE", "xn--bcher-kva.de"),
    ("faß.de", "xn--fa-hia.de"),  # UTS-46 non-transitional: ß stays ß
    ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
    ("例え.テスト.jp", "xn--r8jz45g.xn--zckzah.jp"),
    (fullwidth("EXAMPLE.COM"), "example.com"),
    ("example。com", "example.com"),  # ideographic full stop
    ("foo.github.io", "foo.github.io"),
    ("city.kawasaki.jp", "city.kawasaki.jp"),  # an exception to the *.kawasaki.jp rule
    ("example.test", "example.test"),
    (f"{LABEL_63}.com", f"{LABEL_63}.com"),
    (NAME_209, NAME_209),
    (f"{NAME_209}.", NAME_209),
    (f"{' ' * 45}{NAME_209}.", NAME_209),  # 255 characters as typed
    (f"{NAME_209.upper()}.", NAME_209),
]

INVALID = [
    ("", "empty"),
    ("   ", "empty"),
    (".", "empty"),
    ("com", "at least two labels"),
    ("localhost", "at least two labels"),
    ("example.com..", "empty labels"),
    (".example.com", "empty labels"),
    ("a..example.com", "empty labels"),
    ("co.uk", "public suffix"),
    ("CO.UK.", "public suffix"),
    ("github.io", "public suffix"),  # private section counts: see domains.py
    ("s3.amazonaws.com", "public suffix"),
    ("foo.kawasaki.jp", "public suffix"),  # wildcard rule *.kawasaki.jp
    ("рф.", "at least two labels"),
    ("1.2.3.4", "IP address"),
    ("127.0.0.1.", "IP address"),
    (fullwidth("127.0.0.1"), "IP address"),  # full-width digits map to an address
    ("::1", "IP address"),
    ("2001:db8::1", "IP address"),
    ("[2001:db8::1]", "IP address"),
    ("10.0.0", "all-digit"),
    ("*.example.com", "wildcard"),
    ("mail.*.example.com", "wildcard"),
    ("_dmarc.example.com", "underscores"),
    ("my_shop.example.com", "underscores"),
    ("exa mple.com", "' '"),
    ("example.com/path", "'/'"),
    ("user@example.com", "'@'"),
    ("https://example.com", "':'"),
    ("-example.com", "hyphen"),
    ("example-.com", "hyphen"),
    ("xn--zz.com", "A-label"),
    (f"{LABEL_64}.com", "64 characters long"),
    (NAME_210, "210 characters long"),
    (f"{NAME_210}.", "the limit is 209"),
    (NAME_253, "253 characters long"),
    (NAME_254, "254 characters long"),
    (f"  {NAME_253} ", "at most 255"),  # 256 characters as typed
    ("e" * 256, "at most 255"),
    ("a\u200db.example.com", "international label"),  # a joiner outside its context
]


@pytest.mark.parametrize(("raw", "normal"), VALID)
def test_valid_domain_is_normalised(raw: str, normal: str) -> None:
    assert normalise_domain(raw) == normal


@pytest.mark.parametrize(("raw", "message"), INVALID)
def test_invalid_domain_is_refused_with_a_clear_message(raw: str, message: str) -> None:
    with pytest.raises(InvalidDomain) as refused:
        normalise_domain(raw)
    assert message in str(refused.value)


def test_table_covers_at_least_forty_inputs() -> None:
    assert len(VALID) + len(INVALID) >= 40


def test_name_under_an_idn_top_level_domain_is_accepted() -> None:
    assert normalise_domain("xn--e1afmkfd.xn--p1ai") == normalise_domain("пример.рф")


def test_equivalent_spellings_have_one_normal_form() -> None:
    spellings = ["bücher.de", "BÜCHER.de.", " xn--bcher-kva.DE ", fullwidth("bücher.de")]
    assert {normalise_domain(s) for s in spellings} == {"xn--bcher-kva.de"}


def test_too_long_domain_message_says_why() -> None:
    with pytest.raises(InvalidDomain) as refused:
        normalise_domain(NAME_210)
    message = str(refused.value)
    assert "the limit is 209" in message
    assert "._domainkey." in message
    assert "253" in message


def test_idn_domain_is_measured_in_its_a_label_form() -> None:
    # 198 characters as typed, 226 once each label is in its "xn--" form.
    typed = ".".join(["bücher" * 8] * 4) + ".de"
    assert len(typed) == 198
    with pytest.raises(InvalidDomain, match=r"226 characters long.*the limit is 209"):
        normalise_domain(typed)


def test_invalid_domain_is_a_value_error() -> None:
    assert issubclass(InvalidDomain, ValueError)
