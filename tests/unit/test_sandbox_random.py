"""The emulator's random names: the alphabet, the length, and every character in use."""

from __future__ import annotations

import string
from collections import Counter

from email_channels.sandbox.account import random_lower_alnum


def test_names_have_the_length_and_alphabet_asked_for() -> None:
    for length in (1, 17, 32, 200):
        name = random_lower_alnum(length)
        assert len(name) == length
        assert set(name) <= set(string.ascii_lowercase + string.digits)


def test_every_character_is_drawn_about_as_often() -> None:
    counts = Counter(random_lower_alnum(36_000))
    assert len(counts) == 36
    # 1,000 expected each; a standard deviation is about 31, so this cannot fail by chance.
    assert all(800 < count < 1_200 for count in counts.values()), counts
