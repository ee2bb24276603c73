"""The bell over REST: your SLA alerts newest first (cursor paged), the unread ones, the unread
count, marking one or all read; someone else's alert, or one of a shop you left, is a 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbox.models import Conversation, ShopMembership
from monitoring.models.sla import AlertReceipt
from monitoring.sla.sweep import sla_sweep
from tests.inbox.builders import conversation_with_messages
from tests.monitoring.sweep_builders import T0, deadline_for

pytestmark = pytest.mark.django_db

DUE = T0 + timedelta(hours=24)
URL = "/api/v1/sla/alerts/"


def alerts_for(world, n: int, shop=None, assignee=None) -> list:
    """``n`` assigned conversations of shop a1 past their 4 h warning, swept: one alert each."""
    deadlines = []
    for _ in range(n):
        conversation = conversation_with_messages(shop or world.shop_a1)
        Conversation.objects.filter(id=conversation.id).update(assignee=assignee or world.agent_a1)
        deadlines.append(deadline_for(conversation, due_at=DUE))
    sla_sweep(now=DUE - timedelta(hours=3))
    return deadlines


def test_list_is_mine_newest_first_with_the_alerts_fields(world, api):
    deadlines = alerts_for(world, 3)
    body = api.as_user(world.agent_a1).get(URL).json()
    rows = body["results"]
    assert [r["subject_id"] for r in rows] == [d.conversation_id for d in reversed(deadlines)]
    first = rows[0]
    assert first["kind"] == "warning" and first["threshold_minutes"] == 240
    assert first["subject"] == "conversation" and first["deadline_kind"] == "first_reply"
    assert first["assignee_id"] == world.agent_a1.pk and first["read_at"] is None
    assert first["escalated"] is False and first["digest_date"] is None
    # The supervisor was not told of these warnings: nothing in their bell
    assert api.as_user(world.supervisor_a).get(URL).json()["results"] == []


def test_cursor_pages_through_every_alert_once(world, api):
    alerts_for(world, 5)
    client = api.as_user(world.agent_a1)
    seen, url = [], f"{URL}?page_size=2"
    while url:
        body = client.get(url).json()
        seen += [r["id"] for r in body["results"]]
        url = body["next"]
    assert len(seen) == 5 == len(set(seen)) and seen == sorted(seen, reverse=True)


def test_unread_count_mark_one_and_all(world, api):
    alerts_for(world, 3)
    client = api.as_user(world.agent_a1)
    assert client.get(f"{URL}unread-count/").json() == {"unread": 3}
    newest = client.get(URL).json()["results"][0]["id"]
    # Mark one read (twice: unchanged the second time)
    first = client.post(f"{URL}{newest}/read/").json()
    again = client.post(f"{URL}{newest}/read/").json()
    assert first["read_at"] is not None and again["read_at"] == first["read_at"]
    assert client.get(f"{URL}unread-count/").json() == {"unread": 2}
    unread = client.get(f"{URL}?unread=1").json()["results"]
    assert newest not in [r["id"] for r in unread] and len(unread) == 2
    # Mark all read
    assert client.post(f"{URL}read-all/").json() == {"marked": 2}
    assert client.get(f"{URL}unread-count/").json() == {"unread": 0}
    assert client.post(f"{URL}read-all/").json() == {"marked": 0}


def test_someone_elses_alert_is_not_found_and_stays_unread(world, api):
    [deadline] = alerts_for(world, 1)
    receipt = AlertReceipt.objects.get(alert__deadline=deadline)
    for outsider in (world.agent_a2, world.supervisor_a, world.agent_b, world.supervisor_b):
        response = api.as_user(outsider).post(f"{URL}{receipt.alert_id}/read/")
        assert response.status_code == 404, outsider
        assert api.as_user(outsider).get(f"{URL}unread-count/").json() == {"unread": 0}
    assert api.as_user(world.agent_a1).post(f"{URL}999999999/read/").status_code == 404
    receipt.refresh_from_db()
    assert receipt.read_at is None


def test_alerts_of_a_shop_you_left_are_gone_from_your_bell(world, api):
    [deadline] = alerts_for(world, 1)
    alert_id = AlertReceipt.objects.get(alert__deadline=deadline).alert_id
    ShopMembership.objects.filter(user=world.agent_a1, shop_account=world.shop_a1).delete()
    client = api.as_user(world.agent_a1)
    assert client.get(URL).json()["results"] == []
    assert client.get(f"{URL}unread-count/").json() == {"unread": 0}
    assert client.post(f"{URL}{alert_id}/read/").status_code == 404


def test_anonymous_is_refused(api):
    assert api.get(URL).status_code in (401, 403)
    assert api.post(f"{URL}read-all/").status_code in (401, 403)


def test_the_list_costs_the_same_queries_for_2_or_40_alerts(world, api):
    User = get_user_model()

    def page_queries() -> int:
        client = api.as_user(User.objects.get(pk=world.agent_a1.pk))  # nothing cached
        with CaptureQueriesContext(connection) as queries:
            client.get(URL).json()
        return len(queries)

    alerts_for(world, 2)
    few = page_queries()
    alerts_for(world, 38)
    assert page_queries() == few <= 4


def test_alerts_of_one_sweep_list_in_their_deadlines_order_whatever_the_rows_storage(world, api):
    # Given three deadlines due at the same time, the first of them rewritten since (a row
    # PostgreSQL then stores after the others: equal times used to come back in that order)
    from django.db.models import F

    from monitoring.models.sla import Deadline

    deadlines = []
    for _ in range(3):
        conversation = conversation_with_messages(world.shop_a1)
        Conversation.objects.filter(id=conversation.id).update(assignee=world.agent_a1)
        deadlines.append(deadline_for(conversation, due_at=DUE))
    Deadline.objects.filter(id=deadlines[0].id).update(next_alert_at=F("next_alert_at"))
    # When one sweep alerts all three
    sla_sweep(now=DUE - timedelta(hours=3))
    # Then the bell lists them newest first in the deadlines' own order
    rows = api.as_user(world.agent_a1).get(URL).json()["results"]
    assert [r["subject_id"] for r in rows] == [d.conversation_id for d in reversed(deadlines)]
