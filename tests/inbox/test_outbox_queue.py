"""Deliveries to the platform go to a queue of their own ("outbox"), so an agent's reply never
waits behind a backlog of webhook processing and backfills in the one FIFO queue (the soak
benchmark measured replies waiting three minutes behind them); a worker started without -Q
consumes every queue, in turn."""

from __future__ import annotations

import pytest

from inbox.tasks import backfill_shop, process_webhook_events
from scrm.celery import app as celery_app
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reply_is_queued_apart_from_a_backlog_of_ingestion(world, api, broker):
    conversation = conversation_with_messages(world.shop_a1)
    # Given a backlog of webhook batches and backfills in the main queue
    for i in range(30):
        process_webhook_events.delay([10_000 + i])
        backfill_shop.delay(world.shop_a1.id, "messages")
    # When an agent replies (the delivery is queued once the reply commits)
    response = api.as_user(world.agent_a1).post(
        f"/api/v1/conversations/{conversation.id}/messages/",
        {"text": "On its way today", "idempotency_key": "queue-1"},
        format="json",
    )
    assert response.status_code in (200, 201, 202), response.content
    # Then the delivery waits in the outbox queue, first in line there, not behind the 60
    assert [name for name, _ in broker.take("outbox")] == ["inbox.tasks.deliver_outbox_action"]
    behind = [name for name, _ in broker.take("celery")]
    assert behind.count("inbox.tasks.process_webhook_events") == 30
    assert "inbox.tasks.deliver_outbox_action" not in behind


def test_a_worker_without_q_consumes_every_queue():
    # What `celery -A scrm worker` (the benches, a worker without -Q) listens to by default
    consumed = {q.name for q in celery_app.amqp.queues.consume_from.values()}
    assert consumed >= {"celery", "outbox", "periodic"}
