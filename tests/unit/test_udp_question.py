"""Which answers count for a rendered question (udp.Question.is_answered_by)."""

from __future__ import annotations

import dns.flags
import dns.message

from email_channels.integrations.dns.udp import Question


def _question(name: str, rdtype: str = "TXT") -> Question:
    return Question(dns.message.make_query(name, rdtype))


def _answer(name: str, rdtype: str, query_id: int) -> tuple[dns.message.Message, bytes]:
    query = dns.message.make_query(name, rdtype)
    query.id = query_id
    response = dns.message.make_response(query)
    wire = response.to_wire()
    return dns.message.from_wire(wire), wire


def test_an_answer_echoing_the_question_byte_for_byte_counts() -> None:
    response, wire = _answer("_dmarc.example.test", "TXT", 4242)
    assert _question("_dmarc.example.test").is_answered_by(response, 4242, wire)


def test_an_answer_echoing_it_in_another_case_counts_the_long_way() -> None:
    response, wire = _answer("_DMARC.Example.TEST", "TXT", 7)
    assert _question("_dmarc.example.test").is_answered_by(response, 7, wire)


def test_an_answer_to_another_name_type_or_id_does_not_count() -> None:
    question = _question("_dmarc.example.test")
    for name, rdtype, query_id in [
        ("_dmarc.example.tesu", "TXT", 1),
        ("_dmarc.example.test", "MX", 1),
        ("_dmarc.example.test", "TXT", 2),
    ]:
        response, wire = _answer(name, rdtype, query_id)
        assert not question.is_answered_by(response, 1, wire), (name, rdtype, query_id)


def test_a_query_is_no_answer() -> None:
    query = dns.message.make_query("_dmarc.example.test", "TXT")
    query.id = 9
    query.flags &= ~dns.flags.QR
    wire = query.to_wire()
    assert not _question("_dmarc.example.test").is_answered_by(dns.message.from_wire(wire), 9, wire)
