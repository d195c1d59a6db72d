from __future__ import annotations

import threading

from platform_sessions.adapters.two_tier.circuit_breaker import BreakerSettings, BreakerState, CircuitBreaker


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def a_breaker(time: FakeTime, transitions: list | None = None) -> CircuitBreaker:
    record = (lambda old, new: transitions.append((old, new))) if transitions is not None else None
    return CircuitBreaker(
        BreakerSettings(failure_threshold=3, open_seconds=2.0), monotonic=time, on_transition=record
    )


def test_it_opens_after_the_threshold_of_consecutive_failures():
    breaker = a_breaker(FakeTime())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # the count restarts
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.allows_call()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allows_call()


def test_one_probe_after_the_open_period_and_success_closes_it():
    time, transitions = FakeTime(), []  # type: ignore[var-annotated]
    breaker = a_breaker(time, transitions)
    for _ in range(3):
        breaker.record_failure()
    time.now += 2.0
    assert breaker.allows_call()  # the probe
    assert not breaker.allows_call()  # everyone else waits for it
    breaker.record_success()
    assert breaker.allows_call()
    assert [new for _, new in transitions] == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_a_failed_probe_opens_it_again_for_a_full_period():
    time = FakeTime()
    breaker = a_breaker(time)
    for _ in range(3):
        breaker.record_failure()
    time.now += 2.0
    assert breaker.allows_call()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    time.now += 1.0
    assert not breaker.allows_call()


def test_only_one_of_many_threads_gets_the_probe():
    time = FakeTime()
    breaker = a_breaker(time)
    for _ in range(3):
        breaker.record_failure()
    time.now += 5
    results: list[bool] = []
    barrier = threading.Barrier(16)

    def ask() -> None:
        barrier.wait(timeout=5)
        results.append(breaker.allows_call())

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert results.count(True) == 1
