"""The shared socket's kept answers: the same bytes after the id are the same answer, and
only to the same question with the query's own id."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rrset

from email_channels.integrations.dns import udp


def _question(name: str, rdtype: str = "CNAME") -> udp.Question:
    return udp.Question(dns.message.make_query(dns.name.from_text(name), rdtype))


def _answer(name: str, query_id: int, target: str, rdtype: str = "CNAME") -> bytes:
    query = dns.message.make_query(dns.name.from_text(name), rdtype)
    query.id = query_id
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    response.answer.append(dns.rrset.from_text(name + ".", 300, "IN", rdtype, target))
    return response.to_wire()


def test_the_same_bytes_with_another_id_are_the_kept_answer() -> None:
    question = _question("k1._domainkey.kept.example")
    first = udp._accepted(question, _answer("k1._domainkey.kept.example", 11, "a.example."), 11)
    again = udp._accepted(question, _answer("k1._domainkey.kept.example", 12, "a.example."), 12)
    assert first is not None
    assert again is first  # parsed once
    assert first.answer[0][0].target == dns.name.from_text("a.example.")


def test_a_kept_answer_never_answers_another_id_or_another_question() -> None:
    name = "k2._domainkey.kept.example"
    question = _question(name)
    wire = _answer(name, 21, "b.example.")
    assert udp._accepted(question, wire, 21) is not None
    # The query went out with id 22: an answer carrying 21 is not its answer.
    assert udp._accepted(question, wire, 22) is None
    # The same bytes do not answer a question about another name or type.
    assert udp._accepted(_question("k3._domainkey.kept.example"), wire, 21) is None
    assert udp._accepted(_question(name, "TXT"), wire, 21) is None


def test_a_changed_answer_is_parsed_again() -> None:
    name = "k4._domainkey.kept.example"
    question = _question(name)
    old = udp._accepted(question, _answer(name, 31, "old.example."), 31)
    new = udp._accepted(question, _answer(name, 32, "new.example."), 32)
    assert old is not None
    assert new is not None
    assert new.answer[0][0].target == dns.name.from_text("new.example.")


def test_the_kept_answers_are_bounded() -> None:
    kept = udp._Accepted(kept=2)
    question = _question("bounded.example")
    for index in range(3):
        wire = _answer("bounded.example", index, f"t{index}.example.")
        kept.keep(question, wire, dns.message.from_wire(wire))
    assert kept.get(question, _answer("bounded.example", 9, "t0.example.")) is None
    assert kept.get(question, _answer("bounded.example", 9, "t2.example.")) is not None
