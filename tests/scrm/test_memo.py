"""scrm.memo: a value read once per unit of work, and only inside one."""

from __future__ import annotations

import threading

import pytest

from scrm import memo
from scrm.memo import remembered, work_memo


class Reads:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> int:
        self.count += 1
        return self.count


def test_outside_a_unit_of_work_every_call_reads():
    read = Reads()
    assert [remembered("k", read) for _ in range(3)] == [1, 2, 3]


def test_inside_one_each_key_is_read_once_and_forgotten_at_its_end():
    read, other = Reads(), Reads()
    with work_memo():
        assert [remembered("k", read) for _ in range(3)] == [1, 1, 1]
        assert remembered("j", other) == 1
        with work_memo():  # a block inside uses the outer memo
            assert remembered("k", read) == 1
    assert remembered("k", read) == 2
    with work_memo():
        assert remembered("k", read) == 3


def test_a_value_older_than_its_age_is_read_again(monkeypatch):
    read = Reads()
    clock = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: clock[0])
    with work_memo():
        assert remembered("k", read) == 1
        clock[0] += memo.MAX_AGE_SECONDS - 0.1
        assert remembered("k", read) == 1
        clock[0] += 0.2
        assert remembered("k", read) == 2


def test_a_failed_read_is_not_remembered():
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise LookupError("gone")
        return "ok"

    with work_memo():
        with pytest.raises(LookupError):
            remembered("k", flaky)
        assert remembered("k", flaky) == "ok"


def test_another_thread_has_its_own():
    read = Reads()
    seen = []
    with work_memo():
        remembered("k", read)
        thread = threading.Thread(target=lambda: seen.append(remembered("k", read)))
        thread.start()
        thread.join()
    assert seen == [2]


def test_forget_all_drops_what_every_block_of_the_process_holds():
    read = Reads()
    with work_memo():
        assert remembered("k", read) == 1
        memo.forget_all()  # a settings edit saved in this process
        assert remembered("k", read) == 2
        assert remembered("k", read) == 2
