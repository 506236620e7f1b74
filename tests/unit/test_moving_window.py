"""The `memory://` moving window: at most `limit` hits of a key in any 60 seconds."""

from __future__ import annotations

import math

import pytest

from email_channels.auth import moving_window
from email_channels.auth.moving_window import WINDOW_SECONDS, MemoryMovingWindow

# Seconds between hits: bursts, pauses, a hit exactly one window after another, long gaps.
STEPS = [0.0] * 5 + [1.5, 0.2, 10.0, 0.0, 30.0, 18.3, 0.0, 60.0, 0.01, 59.99, 120.0] + [0.5] * 8


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def time(self) -> float:
        return self.now


def _model(accepted: list[float], now: float, limit: int) -> tuple[bool, int, int]:
    """What a moving window must answer, from every accepted hit so far."""
    in_window = [at for at in accepted if at >= now - WINDOW_SECONDS]
    allowed = len(in_window) < limit
    if allowed:
        accepted.append(now)
        in_window.append(now)
    start = min(in_window) if in_window else now
    return allowed, limit - len(in_window), math.ceil(start + WINDOW_SECONDS - now)


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_refusals_remaining_and_reset_follow_the_window(
    limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(moving_window.time, "time", clock.time)
    window = MemoryMovingWindow(limit)
    accepted: list[float] = []
    for step in STEPS:
        clock.now += step
        allowed, remaining, reset_at = window.hit("key")
        answer = (allowed, remaining, math.ceil(reset_at - clock.now))
        assert answer == _model(accepted, clock.now, limit)


def test_keys_are_counted_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moving_window.time, "time", Clock().time)
    window = MemoryMovingWindow(1)
    assert window.hit("a")[0]
    assert not window.hit("a")[0]
    assert window.hit("b")[0]


def test_quiet_keys_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(moving_window.time, "time", clock.time)
    monkeypatch.setattr(moving_window, "SWEEP_EVERY", 3)
    window = MemoryMovingWindow(5)
    window.hit("old")
    clock.now += WINDOW_SECONDS + 1
    for _ in range(3):
        window.hit("new")
    assert list(window._hits) == ["new"]


def test_many_hits_grow_and_shrink_the_queue_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # Thousands of hits in a window, then the window moves past most of them, several times.
    clock = Clock()
    monkeypatch.setattr(moving_window.time, "time", clock.time)
    limit = 2_000
    window = MemoryMovingWindow(limit)
    accepted: list[float] = []
    steps = ([0.01] * 2_500 + [45.0] + [0.02] * 300 + [30.0] + [1.0] * 70) * 3
    for step in steps:
        clock.now += step
        allowed, remaining, reset_at = window.hit("key")
        answer = (allowed, remaining, math.ceil(reset_at - clock.now))
        assert answer == _model(accepted, clock.now, limit)
