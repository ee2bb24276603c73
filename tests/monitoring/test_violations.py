"""The violation review queue's services, reads and API: a recorded violation is audited and
told to the supervisors; reviews move its status once, audited; only the supervisors and admins
of its organisation see it (agents, other organisations, deactivated people: 404 / refused)."""

from __future__ import annotations

import pytest
from django.test import Client

from inbox.models import InboxEvent
from monitoring.models import AuditEvent, Violation
from monitoring.services.violation_review import (
    violation_acknowledge,
    violation_dismiss,
    violation_escalate,
)
from monitoring.violation_selectors import allow_phrase_proposal, violation_segments
from scrm.api import Conflict, NotFound
from tests.inbox.builders import conversation_with_messages
from tests.monitoring.violation_builders import violation_of

pytestmark = pytest.mark.django_db

API = "/api/v1/monitoring/violations/"


def test_a_recorded_violation_is_audited_and_told_to_the_supervisors_without_its_text(world):
    # Given agent_a1 in a conversation of shop a1
    conversation = conversation_with_messages(world.shop_a1)
    # When a send of theirs matches
    v = violation_of(world.shop_a1, world.agent_a1, conversation_id=conversation.id)
    # Then it is audited as violation.raised, by the agent, with ids and values only
    audit = AuditEvent.objects.get(action="violation.raised", target_id=str(v.id))
    assert (audit.actor_id, audit.shop_account_id) == (world.agent_a1.pk, world.shop_a1.id)
    assert audit.data["category"] == "off_platform" and audit.data["action"] == "block"
    assert "WeChat" not in str(audit.data)
    # And violation.flagged goes to organisation A's supervisors (no shop, no user group)
    event = InboxEvent.objects.get(type="violation.flagged")
    assert (event.organisation_id, event.shop_account_id, event.user_id) == (
        world.org_a.id,
        None,
        None,
    )
    assert event.data["id"] == v.id and event.data["conversation_id"] == conversation.id
    assert event.data["actor_name"] == v.actor_name
    assert "WeChat" not in str(event.data)


def test_the_text_is_cut_at_its_matches_and_a_dismissal_proposes_the_words_around_them(world):
    v = violation_of(world.shop_a1, world.agent_a1, text="Pay by wechat pay at checkout")
    assert [(s.text, s.matched) for s in violation_segments(v)] == [
        ("Pay by ", False),
        ("wechat", True),
        (" pay at checkout", False),
    ]
    assert allow_phrase_proposal(v) == "wechat pay"
    chinese = violation_of(
        world.shop_a1, world.agent_a1, text="您可以加微信联系我们", word="加微信"
    )
    assert allow_phrase_proposal(chinese) == "可以加微信联系"


def test_reviews_move_the_status_once_and_are_audited(world):
    a, b, c = (violation_of(world.shop_a1, world.agent_a1) for _ in range(3))
    violation_acknowledge(actor=world.supervisor_a, violation_id=a.id)
    violation_escalate(actor=world.supervisor_a, violation_id=b.id)
    violation_dismiss(actor=world.supervisor_a, violation_id=b.id)  # escalated -> dismissed
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.reviewed_by_id) == ("acknowledged", world.supervisor_a.pk)
    assert a.reviewed_at is not None and b.status == "dismissed"
    actions = list(
        AuditEvent.objects.filter(action__startswith="violation.", target_id__in=[a.id, b.id])
        .exclude(action="violation.raised")
        .order_by("id")
        .values_list("action", "actor_id", "data")
    )
    assert [x[0] for x in actions] == [
        "violation.acknowledged",
        "violation.escalated",
        "violation.dismissed",
    ]
    assert actions[2][2] == {"from": "escalated", "to": "dismissed", "category": "off_platform"}
    # A second review of a final one is refused, and changes nothing
    with pytest.raises(Conflict):
        violation_dismiss(actor=world.supervisor_a, violation_id=a.id)
    with pytest.raises(Conflict):
        violation_escalate(actor=world.supervisor_a, violation_id=b.id)
    assert Violation.objects.get(id=c.id).status == "open"


@pytest.mark.parametrize("who", ["agent_a1", "supervisor_b"])
def test_nobody_else_reviews_or_reads_a_violation(world, api, who):
    v = violation_of(world.shop_a1, world.agent_a1)
    with pytest.raises(NotFound):
        violation_acknowledge(actor=getattr(world, who), violation_id=v.id)
    client = api.as_user(getattr(world, who))
    listed = client.get(API)
    if who == "agent_a1":  # the queue does not exist for agents
        assert listed.status_code == 404
    else:  # another organisation's supervisor has a queue of their own, without it
        assert listed.json()["results"] == []
    assert client.get(f"{API}{v.id}/").status_code == 404
    for act in ("acknowledge", "dismiss", "escalate"):
        assert client.post(f"{API}{v.id}/{act}/").status_code == 404
    assert Violation.objects.get(id=v.id).status == "open"


def test_the_api_lists_filters_reads_and_reviews(world, api, django_assert_max_num_queries):
    # Given violations of two agents in two shops
    conversation = conversation_with_messages(world.shop_a1)
    mine = violation_of(world.shop_a1, world.agent_a1, conversation_id=conversation.id)
    other = violation_of(
        world.shop_a2,
        world.agent_a2,
        text="5 stars and we refund you",
        word="5 stars",
        category="review_manipulation",
        action="flag",
    )
    client = api.as_user(world.supervisor_a)
    # When the supervisor lists them (open by default), newest first, in few queries
    with django_assert_max_num_queries(8):
        body = client.get(API).json()
    assert [r["id"] for r in body["results"]] == [other.id, mine.id]
    first = body["results"][1]
    assert first["text"] == "Add me on WeChat for a discount"
    assert first["matches"] == [
        {"start": 10, "end": 16, "category": "off_platform", "action": "block", "word": "wechat"}
    ]
    assert first["actor"] == {"id": world.agent_a1.pk, "name": mine.actor_name}
    assert first["shop_account_name"] == world.shop_a1.name
    # Filters: agent, category, shop; a bad value is a 400
    assert [r["id"] for r in client.get(f"{API}?agent={world.agent_a2.pk}").json()["results"]] == [
        other.id
    ]
    by_category = client.get(f"{API}?category=off_platform").json()["results"]
    assert [r["id"] for r in by_category] == [mine.id]
    assert [r["id"] for r in client.get(f"{API}?shop={world.shop_a2.id}").json()["results"]] == [
        other.id
    ]
    assert client.get(f"{API}?status=nonsense").status_code == 400
    assert client.get(f"{API}?agent=x").status_code == 400
    # Reviews answer the violation; a second one is a 409
    done = client.post(f"{API}{mine.id}/dismiss/").json()
    assert done["status"] == "dismissed" and done["allow_proposal"] == "WeChat for"
    assert client.post(f"{API}{mine.id}/acknowledge/").status_code == 409
    assert [r["id"] for r in client.get(API).json()["results"]] == [other.id]
    assert len(client.get(f"{API}?status=all").json()["results"]) == 2


def test_a_deactivated_supervisor_is_refused(world):
    # Given a supervisor signed in, then deactivated
    v = violation_of(world.shop_a1, world.agent_a1)
    session = Client()
    session.force_login(world.supervisor_a)
    assert session.get("/monitoring/violations/").status_code == 200
    world.supervisor_a.is_active = False
    world.supervisor_a.save(update_fields=["is_active"])
    # Then the page and the API refuse the session, and nothing changes
    assert session.get("/monitoring/violations/").status_code == 302  # to sign in
    assert session.get(f"{API}{v.id}/").status_code in (401, 403)
    assert session.post(f"{API}{v.id}/acknowledge/").status_code in (401, 403)
    assert Violation.objects.get(id=v.id).status == "open"


def test_the_page_shows_the_queue_with_counts_to_supervisors_only(
    world, django_assert_max_num_queries
):
    # Given three violations: two of agent_a1's (one of them acknowledged), one of agent_a2's
    mine = violation_of(world.shop_a1, world.agent_a1)
    violation_of(
        world.shop_a1,
        world.agent_a1,
        text="Call 555 0100",
        word="555 0100",
        category="phone",
        action="mask",
    )
    violation_of(world.shop_a2, world.agent_a2)
    violation_acknowledge(actor=world.supervisor_a, violation_id=mine.id)
    page = Client()
    page.force_login(world.supervisor_a)
    # When the supervisor opens the queue (open ones by default)
    with django_assert_max_num_queries(16):
        html = page.get("/monitoring/violations/").content.decode()
    # Then the open two, their words highlighted, counted per agent and per category
    assert html.count('class="vio-row') == 2
    assert '<mark class="vio-hit cat-phone action-mask" title="phone">555 0100</mark>' in html
    assert 'data-category="off_platform"><span class="vio-cat cat-off_platform">' in html
    # Filtered by agent and status=all: agent_a1's two
    html = page.get(f"/monitoring/violations/?status=all&agent={world.agent_a1.pk}").content
    assert html.decode().count('class="vio-row') == 2
    # Nonsense filters show the default queue rather than failing
    assert page.get("/monitoring/violations/?status=x&agent=-1&shop=abc&page=0").status_code == 200
    # And an agent gets the 404 page
    page.force_login(world.agent_a1)
    assert page.get("/monitoring/violations/").status_code == 404
    assert page.post(f"/monitoring/violations/{mine.id}/dismiss/").status_code == 404
