"""``scrm.batching``: ids handed over in batches from one thread — a burst is not slowed to one
linger a batch, and a server shutting down hands over everything it holds."""

from __future__ import annotations

import logging
import threading
import time

from scrm.batching import Batcher, batchers_drain
from tests.serve import wait_until


class Sink:
    """What a batcher handed over, batch by batch, with when."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.lock = threading.Lock()

    def __call__(self, batch) -> None:
        with self.lock:
            self.batches.append(list(batch))

    def items(self) -> list[int]:
        with self.lock:
            return [i for b in self.batches for i in b]


def test_a_burst_goes_in_full_batches_without_a_linger_each():
    sink = Sink()
    batcher = Batcher(sink, linger=1.0, max_items=50, name="test-burst")
    # When 200 items arrive at once
    started = time.monotonic()
    for i in range(200):
        batcher.add(i)
    assert wait_until(lambda: len(sink.items()) == 200, timeout=5.0, interval=0.01)
    took = time.monotonic() - started
    # Then they went as four full batches, in order, without a second's wait for each (a
    # linger a batch made the burst wait four of them); only a batch not full waits
    assert sink.items() == list(range(200))
    assert [len(b) for b in sink.batches] == [50, 50, 50, 50]
    assert took < 1.0
    # And a lone item still waits its linger for others
    batcher.add(200)
    time.sleep(0.5)
    assert len(sink.items()) == 200
    assert wait_until(lambda: len(sink.items()) == 201, timeout=5.0, interval=0.01)
    assert sink.batches[-1] == [200]


def test_batchers_drain_hands_over_what_every_batcher_holds():
    first, second = Sink(), Sink()
    a = Batcher(first, linger=30.0, max_items=50, name="test-a")
    b = Batcher(second, linger=30.0, max_items=50, name="test-b")
    a.add(1)
    b.add(2)
    b.add(3)
    # When the server shuts down (its lifespan's shutdown calls it)
    started = time.monotonic()
    assert batchers_drain(5.0)
    # Then both hand over at once, without waiting out their linger
    assert time.monotonic() - started < 5.0
    assert first.items() == [1] and second.items() == [2, 3]


def test_a_linger_given_as_a_function_is_asked_for_each_batch():
    sink = Sink()
    lingers = [0.6]
    asked = []

    def linger() -> float:
        asked.append(lingers[0])
        return lingers[0]

    batcher = Batcher(sink, linger=linger, max_items=50, name="test-linger-fn")
    # While the function says 0.6 s, items 0.1 s apart share one batch
    for i in range(3):
        batcher.add(i)
        time.sleep(0.1)
    assert wait_until(lambda: len(sink.items()) == 3, timeout=5.0, interval=0.01)
    assert sink.batches == [[0, 1, 2]]
    # When it says 0 s, each goes alone
    lingers[0] = 0.0
    for i in range(3, 6):
        batcher.add(i)
        assert wait_until(lambda i=i: len(sink.items()) == i + 1, timeout=5.0, interval=0.01)
    assert sink.batches[1:] == [[3], [4], [5]]
    assert len(asked) == 4  # once a batch


def test_a_linger_function_that_fails_loses_no_item(caplog):
    sink = Sink()

    def linger() -> float:
        raise ConnectionError("redis down")

    batcher = Batcher(sink, linger=linger, max_items=50, name="test-linger-fails")
    # (the logger's own level: another test may have left the root's higher)
    with caplog.at_level(logging.WARNING, logger="scrm.batching"):
        batcher.add(1)
        batcher.add(2)
        # Then the items still go (at no linger), and the failure is named without its message
        assert wait_until(lambda: sorted(sink.items()) == [1, 2], timeout=5.0, interval=0.01)
    assert "test-linger-fails: linger not known: ConnectionError" in caplog.text
    assert "redis down" not in caplog.text
