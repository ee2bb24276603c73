"""Search finds what arrived through the real paths (issue 16): buyer messages delivered by the
platform simulator's webhooks, a reply sent through the API, the buyer who wrote; and nothing
of it is in the database as plaintext."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from inbox.models import Conversation

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/messages/search/"


def test_webhook_messages_replies_and_buyers_are_found(world, platform, api):
    # Given a buyer writes to shop a1 in English and Chinese, delivered by webhook
    now = int(time.time())
    sim = platform.sim
    conversation_id, _ = sim.buyer_message(
        world.shop_a1.platform_shop_id,
        buyer_user_id="b-search",
        nickname="Marisol Ortega",
        text="My teapot arrived cracked, 包裹破损了",
        at=now - 300,
    )
    assert sim.deliver_webhooks()["statuses"] == {200: 1}
    conversation = Conversation.objects.get(platform_conversation_id=conversation_id)
    client = api.as_user(world.agent_a1)
    # And the agent replies through the API
    reply = client.post(
        f"/api/v1/conversations/{conversation.id}/messages/",
        {"text": "So sorry! A new teapot ships tomorrow.", "idempotency_key": "k-search"},
        format="json",
    )
    assert reply.status_code == 201, reply.content

    def found(q: str) -> list[tuple[str, str]]:
        response = client.get(URL, {"q": q})
        assert response.status_code == 200, response.content
        return [(r["direction"], r["snippet"]) for r in response.json()["results"]]

    # Then both are found by their words, newest first, the buyer's by Chinese too
    assert [d for d, _ in found("teapot")] == ["out", "in"]
    assert found("破损") == [("in", "My teapot arrived cracked, 包裹破损了")]
    assert found("SHIPS tomorrow") == [("out", "So sorry! A new teapot ships tomorrow.")]
    # And the queue finds the conversation by the buyer's name as typed
    rows = client.get("/api/v1/conversations/", {"q": "mari", "status": "all"}).json()
    assert [r["id"] for r in rows["results"]] == [conversation.id]
    # While no table holds the words in plaintext, only their ciphertexts and tokens
    with connection.cursor() as cur:
        cur.execute("SELECT text FROM inbox_message WHERE conversation_id = %s", [conversation.id])
        stored = " ".join(row[0] for row in cur.fetchall())
    assert "teapot" not in stored and "破损" not in stored
    # And another shop's agent finds none of it
    assert api.as_user(world.agent_a2).get(URL, {"q": "teapot"}).json()["results"] == []
