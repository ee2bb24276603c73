"""The bell in the inbox's top bar (/sla/bell/, monitoring.web.bell): one's alerts newest first
with the unread count, due times in shop and viewer time, links to the conversation or case;
mark one or all read; nothing of shops one no longer works on, nothing of other people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.test import Client

from inbox.models import InboxEvent, ShopMembership
from monitoring.models import AlertReceipt, Deadline, SlaAlert
from monitoring.sla.alerts import alert_tell
from tests.inbox.builders import conversation_with_messages
from tests.inbox.case_builders import case_needing_decision

pytestmark = pytest.mark.django_db

DUE = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)  # 09:00 in Los Angeles


def alert(subject, user_ids, *, kind="warning", threshold=60) -> SlaAlert:
    """A deadline of ``subject`` due at DUE and one alert of it, told through the sweep's own
    ``alert_tell`` (receipts and the live ``sla.alert``)."""
    is_case = not hasattr(subject, "platform_conversation_id")
    lookup = {"case": subject} if is_case else {"conversation": subject}
    Deadline.objects.filter(**lookup).delete()
    deadline = Deadline.objects.create(
        organisation_id=subject.organisation_id,
        shop_account_id=subject.shop_account_id,
        kind="after_sales" if is_case else "first_reply",
        started_at=DUE - timedelta(hours=24),
        due_at=DUE,
        **lookup,
    )
    with transaction.atomic():
        made = SlaAlert.objects.create(
            organisation_id=subject.organisation_id,
            shop_account_id=subject.shop_account_id,
            deadline=deadline,
            kind=kind,
            threshold_minutes=threshold if kind == "warning" else 0,
        )
        alert_tell(alert=made, user_ids=user_ids, deadline=deadline, now=DUE - timedelta(hours=1))
    return made


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_bell_lists_my_alerts_newest_first_with_both_times_and_links(world):
    conversation = conversation_with_messages(world.shop_a1)
    case = case_needing_decision(world.shop_a1)
    first = alert(conversation, [world.agent_a1.id])
    second = alert(case, [world.agent_a1.id], kind="breach")
    alert(conversation_with_messages(world.shop_a1), [world.supervisor_a.id])  # not mine
    world.agent_a1.member.time_zone = "Asia/Shanghai"
    world.agent_a1.member.save()
    response = signed_in(world.agent_a1).get("/sla/bell/")
    html = response.content.decode()
    assert response["X-SCRM-Unread"] == "2"
    assert html.index(f'data-alert="{second.id}"') < html.index(f'data-alert="{first.id}"')
    assert (
        f'href="/inbox/c/{conversation.id}/"' in html and f'href="/inbox/cases/{case.id}/"' in html
    )
    assert "A1 US" in html and "Breached: After-sales decision" in html
    # Due at 09:00 in the shop's Los Angeles, 01:00 the next day in the viewer's Shanghai
    assert "12/03/2026 9 a.m." in html and "12/04/2026 1 a.m." in html
    assert html.count('data-unread="1"') == 2


def test_mark_one_then_all_read(world):
    a = alert(conversation_with_messages(world.shop_a1), [world.agent_a1.id, world.supervisor_a.id])
    b = alert(conversation_with_messages(world.shop_a1), [world.agent_a1.id])
    client = signed_in(world.agent_a1)
    one = client.post("/sla/bell/read/", {"alert": str(a.id)}, HTTP_X_SCRM_FRAGMENT="1")
    assert one["X-SCRM-Unread"] == "1"
    # Only my receipt of that alert is read
    assert AlertReceipt.objects.get(alert=a, user=world.supervisor_a).read_at is None
    everything = client.post("/sla/bell/read/", {"all": "1"})
    assert everything.status_code == 302
    assert not AlertReceipt.objects.filter(user=world.agent_a1, read_at__isnull=True).exists()
    assert AlertReceipt.objects.get(alert=b, user=world.agent_a1).read_at is not None


def test_someone_elses_alert_cannot_be_marked_read(world):
    theirs = alert(conversation_with_messages(world.shop_b1), [world.agent_b.id])
    response = signed_in(world.agent_a1).post("/sla/bell/read/", {"alert": str(theirs.id)})
    assert response.status_code == 404
    signed_in(world.agent_a1).post("/sla/bell/read/", {"all": "1"})
    assert AlertReceipt.objects.get(alert=theirs).read_at is None


def test_a_shop_taken_away_leaves_the_bell(world):
    alert(conversation_with_messages(world.shop_a1), [world.agent_a1.id])
    ShopMembership.objects.filter(user=world.agent_a1).delete()
    response = signed_in(world.agent_a1).get("/sla/bell/")
    assert response["X-SCRM-Unread"] == "0"
    assert "data-alert=" not in response.content.decode()


def test_the_live_event_is_published_to_the_person(world):
    made = alert(conversation_with_messages(world.shop_a1), [world.agent_a1.id])
    event = InboxEvent.objects.get(type="sla.alert", user_id=world.agent_a1.id)
    assert event.data["id"] == made.id


def test_the_inbox_page_carries_the_bell(world):
    html = signed_in(world.agent_a1).get("/inbox/").content.decode()
    assert 'id="sla-bell"' in html and "monitoring/bell.js" in html


def test_the_bell_query_count_is_flat(world, django_assert_max_num_queries):
    client = signed_in(world.agent_a1)
    alert(conversation_with_messages(world.shop_a1), [world.agent_a1.id])
    with django_assert_max_num_queries(8) as few:
        client.get("/sla/bell/")
    for _ in range(6):
        alert(case_needing_decision(world.shop_a1), [world.agent_a1.id], kind="breach")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/sla/bell/")


def test_signed_out_and_deactivated_go_to_sign_in(world):
    assert Client().get("/sla/bell/").status_code == 302
    client = signed_in(world.agent_a1)
    world.agent_a1.is_active = False
    world.agent_a1.save()
    response = client.post("/sla/bell/read/", {"all": "1"})
    assert response.status_code == 302 and "/login" in response["Location"]
