"""The server side of issue 11's inbox work: the header's snooze times, transfer list and tag
suggestions; the queue row's place in its view (data-sort, data-in-view); the team figures."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from inbox.models import Member, Tag
from inbox.selectors import QueueFilters, conversation_list
from inbox.services.conversations import conversation_assign, conversation_set_status
from inbox.web.shaping import queue_sort_key, snooze_presets
from tests.factories import make_person
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("local_now", "tomorrow", "next_week"),
    [
        # a Wednesday evening
        (datetime(2026, 12, 2, 22, 30), datetime(2026, 12, 3, 9), datetime(2026, 12, 7, 9)),
        # a Sunday: next week starts tomorrow
        (datetime(2026, 12, 6, 8, 0), datetime(2026, 12, 7, 9), datetime(2026, 12, 7, 9)),
        # a Monday: next week is the Monday after
        (datetime(2026, 12, 7, 8, 0), datetime(2026, 12, 8, 9), datetime(2026, 12, 14, 9)),
    ],
)
def test_snooze_presets_are_in_the_viewers_own_day(local_now, tomorrow, next_week):
    now = local_now.replace(tzinfo=SHANGHAI).astimezone(zoneinfo.ZoneInfo("UTC"))
    hour, tomorrow_at, next_week_at = snooze_presets(now, SHANGHAI)
    assert hour.until == now + timedelta(hours=1)
    assert tomorrow_at.until == tomorrow.replace(tzinfo=SHANGHAI)
    assert next_week_at.until == next_week.replace(tzinfo=SHANGHAI)


def test_the_header_offers_the_shops_people_by_name_and_the_organisations_tags(client, world):
    # Given a conversation of shop a1, people of several shops, and tags of two organisations
    conversation = conversation_with_messages(world.shop_a1)
    colleague = make_person(world.org_a, "agent", [world.shop_a1], username="li.na")
    Member.objects.filter(user=colleague).update(display_name="Li Na")
    Tag.objects.create(organisation=world.org_a, name="vip")
    Tag.objects.create(organisation=world.org_b, name="other-sellers-tag")
    Member.objects.filter(user=world.agent_a1).update(time_zone="Asia/Shanghai")
    client.force_login(world.agent_a1)
    # When agent_a1 opens its header
    html = client.get(f"/inbox/c/{conversation.id}/header/").content.decode()
    # Then the transfer list has the shop's people (by name) and the supervisor, not agent_a2
    transfer = re.search(r'<select id="transfer-to".*?</select>', html, re.S).group(0)
    assert ">Li Na<" in transfer and "supervisor_a" in transfer and ">Me<" in transfer
    assert "agent_a2" not in transfer and "li.na" not in transfer
    # And only its organisation's tags are suggested
    assert '<option value="vip">' in html and "other-sellers-tag" not in html
    # And the snooze times are the agent's own (Shanghai) and said so
    assert "In your time zone (Asia/Shanghai)." in html


def test_a_row_says_whether_the_view_still_lists_it(client, world):
    conversation = conversation_with_messages(world.shop_a1)
    client.force_login(world.agent_a1)
    url = f"/inbox/queue/{conversation.id}/"
    assert 'data-in-view="1"' in client.get(url).content.decode()
    conversation_set_status(
        actor=world.agent_a1, conversation_id=conversation.id, status="resolved"
    )
    assert 'data-in-view="0"' in client.get(url).content.decode()
    assert 'data-in-view="1"' in client.get(url + "?view=resolved").content.decode()
    conversation_assign(
        actor=world.agent_a1, conversation_id=conversation.id, assignee_id=world.agent_a1.pk
    )
    assert 'data-in-view="0"' in client.get(url + "?view=unassigned").content.decode()


@pytest.mark.parametrize("sort", ["waiting", "newest", "priority"])
def test_the_rows_sort_keys_order_them_as_the_server_does(world, sort):
    # Given conversations with waits, answers, priorities and times that tie
    now = timezone.now()
    made = [
        conversation_with_messages(world.shop_a1, waited=timedelta(minutes=m), at=at)
        for m, at in ((30, None), (5, None), (30, now - timedelta(minutes=30)), (90, None))
    ]
    answered = made[1]
    answered.waiting_since = None
    answered.queue_key = datetime(9999, 1, 1, tzinfo=zoneinfo.ZoneInfo("UTC"))
    answered.priority = 3
    answered.save()
    # When the page sorts them by their keys
    rows = list(conversation_list(world.agent_a1, QueueFilters(statuses=(), sort=sort)))
    by_key = sorted(rows, key=lambda c: queue_sort_key(c, sort))
    # Then it is the server's order
    assert [c.id for c in by_key] == [c.id for c in rows]


def test_the_team_figures_are_for_supervisors(client, world):
    conversation_with_messages(world.shop_a1)
    client.force_login(world.supervisor_a)
    response = client.get("/inbox/team/figures/")
    assert response.status_code == 200
    assert 'data-stat="unassigned">1<' in response.content.decode()
    assert "<html" not in response.content.decode()
    client.force_login(world.agent_a1)
    assert client.get("/inbox/team/figures/").status_code == 403
