"""``scrm.batching``: ids handed over in batches from one thread — a burst is not slowed to one
linger a batch, and a server shutting down hands over everything it holds."""

from __future__ import annotations

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
