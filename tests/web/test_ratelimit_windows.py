"""The in-memory limiter's fixed windows: counted per key and limit, a window that has ended
starts afresh, and ended windows do not pile up."""

from __future__ import annotations

import time

import pytest

from emstrack.web.ratelimit import Limiter


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    clock = _Clock()
    monkeypatch.setattr(time, "time", clock)  # what the limiter reads
    return clock


def test_a_window_counts_hits_and_costs_until_it_ends(clock: _Clock) -> None:
    limiter = Limiter()
    first = limiter.check("addr:192.0.2.1", "3/minute")
    assert (first.allowed, first.limit, first.remaining, first.reset) == (True, 3, 2, 60)
    clock.now += 20.4
    second = limiter.check("addr:192.0.2.1", "3/minute", cost=2)
    assert (second.allowed, second.remaining, second.reset) == (True, 0, 40)
    over = limiter.check("addr:192.0.2.1", "3/minute")
    assert (over.allowed, over.remaining) == (False, 0)
    # Another key, or the same key under another limit, has its own window.
    assert limiter.check("addr:192.0.2.2", "3/minute").remaining == 2
    assert limiter.check("addr:192.0.2.1", "5/minute").remaining == 4
    clock.now += 40
    again = limiter.check("addr:192.0.2.1", "3/minute")
    assert (again.allowed, again.remaining, again.reset) == (True, 2, 60)


def test_ended_windows_are_swept(clock: _Clock) -> None:
    limiter = Limiter()
    for i in range(100):
        limiter.check(f"addr:192.0.2.{i}", "1/second")
    windows = limiter._windows
    assert windows is not None
    assert len(windows._windows) == 100
    clock.now += windows.SWEEP_EVERY + 1
    limiter.check("addr:198.51.100.1", "1/second")
    assert list(windows._windows) == [("addr:198.51.100.1", "1/second")]
