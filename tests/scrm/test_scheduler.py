from __future__ import annotations

import socket
import threading
import time

from scrm.scheduler import Scheduler, port_accepting


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_runs_each_task_at_its_interval_and_survives_failures():
    clock = Clock()
    ran: list[str] = []

    def run(name: str) -> None:
        ran.append(name)
        if name == "boom":
            raise RuntimeError("fails every time")

    scheduler = Scheduler({"every_minute": 60, "boom": 10}, run=run, clock=clock)
    assert sorted(scheduler.tick()) == ["boom", "every_minute"]  # all due at start
    clock.now += 10
    assert scheduler.tick() == ["boom"]  # failure did not stop its next turn
    clock.now += 50
    assert sorted(scheduler.tick()) == ["boom", "every_minute"]
    assert ran.count("every_minute") == 2


def test_the_first_turn_waits_until_ready():
    ran: list[str] = []
    ready = threading.Event()
    scheduler = Scheduler({"sweep": 60}, run=ran.append)
    scheduler.start(ready=ready.is_set)
    try:
        time.sleep(0.3)
        assert ran == []  # the server is not listening yet
        ready.set()
        deadline = time.monotonic() + 5
        while not ran and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ran == ["sweep"]
    finally:
        scheduler.stop()


def test_port_accepting_tells_a_listening_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        check = port_accepting("0.0.0.0", port)  # noqa: S104 - what serve may be given
        assert check() is False  # bound, not listening
        s.listen()
        assert check() is True
