"""Each of pydantic's refusals has a sentence for people; none shows a regex or a type name."""

from __future__ import annotations

import pytest

from email_channels.field_messages import MESSAGES, PATTERN_RULES, message_for

CONTEXT = {
    "pattern": next(iter(PATTERN_RULES)),
    "min_length": 1,
    "max_length": 64,
    "ge": 1,
    "gt": 0,
    "le": 100,
    "lt": 101,
    "expected": "'bind' or 'csv'",
}
MACHINE_WORDS = ("^", "$", "[", "{", "pattern", "dict", "_type", "_parsing", "Input should")


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_every_known_refusal_is_a_sentence_for_people(kind: str) -> None:
    message = message_for({"type": kind, "ctx": CONTEXT, "msg": "Input should be a valid dict"})
    assert message.endswith("."), message
    assert not [word for word in MACHINE_WORDS if word in message], message


def test_an_unknown_pattern_is_still_said_without_the_regex() -> None:
    error = {"type": "string_pattern_mismatch", "ctx": {"pattern": "^[a-z]+$"}}
    assert message_for(error) == "Contains characters that are not allowed here."


def test_our_own_validators_keep_their_words() -> None:
    error = {"type": "value_error", "ctx": {"error": ValueError("must have two labels")}}
    assert message_for(error) == "must have two labels"


def test_a_refusal_of_an_unknown_kind_gets_a_plain_sentence() -> None:
    assert message_for({"type": "something_new", "msg": "Input should be X"}) == (
        "Not a valid value here."
    )
