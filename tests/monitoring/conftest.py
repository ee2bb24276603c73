"""Fixtures of the SLA tracker's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.monitoring.channel_receiver import Receiver, receiver_serving


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    """A real HTTP receiver on 127.0.0.1 (allow-listed for the outbound guard), alerts'
    links under https://scrm.example.com."""
    yield from receiver_serving(settings)
