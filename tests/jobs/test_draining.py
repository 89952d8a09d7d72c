"""Draining deliveries in paced rounds, and the doorbell that asks for it."""

from __future__ import annotations

import threading
import time

from keepwell.jobs.draining import Doorbell, Drainer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_rounds_run_until_one_finds_nothing_at_least_the_pause_apart() -> None:
    clock = FakeClock()
    found = iter([True, True, False])

    def one_round() -> bool:
        clock.now += 0.01  # each round takes 10 ms
        return next(found)

    Drainer(one_round, 0.05, clock=clock, sleep=clock.sleep).drain()
    # The first round at once; the next ones wait out the rest of the pause.
    assert clock.slept == [0.0, 0.04, 0.04]


def test_asking_while_a_round_runs_gets_one_more_round_from_the_draining_thread() -> None:
    in_round, go_on = threading.Event(), threading.Event()
    rounds: list[str] = []

    def one_round() -> bool:
        rounds.append(threading.current_thread().name)
        if len(rounds) == 1:
            in_round.set()
            go_on.wait(5)
        return False  # nothing more: without the second ask, draining would stop here

    drainer = Drainer(one_round, 0.0)
    first = threading.Thread(target=drainer.drain, name="first")
    first.start()
    assert in_round.wait(5)
    started = time.monotonic()
    drainer.drain()  # from this thread, while "first" drains: returns at once
    assert time.monotonic() - started < 1
    go_on.set()
    first.join(5)
    assert rounds == ["first", "first"]


def test_the_doorbell_rings_once_at_once_and_once_for_all_pressed_meanwhile() -> None:
    rang: list[float] = []
    bell = Doorbell(lambda: rang.append(time.monotonic()), quiet=0.2)
    started = time.monotonic()
    for _ in range(50):
        bell.press()
    assert len(rang) == 1
    deadline = time.monotonic() + 5
    while len(rang) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(rang) == 2
    assert rang[1] - started >= 0.2  # after the quiet time, not before
    time.sleep(0.3)
    assert len(rang) == 2  # nothing pressed since


def test_closing_the_doorbell_rings_what_it_would_ring_later() -> None:
    rang: list[str] = []
    bell = Doorbell(lambda: rang.append("ring"), quiet=60)
    bell.press()
    bell.press()  # to ring in a minute
    bell.close()
    assert rang == ["ring", "ring"]
