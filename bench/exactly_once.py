"""The checks of S7 and S8 that no piece of work was done twice or skipped (pure).

S7: BIND's query log, counted per (name, type): a setup was checked as many times as its
record queries were asked, and each of its records must have been asked equally often.
S8: what the receivers noted, per receiver in arrival order: each expected event once, with
a valid signature, and the events of one setup in the order they happened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

Query = tuple[str, str]  # (name, type), lower-case name without the final dot


@dataclass(frozen=True, slots=True)
class CheckCounts:
    """How many setups were checked how many times; `uneven`: records asked unequally."""

    times: Counter[int]
    uneven: list[str] = field(default_factory=list)

    def exactly_once(self, setups: int) -> bool:
        return not self.uneven and self.times == Counter({1: setups})

    def describe(self) -> str:
        parts = [f"{count} setups {times}x" for times, count in sorted(self.times.items())]
        if self.uneven:
            parts.append(f"{len(self.uneven)} with records asked unequally ({self.uneven[0]})")
        return ", ".join(parts) or "none"


def checks_per_setup(
    counts: Mapping[Query, int], queries_by_setup: Mapping[str, Sequence[Query]]
) -> CheckCounts:
    """Per setup (by domain), the times its record queries were asked, from the query log."""
    times: Counter[int] = Counter()
    uneven: list[str] = []
    for domain, queries in queries_by_setup.items():
        asked = {counts.get(query, 0) for query in queries}
        if len(asked) != 1:
            uneven.append(domain)
            continue
        times[asked.pop()] += 1
    return CheckCounts(times, uneven)


def queries_per_setup(
    counts: Mapping[Query, int], domains: Iterable[str], *, shared: Iterable[Query] = ()
) -> float:
    """Queries of names at or under the setups' domains, and of the `shared` ones (an SPF
    include's, asked once per check), over the number of setups."""
    owners = set(domains)
    total = sum(counts.get(query, 0) for query in shared)
    for (name, _), count in counts.items():
        labels = name.split(".")
        if any(".".join(labels[start:]) in owners for start in range(len(labels))):
            total += count
    return total / len(owners) if owners else 0.0


@dataclass(frozen=True, slots=True)
class DeliveryCheck:
    """What S8's receivers saw against what was due."""

    delivered: int  # distinct expected (receiver, event) pairs that arrived
    missing: int
    duplicates: int  # arrivals beyond the first of a (receiver, event)
    unexpected: int  # arrivals of events not due at that receiver
    bad_signatures: int
    out_of_order: int  # setups whose events reached a receiver out of their order

    @property
    def violations(self) -> int:
        """Deliveries missing, repeated, unexpected, badly signed; setups out of order."""
        return (
            self.missing
            + self.duplicates
            + self.unexpected
            + self.bad_signatures
            + self.out_of_order
        )

    def describe(self) -> str:
        return (
            f"{self.delivered} delivered once, {self.missing} missing, {self.duplicates}"
            f" duplicates, {self.unexpected} unexpected, {self.bad_signatures} bad signatures,"
            f" {self.out_of_order} setups out of order"
        )


def check_deliveries(
    expected: Sequence[Sequence[tuple[str, str]]],
    received: Sequence[Sequence[tuple[str, str, bool]]],
) -> DeliveryCheck:
    """`expected[i]`: receiver i's (event id, setup id) in the order the events happened;
    `received[i]`: (event id, setup id, signature valid) in the order they arrived."""
    delivered = missing = duplicates = unexpected = bad = disordered = 0
    for due, arrived in zip(expected, received, strict=True):
        position = {event_id: index for index, (event_id, _) in enumerate(due)}
        seen: Counter[str] = Counter()
        last: dict[str, int] = {}
        broken: set[str] = set()
        for event_id, setup_id, valid in arrived:
            if not valid:
                bad += 1
            index = position.get(event_id)
            if index is None:
                unexpected += 1
                continue
            seen[event_id] += 1
            if seen[event_id] > 1:
                duplicates += 1
                continue
            if last.get(setup_id, -1) > index:
                broken.add(setup_id)
            last[setup_id] = max(last.get(setup_id, -1), index)
        delivered += len(seen)
        missing += len(due) - len(seen)
        disordered += len(broken)
    return DeliveryCheck(delivered, missing, duplicates, unexpected, bad, disordered)


def completion_rate(first: float | None, last: float | None, count: int) -> float | None:
    """Pieces of work a second between the first and the last completion (count - 1 gaps)."""
    if first is None or last is None or count < 2 or last <= first:
        return None
    return (count - 1) / (last - first)
