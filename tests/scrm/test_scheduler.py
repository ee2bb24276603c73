from __future__ import annotations

from scrm.scheduler import Scheduler


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
