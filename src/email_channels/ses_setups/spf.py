"""An SPF record evaluated as receivers evaluate it (RFC 7208), for one question: does it let
Amazon SES send, and does every receiver accept it?

Written here rather than taken from a library: the maintained Python evaluators (pyspf and its
fork spf3, checkdmarc) are synchronous and run their own DNS, and the asynchronous ones answer
"pass or fail for this client address" with their own resolver. This check needs something
else: the lookups of includes and redirects must go through the check's own DNS port, under
its one deadline, concurrently with each other, so that a timeout is told apart from a missing
record; and the question is structural (is `include:amazonses.com` reached with "pass" before
any `all`), not one address's result. The walk below is pure: it reads the answers it is given
and lists the lookups it still needs; `follow` asks those, round by round.

The record is judged for every sender at once, as checkdmarc judges it: every include and the
redirect (when there is no `all`) are followed, and their DNS-querying terms counted, although
one evaluation for one address may stop earlier.

`include:amazonses.com` is never looked up: Amazon publishes there address ranges alone
(`ip4:` terms), so following it adds no DNS-querying term and no void lookup, and a check of
the default record costs no query beyond the record itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from email_channels.integrations.dns import Observation, Outcome
from email_channels.ses_setups.spf_syntax import (
    DNS_QUERYING,
    Kind,
    SpfSyntaxError,
    Term,
    is_spf_record,
    parse_record,
)

Query = tuple[str, str]
AMAZON_SES = "amazonses.com"
MAX_DNS_TERMS = 10  # section 4.6.4
MAX_VOID_LOOKUPS = 2  # section 4.6.4
MAX_MX_NAMES = 10  # section 4.6.4
MAX_ROUNDS = MAX_DNS_TERMS + 2  # each round goes one include or redirect deeper


@dataclass(frozen=True, slots=True)
class SpfEvaluation:
    """What a receiver would make of the record, for the purpose of the check."""

    permerror: str | None = None  # why every receiver fails SPF: names the term at fault
    over_limit: bool = False  # the permerror is one of section 4.6.4's limits
    failed_lookup: tuple[str, str, str] | None = None  # (term, name, what failed): unknown
    authorises_ses: bool = False  # include:amazonses.com reached with "pass"
    dns_terms: int = 0
    void_lookups: int = 0
    pending: tuple[Query, ...] = ()  # lookups the walk needs and was not given


@dataclass(slots=True)
class _Walk:
    answers: Mapping[Query, Observation]
    dns_terms: int = 0
    void_lookups: int = 0
    permerror: str | None = None
    over_limit: bool = False
    failed_lookup: tuple[str, str, str] | None = None
    pending: list[Query] = field(default_factory=list)

    def record(self, terms: Sequence[Term], *, domain: str, chain: tuple[str, ...]) -> bool:
        """Walk one record's terms in order; True when they authorise Amazon SES.

        `chain`: the names whose records led here, the published one first.
        """
        authorised = False
        has_all = any(term.kind is Kind.ALL for term in terms)
        for term in terms:
            if self.permerror is not None or term.kind is Kind.ALL:
                break
            if term.kind in DNS_QUERYING and term.kind is not Kind.REDIRECT:
                authorised |= self._querying_term(term, domain=domain, chain=chain)
        redirect = next((term for term in terms if term.kind is Kind.REDIRECT), None)
        # Section 6.1: a redirect is ignored when the record has an all mechanism anywhere.
        if redirect is not None and not has_all and self.permerror is None:
            authorised |= self._querying_term(redirect, domain=domain, chain=chain)
        return authorised

    def _querying_term(self, term: Term, *, domain: str, chain: tuple[str, ...]) -> bool:
        self.dns_terms += 1
        if self.dns_terms > MAX_DNS_TERMS:
            self.over_limit = True
            self.permerror = (
                f"{_named(term, chain)} is DNS-querying term number {self.dns_terms} (include, "
                "a, mx, ptr, exists and redirect, counted through every include and redirect), "
                f"more than the {MAX_DNS_TERMS} receivers allow"
            )
            return False
        if term.has_macro or term.kind is Kind.PTR:
            return False  # expanded per message, or per client address: nothing to ask now
        name = term.target or domain
        if term.kind in (Kind.INCLUDE, Kind.REDIRECT):
            # A redirect's result is its target's; an include's, its qualifier's on a match.
            passes = term.passes or term.kind is Kind.REDIRECT
            if name == AMAZON_SES:
                return passes
            return self._followed(term, name=name, chain=chain) and passes
        rdtype = "MX" if term.kind is Kind.MX else "A"
        observation = self._answer(term, (name, rdtype))
        if observation is None:
            return False
        if observation.outcome is not Outcome.ANSWER:
            self._void(term, name, chain)
        elif term.kind is Kind.MX and len(observation.values) > MAX_MX_NAMES:
            self.over_limit = True
            self.permerror = (
                f"{_named(term, chain)} finds {len(observation.values)} MX records at {name}, "
                f"more than the {MAX_MX_NAMES} receivers look up"
            )
        return False

    def _followed(self, term: Term, *, name: str, chain: tuple[str, ...]) -> bool:
        if name in chain:
            self.permerror = f"{_named(term, chain)} loops back to {name}, which leads to it again"
            return False
        observation = self._answer(term, (name, "TXT"))
        if observation is None:
            return False
        if observation.outcome is not Outcome.ANSWER:
            self._void(term, name, chain)
            self._permerror_once(f"{_named(term, chain)} points to {name}, which has no SPF record")
            return False
        records = [value for value in observation.values if is_spf_record(value)]
        if len(records) != 1:
            many = f"{len(records)} SPF records" if records else "no SPF record"
            self._permerror_once(f"{_named(term, chain)} points to {name}, which has {many}")
            return False
        try:
            terms = parse_record(records[0])
        except SpfSyntaxError as error:
            self.permerror = (
                f'{_named(term, chain)} points to the record "{records[0]}" at {name}, whose term '
                f"{error.term} {error.problem}"
            )
            return False
        return self.record(terms, domain=name, chain=(*chain, name))

    def _answer(self, term: Term, query: Query) -> Observation | None:
        """The answer to `query`, or None when there is none to judge (yet)."""
        observation = self.answers.get(query)
        if observation is None:
            if query not in self.pending:
                self.pending.append(query)
            return None
        if observation.outcome is Outcome.FAILURE:
            if self.failed_lookup is None:
                self.failed_lookup = (term.text, query[0], observation.detail or "no answer")
            return None
        return observation

    def _void(self, term: Term, name: str, chain: tuple[str, ...]) -> None:
        self.void_lookups += 1
        if self.void_lookups > MAX_VOID_LOOKUPS:
            self.over_limit = True
            self.permerror = (
                f"{_named(term, chain)} finds nothing at {name}, lookup number "
                f"{self.void_lookups} that finds nothing, more than the {MAX_VOID_LOOKUPS} "
                "receivers allow"
            )

    def _permerror_once(self, problem: str) -> None:
        if self.permerror is None:
            self.permerror = problem


def _named(term: Term, chain: tuple[str, ...]) -> str:
    """The term as written, and where it is when that is not the published record."""
    if len(chain) == 1:
        return term.text
    return f"{term.text} (in the SPF record of {chain[-1]}, reached from {chain[0]})"


def evaluate_spf(
    record: str, *, domain: str, answers: Mapping[Query, Observation]
) -> SpfEvaluation:
    """The receivers' view of `record`, published at `domain`, from the answers given."""
    try:
        terms = parse_record(record)
    except SpfSyntaxError as error:
        return SpfEvaluation(permerror=f"{error.term} {error.problem}")
    walk = _Walk(answers)
    authorised = walk.record(terms, domain=domain, chain=(domain,))
    return SpfEvaluation(
        permerror=walk.permerror,
        over_limit=walk.over_limit,
        failed_lookup=walk.failed_lookup,
        authorises_ses=authorised,
        dns_terms=walk.dns_terms,
        void_lookups=walk.void_lookups,
        pending=() if walk.permerror is not None else tuple(walk.pending),
    )


async def follow(
    record: str,
    *,
    domain: str,
    ask: Callable[[list[Query]], Awaitable[Mapping[Query, Observation]]],
) -> dict[Query, Observation]:
    """The answers `evaluate_spf` needs for `record`, asked concurrently, one level per round.

    `ask` answers every query it is given, a failed one included (by the check's deadline),
    so the rounds end: each goes one include deeper, and the DNS-term limit bounds the depth.
    """
    answers: dict[Query, Observation] = {}
    for _ in range(MAX_ROUNDS):
        needed = evaluate_spf(record, domain=domain, answers=answers).pending
        if not needed:
            break
        answers |= await ask(list(needed))
    return answers
