"""Follow-up reminders go through the SLA alert channels: the owner's bell (page, API and a
live ``sla.alert``), and the organisation's e-mail and webhook channels that take follow-ups
(a real local HTTP receiver, delivered by the outbox); the supervisors when the owner can no
longer be told; never what was promised or the buyer's name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from inbox.models import Customer, FollowUp, InboxEvent, Role, ShopMembership
from inbox.services import profiles
from inbox.services.buyer_data.erase import customer_erase
from inbox.services.profiles.reminders import follow_ups_remind
from monitoring.events import SLA_ALERT
from monitoring.models import AlertReceipt, SlaAlert
from scrm.events import payload_check
from tests.factories import make_person
from tests.inbox.profile_builders import buyer
from tests.monitoring.channel_receiver import Receiver, channel, receiver_serving

PROMISE = "Send the replacement tracking number ZQXPROMISE"
NAME = "Alice Wongzqx"


@pytest.fixture
def receiver(settings):
    yield from receiver_serving(settings)


def _follow_up(world, *, owner=None, shop=None) -> FollowUp:
    customer = buyer(shop or world.shop_a1, NAME)
    follow_up = profiles.follow_up_create(
        actor=world.supervisor_a if owner is world.supervisor_a else world.agent_a1,
        customer_id=customer.id,
        promise=PROMISE,
        due_at=timezone.now() + timedelta(minutes=1),
        owner_id=owner.id if owner else None,
    )
    FollowUp.objects.filter(id=follow_up.id).update(due_at=timezone.now() - timedelta(minutes=2))
    return follow_up


def _remind(capture) -> None:
    with capture(execute=True):
        follow_ups_remind()


@pytest.mark.django_db
def test_the_reminder_is_in_the_owners_bell_and_live(
    world, client, django_capture_on_commit_callbacks
):
    # Given a due follow-up owned by agent_a1
    follow_up = _follow_up(world)
    # When the sweep runs (twice: it reminds once)
    _remind(django_capture_on_commit_callbacks)
    _remind(django_capture_on_commit_callbacks)
    # Then one follow-up alert, in agent_a1's bell only, with a live sla.alert of its schema
    (alert,) = SlaAlert.objects.filter(kind="followup")
    assert (alert.follow_up_id, alert.shop_account_id) == (follow_up.id, world.shop_a1.id)
    assert (alert.assignee_id, alert.escalated) == (world.agent_a1.id, False)
    assert list(AlertReceipt.objects.values_list("user_id", flat=True)) == [world.agent_a1.id]
    (event,) = InboxEvent.objects.filter(type=SLA_ALERT.name)
    payload_check(SLA_ALERT, event.data)
    assert event.user_id == world.agent_a1.id
    assert (event.data["subject"], event.data["subject_id"]) == ("customer", follow_up.customer_id)
    assert event.data["follow_up_id"] == follow_up.id
    # The bell's list and the bell API show it, linking the profile
    client.force_login(world.agent_a1)
    page = client.get("/sla/bell/").content.decode()
    assert f"Follow-up due: customer #{follow_up.customer_id}" in page
    assert f'href="/customers/{follow_up.customer_id}/"' in page
    (item,) = client.get("/api/v1/sla/alerts/").json()["results"]
    assert (item["kind"], item["subject"], item["read_at"]) == ("followup", "customer", None)
    assert client.get("/api/v1/sla/alerts/unread-count/").json() == {"unread": 1}
    for text in (page, str(item), str(event.data)):
        assert "ZQXPROMISE" not in text and "Wongzqx" not in text
    # Nobody else's bell has it
    client.force_login(world.agent_a2)
    assert client.get("/api/v1/sla/alerts/").json()["results"] == []
    client.force_login(world.supervisor_b)
    assert client.get("/api/v1/sla/alerts/").json()["results"] == []


@pytest.mark.django_db
def test_a_channel_taking_follow_ups_gets_it_once_and_others_do_not(
    world, receiver: Receiver, django_capture_on_commit_callbacks
):
    # Given a JSON webhook that takes follow-ups, a Slack one for SLA kinds only, and one of
    # another shop
    channel(world.shop_a1, "webhook", f"{receiver.base}/all")
    channel(world.shop_a1, "slack", f"{receiver.base}/sla-only", alert_kinds=["warning"])
    channel(world.shop_a2, "webhook", f"{receiver.base}/a2", shop_account=world.shop_a2)
    follow_up = _follow_up(world)
    # When the sweep runs twice
    _remind(django_capture_on_commit_callbacks)
    _remind(django_capture_on_commit_callbacks)
    # Then only the follow-up channel of the shop got it, once, with ids and no personal data
    assert [r.path for r in receiver.received] == ["/all"]
    data = receiver.received[0].json()["data"]
    assert (data["kind"], data["subject"], data["subject_id"]) == (
        "followup",
        "customer",
        follow_up.customer_id,
    )
    assert data["follow_up_id"] == follow_up.id
    assert data["url"] == f"https://scrm.example.com/customers/{follow_up.customer_id}/"
    assert data["shop_name"] == "A1 US" and data["assignee"] == "agent_a1"
    body = receiver.received[0].body.decode()
    assert "ZQXPROMISE" not in body and "Wongzqx" not in body


@pytest.mark.django_db
def test_an_email_channel_says_it_in_the_organisations_language(
    world, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SCRM_PUBLIC_URL = "https://scrm.example.com"
    world.org_a.language = "zh-hans"
    world.org_a.save(update_fields=["language"])
    channel(world.shop_a3, "email", "ops@example.com")
    follow_up = _follow_up(world, owner=world.supervisor_a, shop=world.shop_a3)
    _remind(django_capture_on_commit_callbacks)
    (message,) = mail.outbox
    assert "A3 MY" in message.subject and "Follow-up" not in message.subject
    assert f"#{follow_up.customer_id}" in message.body
    assert "Asia/Kuala_Lumpur" in message.body  # the due time in the shop's clock
    assert f"https://scrm.example.com/customers/{follow_up.customer_id}/" in message.body
    assert "ZQXPROMISE" not in message.body and "Wongzqx" not in message.body


@pytest.mark.django_db
def test_an_owner_who_left_is_replaced_by_the_supervisors(
    world, receiver: Receiver, django_capture_on_commit_callbacks
):
    # Given a due follow-up whose owner was deactivated since, and a channel for follow-ups
    channel(world.shop_a1, "webhook", f"{receiver.base}/all")
    follow_up = _follow_up(world)
    world.agent_a1.is_active = False
    world.agent_a1.save(update_fields=["is_active"])
    # When the sweep runs
    _remind(django_capture_on_commit_callbacks)
    # Then the organisation's supervisors were told instead (escalated), in the bell and the
    # channel; the owner and the other organisation were not
    (alert,) = SlaAlert.objects.filter(follow_up_id=follow_up.id)
    assert (alert.assignee_id, alert.escalated) == (None, True)
    told = set(AlertReceipt.objects.filter(alert=alert).values_list("user_id", flat=True))
    assert told == {world.supervisor_a.id}
    assert receiver.received[0].json()["data"]["escalated"] is True


@pytest.mark.django_db
def test_an_owner_moved_off_the_shop_is_replaced_by_the_supervisors(
    world, django_capture_on_commit_callbacks
):
    # Given a due follow-up whose owner, still active, no longer works on its shop
    follow_up = _follow_up(world)
    ShopMembership.objects.filter(user=world.agent_a1, shop_account=world.shop_a1).delete()
    # When the sweep runs
    _remind(django_capture_on_commit_callbacks)
    # Then the supervisors were told (escalated), not the former owner
    (alert,) = SlaAlert.objects.filter(follow_up_id=follow_up.id)
    assert (alert.assignee_id, alert.escalated) == (None, True)
    told = set(AlertReceipt.objects.filter(alert=alert).values_list("user_id", flat=True))
    assert told == {world.supervisor_a.id}


@pytest.mark.django_db
def test_a_follow_up_outside_any_shop_reaches_its_owner_and_the_organisations_channels(
    world, client, receiver: Receiver, django_capture_on_commit_callbacks
):
    # Given a follow-up of no shop (the buyer has no conversation in any shop) owned by the
    # supervisor, a channel for the whole organisation and one for shop a1 only
    customer = Customer.objects.create(
        organisation=world.org_a, platform="tiktok_shop", im_user_id="im-x", display_name=NAME
    )
    follow_up = profiles.follow_up_create(
        actor=world.supervisor_a,
        customer_id=customer.id,
        promise=PROMISE,
        due_at=timezone.now() + timedelta(minutes=1),
    )
    assert follow_up.shop_account_id is None
    FollowUp.objects.filter(id=follow_up.id).update(due_at=timezone.now() - timedelta(minutes=1))
    channel(world.shop_a1, "webhook", f"{receiver.base}/org")
    channel(world.shop_a1, "webhook", f"{receiver.base}/a1", shop_account=world.shop_a1)
    # When the sweep runs
    _remind(django_capture_on_commit_callbacks)
    # Then one alert of no shop, in the supervisor's bell only, and only the organisation's
    # channel got it, naming the customer by number
    (alert,) = SlaAlert.objects.filter(follow_up_id=follow_up.id)
    assert alert.shop_account_id is None
    client.force_login(world.supervisor_a)
    (item,) = client.get("/api/v1/sla/alerts/").json()["results"]
    assert (item["kind"], item["shop_account_id"], item["subject_id"]) == (
        "followup",
        None,
        customer.id,
    )
    assert f"customer #{customer.id}" in client.get("/sla/bell/").content.decode()
    for other in (world.agent_a1, world.supervisor_b):
        client.force_login(other)
        assert client.get("/api/v1/sla/alerts/").json()["results"] == []
        refused = client.post(f"/api/v1/sla/alerts/{alert.id}/read/")
        assert refused.status_code == 404
    assert [r.path for r in receiver.received] == ["/org"]
    data = receiver.received[0].json()["data"]
    assert (data["shop_account_id"], data["subject_id"]) == (None, customer.id)
    assert "ZQXPROMISE" not in receiver.received[0].body.decode()


@pytest.mark.django_db
def test_an_erased_buyers_open_follow_up_reminds_nobody(world, django_capture_on_commit_callbacks):
    # Given an open follow-up about a buyer, then the buyer's data erased by an admin
    follow_up = _follow_up(world)
    admin = make_person(world.org_a, Role.ADMIN, username="admin_a")
    customer_erase(actor=admin, customer_id=follow_up.customer_id, reason="the buyer asked")
    # When the sweep runs
    _remind(django_capture_on_commit_callbacks)
    # Then the follow-up was closed by the erasure and nobody is reminded
    assert FollowUp.objects.get(id=follow_up.id).done_at is not None
    assert not SlaAlert.objects.filter(kind="followup").exists()
    assert not AlertReceipt.objects.exists()
