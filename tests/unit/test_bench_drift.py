"""bench/drift.py: window pairs of a probe's samples, and the probe itself."""

from __future__ import annotations

import os

import pytest
from bench.drift import describe, probe, window_ratios


def _samples(costs: list[float], every: float = 0.5) -> list[tuple[float, float]]:
    return [(100.0 + i * every, cost) for i, cost in enumerate(costs)]


def test_a_steady_machine_gives_ratios_of_one() -> None:
    ratios = window_ratios(_samples([2.0] * 40), window=2.0, gap=6.0)
    assert ratios
    assert all(r == pytest.approx(1.0) for r in ratios)


def test_a_machine_that_slows_down_gives_the_later_window_over_the_earlier() -> None:
    # 10 s at a cost of 1.0, then 10 s at 1.5: windows of 2 s, 10 s apart.
    samples = _samples([1.0] * 20 + [1.5] * 20)
    ratios = window_ratios(samples, window=2.0, gap=10.0, step=1.0)
    assert ratios[0] == pytest.approx(1.5)
    assert all(r == pytest.approx(1.5) for r in ratios)
    # and the other way round: faster later is below 1.0
    faster = window_ratios(_samples([1.5] * 20 + [1.0] * 20), window=2.0, gap=10.0)
    assert all(r == pytest.approx(1 / 1.5) for r in faster)


def test_windows_average_the_samples_they_hold() -> None:
    # earlier window holds 1.0 and 3.0 (mean 2.0); the later 4.0 and 4.0
    samples = [(0.0, 1.0), (0.5, 3.0), (5.0, 4.0), (5.5, 4.0), (9.0, 0.0)]
    assert window_ratios(samples, window=1.0, gap=5.0, step=100.0) == [2.0]


def test_too_short_a_run_gives_no_pair_and_says_so() -> None:
    assert window_ratios(_samples([1.0] * 4), window=2.0, gap=6.0) == []
    assert window_ratios([], window=2.0, gap=6.0) == []
    assert "no pair of windows" in describe([])


def test_describe_counts_the_pairs_where_the_later_window_was_slower() -> None:
    text = describe([0.9, 1.0, 1.02, 1.1])
    assert text.startswith("4 pairs:")
    assert "later slower: 50% of pairs, by more than 5%: 25%" in text


def test_the_probe_pinned_to_a_cpu_records_the_work_it_did() -> None:
    (samples,) = probe([min(os.sched_getaffinity(0))], seconds=0.3, interval=0.01)
    assert len(samples) >= 5
    times = [at for at, _ in samples]
    assert times == sorted(times)
    assert all(cost > 0 for _, cost in samples)


def test_a_probe_that_dies_is_reported_not_waited_for() -> None:
    with pytest.raises(RuntimeError, match="stopped before it finished"):
        probe([-1], seconds=0.3, interval=0.01)  # no such CPU: the child cannot pin itself
