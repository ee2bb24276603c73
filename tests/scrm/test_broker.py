"""``scrm.broker.QueueDepth``: how many tasks wait in a broker queue, as the web server's webhook
batcher reads it (at most once a second; a broker that cannot answer means "not known")."""

from __future__ import annotations

import logging
import time

import pytest
import redis
from django.conf import settings

from scrm.broker import QUEUE_DEPTH_READ_EVERY, QueueDepth

QUEUE = "scrm-test-depth"


@pytest.mark.skipif(not settings.SERVICES_MODE, reason="needs the Redis broker (services mode)")
def test_the_depth_is_the_queue_length_read_at_most_once_a_second():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(QUEUE)
    try:
        client.lpush(QUEUE, "a", "b", "c")
        depth = QueueDepth(QUEUE)
        assert depth() == 3
        # Within the second the figure read stands (one Redis call a second at most)
        client.lpush(QUEUE, "d")
        assert depth() == 3
        time.sleep(QUEUE_DEPTH_READ_EVERY + 0.05)
        assert depth() == 4
    finally:
        client.delete(QUEUE)
        client.close()


def test_without_a_redis_broker_the_depth_is_not_known(settings):
    settings.CELERY_BROKER_URL = "memory://"
    assert QueueDepth(QUEUE)() is None


def test_a_broker_that_cannot_answer_means_not_known_logged_once(settings, caplog):
    # A port nobody listens on; the password must never reach the log
    settings.CELERY_BROKER_URL = "redis://:s3cret-pw@127.0.0.1:1/0"
    depth = QueueDepth(QUEUE)
    with caplog.at_level(logging.INFO, logger="scrm.broker"):
        assert depth() is None
        time.sleep(QUEUE_DEPTH_READ_EVERY + 0.05)
        assert depth() is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "ConnectionError" in warnings[0].getMessage()
    assert "s3cret" not in caplog.text and "127.0.0.1" not in caplog.text
