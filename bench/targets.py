"""S1-S6 as one table: each figure beside its target, as a ratio to the limit.

A "ratio to limit" of 1.0 or less meets the target, whatever the direction of the figure:
for "at least" targets (S1 throughput) it is the limit over the figure.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    what: str
    figure: float | None  # what was measured, in `unit`
    limit: float | None  # the target's bound, in `unit`, from this run's measurements
    unit: str
    at_least: bool = False  # the figure must reach the limit (else: stay at or below it)
    note: str = ""
    # Missed, the run's other figures mean nothing (work done twice or skipped): the bench
    # exits non-zero.
    must_hold: bool = False

    @property
    def ratio(self) -> float | None:
        """Figure against limit, 1.0 or less meets the target."""
        if self.figure is None or self.limit is None:
            return None
        if self.at_least:
            return None if self.figure <= 0 else self.limit / self.figure
        if self.limit <= 0:  # "none at all": met only by none
            return 0.0 if self.figure <= 0 else float("inf")
        return self.figure / self.limit

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        return None if ratio is None else ratio <= 1.0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio_to_limit": self.ratio, "met": self.met}


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def render_targets(targets: list[Target]) -> str:
    """The fixed-width table of targets; the load average under it."""
    header = f"{'target':<6} {'what':<46} {'measured':>10} {'limit':>10} {'unit':<8} "
    header += f"{'ratio':>6} {'met':<4} note"
    lines = [header, "-" * len(header)]
    for target in targets:
        met = {True: "yes", False: "NO", None: "-"}[target.met]
        bound = ("≥ " if target.at_least else "≤ ") + _number(target.limit)
        lines.append(
            f"{target.name:<6} {target.what:<46} {_number(target.figure):>10} {bound:>10} "
            f"{target.unit:<8} {_number(target.ratio):>6} {met:<4} {target.note}"
        )
    load = os.getloadavg()
    lines.append("")
    lines.append(
        f"ratio: measured against the limit, 1.0 or less meets the target. "
        f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"({os.cpu_count()} CPUs)"
    )
    return "\n".join(lines)
