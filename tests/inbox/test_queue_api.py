"""The unified queue through the public API: scope, filters, sorting, work on conversations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inbox.models import Conversation, InboxEvent
from monitoring.models import AuditEvent
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(world):
    return {
        "a1_old": conversation_with_messages(world.shop_a1, waited=timedelta(hours=13)),
        "a1_new": conversation_with_messages(world.shop_a1, waited=timedelta(minutes=5)),
        "a2": conversation_with_messages(world.shop_a2, buyer="王芳", texts=("尺码偏大吗？",)),
        "a3": conversation_with_messages(world.shop_a3, waited=timedelta(hours=2)),
        "b1": conversation_with_messages(world.shop_b1),
    }


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_agent_queue_merges_member_shops_longest_waiting_first(world, api, queue):
    # agent_a2 works shops a2 and a3
    got = ids(api.as_user(world.agent_a2).get("/api/v1/conversations/"))
    assert got == [queue["a3"].id, queue["a2"].id]


def test_supervisor_sees_every_shop_of_the_organisation_only(world, api, queue):
    got = ids(api.as_user(world.supervisor_a).get("/api/v1/conversations/"))
    assert set(got) == {queue[k].id for k in ("a1_old", "a1_new", "a2", "a3")}
    assert got[0] == queue["a1_old"].id


def test_filters(world, api, queue):
    sup = api.as_user(world.supervisor_a)
    assert ids(sup.get(f"/api/v1/conversations/?shop={world.shop_a2.id}")) == [queue["a2"].id]
    # a shop outside your reach filters to nothing rather than leaking
    assert ids(sup.get(f"/api/v1/conversations/?shop={world.shop_b1.id}")) == []
    assert ids(sup.get("/api/v1/conversations/?waiting_minutes=720")) == [queue["a1_old"].id]
    assert ids(sup.get("/api/v1/conversations/?assignee=unassigned"))
    assert ids(sup.get("/api/v1/conversations/?assignee=me")) == []
    assert ids(sup.get("/api/v1/conversations/?q=尺码")) == [queue["a2"].id]
    # buyer name: exact match through the blind index (the name is encrypted at rest)
    assert ids(sup.get("/api/v1/conversations/?q=王芳")) == [queue["a2"].id]
    assert ids(sup.get("/api/v1/conversations/?platform=tiktok_shop"))
    bad = sup.get("/api/v1/conversations/?sort=random")
    assert bad.status_code == 400
    assert "sort" in bad.json()["error"]["details"]


def test_sort_newest_and_cursor_paging(world, api):
    for i in range(7):
        conversation_with_messages(world.shop_a1, waited=timedelta(minutes=10 * (i + 1)))
    agent = api.as_user(world.agent_a1)
    first = agent.get("/api/v1/conversations/?page_size=3")
    seen = ids(first)
    nxt = first.json()["next"]
    while nxt:
        page = agent.get(nxt)
        seen += ids(page)
        nxt = page.json()["next"]
    assert len(seen) == len(set(seen)) == 7
    waits = [Conversation.objects.get(id=i).waiting_since for i in seen]
    assert waits == sorted(waits)
    newest = ids(agent.get("/api/v1/conversations/?sort=newest"))
    assert newest == list(reversed(seen))


def test_every_conversation_endpoint_is_404_for_another_shop(world, api, queue):
    target = queue["a2"].id  # agent_a1 is not a member of shop a2
    agent = api.as_user(world.agent_a1)
    calls = [
        agent.get(f"/api/v1/conversations/{target}/"),
        agent.patch(f"/api/v1/conversations/{target}/", {"status": "resolved"}, format="json"),
        agent.get(f"/api/v1/conversations/{target}/messages/"),
        agent.post(
            f"/api/v1/conversations/{target}/messages/",
            {"text": "hello", "idempotency_key": "k"},
            format="json",
        ),
        agent.post(f"/api/v1/conversations/{target}/notes/", {"text": "x"}, format="json"),
        agent.post(f"/api/v1/conversations/{target}/read/"),
        agent.post(f"/api/v1/conversations/{target}/messages/1/retry/"),
        agent.post(
            "/api/v1/conversations/bulk/",
            {"action": "resolve", "conversation_ids": [target]},
            format="json",
        ),
    ]
    assert [c.status_code for c in calls] == [404] * len(calls)
    queue["a2"].refresh_from_db()
    assert queue["a2"].status == "open"
    assert not queue["a2"].messages.filter(direction="out").exists()


def test_assign_status_tags_notes_are_audited_and_published(world, api, queue):
    conv = queue["a1_old"]
    agent = api.as_user(world.agent_a1)
    before = InboxEvent.objects.count()
    r = agent.patch(
        f"/api/v1/conversations/{conv.id}/",
        {"assignee_id": world.agent_a1.id, "add_tags": ["refund", "vip"], "priority": 3},
        format="json",
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["assignee"]["id"] == world.agent_a1.id
    assert body["tags"] == ["refund", "vip"]
    assert body["priority"] == 3
    note = agent.post(
        f"/api/v1/conversations/{conv.id}/notes/", {"text": "VIP buyer"}, format="json"
    )
    assert note.status_code == 201
    detail = agent.get(f"/api/v1/conversations/{conv.id}/").json()
    assert [n["text"] for n in detail["notes"]] == ["VIP buyer"]
    assert agent.get("/api/v1/conversations/?tag=vip").json()["results"][0]["id"] == conv.id
    resolved = agent.patch(
        f"/api/v1/conversations/{conv.id}/", {"status": "resolved"}, format="json"
    )
    assert resolved.json()["status"] == "resolved"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"conversation.assigned", "conversation.tagged", "note.added"} <= actions
    assert "conversation.status_changed" in actions
    assert InboxEvent.objects.count() > before


def test_cannot_assign_to_someone_outside_the_shop(world, api, queue):
    r = api.as_user(world.supervisor_a).patch(
        f"/api/v1/conversations/{queue['a1_old'].id}/",
        {"assignee_id": world.agent_a2.id},  # agent_a2 does not work shop a1
        format="json",
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_assignee"


def test_snooze_needs_a_time(world, api, queue):
    r = api.as_user(world.agent_a1).patch(
        f"/api/v1/conversations/{queue['a1_old'].id}/", {"status": "snoozed"}, format="json"
    )
    assert r.status_code == 400


def test_bulk_assign_and_resolve(world, api, queue):
    sup = api.as_user(world.supervisor_a)
    targets = [queue["a1_old"].id, queue["a1_new"].id]
    r = sup.post(
        "/api/v1/conversations/bulk/",
        {"action": "assign", "conversation_ids": targets, "assignee_id": world.agent_a1.id},
        format="json",
    )
    assert r.json()["updated"] == 2
    assert set(
        Conversation.objects.filter(assignee=world.agent_a1).values_list("id", flat=True)
    ) == set(targets)
    r = sup.post(
        "/api/v1/conversations/bulk/",
        {"action": "resolve", "conversation_ids": targets},
        format="json",
    )
    assert r.json()["updated"] == 2
    assert ids(sup.get("/api/v1/conversations/?status=resolved")) != []
    # all or nothing: one foreign id fails the whole request
    r = sup.post(
        "/api/v1/conversations/bulk/",
        {"action": "resolve", "conversation_ids": [queue["a2"].id, queue["b1"].id]},
        format="json",
    )
    assert r.status_code == 404
    queue["a2"].refresh_from_db()
    assert queue["a2"].status == "open"


def test_messages_are_paged_newest_page_first_in_timeline_order(world, api):
    conv = conversation_with_messages(world.shop_a1, texts=tuple(f"m{i}" for i in range(45)))
    agent = api.as_user(world.agent_a1)
    first = agent.get(f"/api/v1/conversations/{conv.id}/messages/").json()
    assert [m["text"] for m in first["results"]] == [f"m{i}" for i in range(15, 45)]
    older = agent.get(first["next"]).json()
    assert [m["text"] for m in older["results"]] == [f"m{i}" for i in range(15)]


def test_change_feed_returns_only_what_you_may_see(world, api, queue):
    agent = api.as_user(world.agent_a1)
    start = agent.get("/api/v1/events/?after=0").json()["last_id"]
    api.as_user(world.supervisor_a).patch(
        f"/api/v1/conversations/{queue['a2'].id}/", {"priority": 2}, format="json"
    )
    api.as_user(world.supervisor_a).patch(
        f"/api/v1/conversations/{queue['a1_old'].id}/", {"priority": 2}, format="json"
    )
    agent = type(api)().as_user(world.agent_a1)
    feed = agent.get(f"/api/v1/events/?after={start}").json()
    touched = {e["data"]["id"] for e in feed["events"] if e["type"] == "conversation.updated"}
    assert touched == {queue["a1_old"].id}
    assert feed["last_id"] > start
    assert agent.get("/api/v1/events/?after=x").status_code == 400


def test_queue_list_query_count_is_bounded(world, api, django_assert_max_num_queries):
    for _ in range(30):
        c = conversation_with_messages(world.shop_a1)
        c.tags.create(organisation=world.org_a, name=f"t{c.id}")
    agent = api.as_user(world.agent_a1)
    with django_assert_max_num_queries(8):
        rows = agent.get("/api/v1/conversations/").json()["results"]
    assert len(rows) == 30
    conv_id = rows[0]["id"]
    with django_assert_max_num_queries(8):
        agent.get(f"/api/v1/conversations/{conv_id}/messages/")
    with django_assert_max_num_queries(6):
        agent.get("/api/v1/events/?after=0")


def test_snoozed_conversation_wakes_up_when_its_time_comes(world, api, queue):
    from django.utils import timezone

    from inbox.tasks import wake_snoozed_conversations

    conv = queue["a1_old"]
    agent = api.as_user(world.agent_a1)
    until = timezone.now() + timedelta(hours=1)
    r = agent.patch(
        f"/api/v1/conversations/{conv.id}/",
        {"status": "snoozed", "snoozed_until": until.isoformat()},
        format="json",
    )
    assert r.json()["status"] == "snoozed"
    assert conv.id not in ids(agent.get("/api/v1/conversations/"))
    assert wake_snoozed_conversations.apply().get() == 0  # not yet
    Conversation.objects.filter(id=conv.id).update(
        snoozed_until=timezone.now() - timedelta(seconds=1)
    )
    assert wake_snoozed_conversations.apply().get() == 1
    assert conv.id in ids(agent.get("/api/v1/conversations/"))
    assert AuditEvent.objects.filter(action="conversation.woke", actor=None).exists()


def test_paging_reaches_every_row_when_more_than_a_thousand_share_a_sort_value(world, api):
    from inbox.models import ANSWERED_SENTINEL

    first = conversation_with_messages(world.shop_a1)
    # 1,010 answered conversations: all share queue_key (the answered sentinel)
    Conversation.objects.bulk_create(
        Conversation(
            organisation=world.org_a,
            shop_account=world.shop_a1,
            customer=first.customer,
            platform_conversation_id=f"bulk-{i}",
            queue_key=ANSWERED_SENTINEL,
        )
        for i in range(1010)
    )
    agent = api.as_user(world.agent_a1)
    seen, url = [], "/api/v1/conversations/?page_size=200"
    while url:
        body = agent.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 1011
    assert seen[0] == first.id  # the one waiting comes first
    assert agent.get("/api/v1/conversations/?cursor=garbage").status_code == 400
