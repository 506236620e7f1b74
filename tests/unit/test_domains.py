"""Normalisation and validation of domain identities (DESIGN.md section 1), table-driven."""

from __future__ import annotations

import pytest

from email_channels.ses_setups.domains import InvalidDomain, normalise_domain


def fullwidth(text: str) -> str:
    """The text in full-width forms (as an East Asian keyboard may type it)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


LABEL_63 = "a" * 63
LABEL_64 = "a" * 64
# 63 + 1 + 63 + 1 + 63 + 1 + 57 + 4 = 253 characters: the longest name DNS allows.
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
    (NAME_253, NAME_253),
    (f"{NAME_253}.", NAME_253),
    (f" {NAME_253}.", NAME_253),  # 255 characters as typed
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


def test_invalid_domain_is_a_value_error() -> None:
    assert issubclass(InvalidDomain, ValueError)
