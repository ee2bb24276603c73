"""The queue's conversation rows, read as columns (inbox/selectors/queue_rows.py), show what
the conversation itself shows: the same JSON as ``GET /api/v1/conversations/<id>/`` for every
field of a row, the names on the page, and a marker (not an error) for a value that no longer
decrypts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from inbox.models import Conversation, Customer, Member, Tag
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db

ROW_FIELDS = (
    "id",
    "platform_conversation_id",
    "shop_account",
    "customer",
    "status",
    "priority",
    "assignee",
    "tags",
    "unread_count",
    "last_message_at",
    "last_message_preview",
    "last_buyer_message_at",
    "waiting_since",
    "snoozed_until",
    "can_send_message",
)


def _queue(client, query: str = "") -> list[dict]:
    response = client.get(f"/api/v1/queue/?kind=conversations{query}")
    assert response.status_code == 200, response.content
    return [row["conversation"] for row in response.json()["results"]]


def test_a_queue_row_is_the_conversation_as_its_own_endpoint_shows_it(world, api):
    # Given conversations in two shops of different zones, one assigned to an agent with a
    # display name, tagged and urgent, one unassigned
    assigned = conversation_with_messages(world.shop_a2, buyer="王芳", texts=("尺码偏大吗？",))
    other = conversation_with_messages(world.shop_a3, buyer="Aiman", waited=timedelta(hours=3))
    Member.objects.filter(user=world.agent_a2).update(display_name="Lin (UK desk)")
    assigned.assignee = world.agent_a2
    assigned.priority = 3
    assigned.save(update_fields=["assignee", "priority"])
    assigned.tags.add(
        Tag.objects.create(organisation=world.org_a, name="vip"),
        Tag.objects.create(organisation=world.org_a, name="refund"),
    )
    sup = api.as_user(world.supervisor_a)

    # When the supervisor reads the queue
    rows = {row["id"]: row for row in _queue(sup)}

    # Then each row carries exactly what the conversation's own endpoint says of it
    for conversation in (assigned, other):
        detail = sup.get(f"/api/v1/conversations/{conversation.id}/").json()
        assert {k: rows[conversation.id][k] for k in ROW_FIELDS} == {
            k: detail[k] for k in ROW_FIELDS
        }
    row = rows[assigned.id]
    assert row["assignee"] == {
        "id": world.agent_a2.id,
        "username": "agent_a2",
        "name": "Lin (UK desk)",
    }
    assert row["customer"]["name"] == "王芳"
    assert row["shop_account"]["name"] == "A2 UK"
    assert row["shop_account"]["time_zone"] == "Europe/London"
    assert row["tags"] == ["refund", "vip"]
    assert row["last_message_preview"] == "尺码偏大吗？"
    assert rows[other.id]["assignee"] is None
    assert rows[other.id]["shop_account"]["time_zone"] == "Asia/Kuala_Lumpur"


def test_the_platform_and_shop_filters_still_scope_the_rows(world, api):
    mine = conversation_with_messages(world.shop_a1)
    conversation_with_messages(world.shop_b1)  # another organisation's
    agent = api.as_user(world.agent_a1)
    assert [r["id"] for r in _queue(agent, "&platform=tiktok_shop")] == [mine.id]
    assert _queue(agent, "&platform=another_platform") == []
    assert _queue(agent, f"&shop={world.shop_b1.id}") == []  # not theirs: nothing, no leak


def test_the_queue_page_shows_the_assignee_shop_and_priority(world, client):
    conversation = conversation_with_messages(world.shop_a1, buyer="Emily R.")
    Member.objects.filter(user=world.agent_a1).update(display_name="Ana Souza")
    Conversation.objects.filter(pk=conversation.pk).update(assignee=world.supervisor_a, priority=2)
    Member.objects.filter(user=world.supervisor_a).update(display_name="Sam the supervisor")
    client.force_login(world.agent_a1)
    page = client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    row = html[html.index(f'id="qrow-{conversation.id}"') :]
    row = row[: row.index("</li>")]
    assert "Emily R." in row and "A1 US" in row and "TikTok Shop" in row
    assert "Sam the supervisor" in row and "High" in row


def test_a_buyer_name_that_no_longer_decrypts_shows_a_marker_and_the_queue_answers(
    world, api, caplog
):
    good = conversation_with_messages(world.shop_a1, buyer="Readable Buyer")
    bad = conversation_with_messages(world.shop_a1, buyer="QXSECRET Moved")
    # The first buyer's ciphertext copied over the second's (another row): it cannot decrypt
    table = Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT display_name FROM {table} WHERE id = %s", [good.customer_id])  # noqa: S608
        (token,) = cursor.fetchone()
        cursor.execute(
            f"UPDATE {table} SET display_name = %s WHERE id = %s",  # noqa: S608
            [token, bad.customer_id],
        )

    rows = {r["id"]: r for r in _queue(api.as_user(world.agent_a1))}

    assert rows[good.id]["customer"]["name"] == "Readable Buyer"
    assert rows[bad.id]["customer"]["name"] == "[could not be decrypted]"
    logged = [r.getMessage() for r in caplog.records if r.name == "scrm.fields"]
    assert any(f"inbox.customer.display_name of row {bad.customer_id}" in m for m in logged)
    assert not any("QXSECRET" in m or token in m for m in logged)
