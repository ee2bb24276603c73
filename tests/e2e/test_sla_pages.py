"""The SLA tracker's supervisor pages and the bell, in a browser: a supervisor adds a JSON
webhook channel pointing at a local receiver and sends a test alert (then a failing one shows
as failing); the bell shows an alert arriving live and mark-read clears its count; the at-risk
view lists an at-risk conversation with a ticking countdown (in Chinese)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypeVar

import pytest
from django.db import connections, transaction
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.models import AlertChannel, Deadline, SlaAlert
from monitoring.sla.alerts import alert_tell
from tests.e2e.test_browser_hygiene import Watch
from tests.inbox.builders import conversation_with_messages
from tests.monitoring.channel_receiver import Receiver, receiver_serving

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
T = TypeVar("T")


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    """A real HTTP receiver on 127.0.0.1, allow-listed for the outbound guard."""
    yield from receiver_serving(settings)


def open_deadline(conversation, *, due_in: timedelta) -> Deadline:
    Deadline.objects.filter(conversation=conversation).delete()
    now = timezone.now()
    return Deadline.objects.create(
        organisation_id=conversation.organisation_id,
        shop_account_id=conversation.shop_account_id,
        kind="first_reply",
        conversation=conversation,
        started_at=now + due_in - timedelta(hours=24),
        due_at=now + due_in,
        next_alert_at=now + due_in,
        rule={"minutes": 1440, "warnings": [240, 60]},
    )


def warn(deadline: Deadline, user) -> SlaAlert:
    """The deadline's 60-minute warning recorded and told to ``user`` (``alert_tell``: the
    bell receipt and the live ``sla.alert``, pushed when the transaction commits)."""
    with transaction.atomic():
        alert = SlaAlert.objects.create(
            organisation_id=deadline.organisation_id,
            shop_account_id=deadline.shop_account_id,
            deadline=deadline,
            kind="warning",
            threshold_minutes=60,
            assignee=user,
        )
        alert_tell(alert=alert, user_ids=[user.id], deadline=deadline, now=timezone.now())
    return alert


def in_a_worker_thread(work: Callable[[], T]) -> T:
    done: list[T] = []

    def run() -> None:
        try:
            done.append(work())
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return done[0]


def test_a_supervisor_adds_a_json_webhook_and_sends_a_test_alert(
    session,
    world,
    receiver: Receiver,
):
    page = session.page_for(world.supervisor_a)
    watch = Watch(page, session.base)  # no console error, no CSP violation, nothing outside
    page.goto(f"{session.base}/sla/channels/")
    # When the supervisor adds a JSON webhook on the local receiver, signed
    page.locator("#channel-add").click()
    page.locator("#ch-name").fill("Ops webhook")
    page.locator("#ch-kind").select_option("webhook")
    page.locator("#ch-target").fill(f"{receiver.base}/hook?token=SECRETTOKEN")
    page.locator("#ch-secret").fill("SIGNSECRET")
    page.locator("#channel-save").click()
    # Then it is listed, its token and secret nowhere on the page
    hook = AlertChannel.objects.get(name="Ops webhook")
    row = page.locator(f'#channels-table tr[data-channel="{hook.id}"]')
    expect(row).to_contain_text("JSON webhook")
    assert "SECRETTOKEN" not in page.content() and "SIGNSECRET" not in page.content()
    # When they send a test alert
    row.locator("[data-test-channel]").click()
    # Then the receiver got one, signed, and the page says it went
    expect(page.locator("#sla-message")).to_contain_text("Test alert sent to Ops webhook.")
    (post,) = receiver.at("/hook")
    assert post.headers.get("X-SCRM-Signature")
    # And when the endpoint then fails, the test says why and the channel shows as failing
    receiver.on("/hook", (500, {"error": "down"}))
    page.locator(f'#channels-table tr[data-channel="{hook.id}"] [data-test-channel]').click()
    expect(page.locator("#sla-message")).to_have_attribute("data-level", "error")
    row = page.locator(f'#channels-table tr[data-channel="{hook.id}"]')
    expect(row).to_have_attribute("data-failing", "1")
    expect(row.locator('[data-col="health"]')).to_contain_text("Failing")
    expect(page.locator("#sla-channels-failing")).to_contain_text("Ops webhook")
    # And the team page warns too
    page.goto(f"{session.base}/inbox/team/")
    expect(page.locator("#sla-channels-failing")).to_be_visible()
    watch.assert_clean("alert channels")


def test_the_bell_shows_an_alert_arriving_live_and_mark_read_clears_it(session, world):
    conversation = conversation_with_messages(world.shop_a1, buyer="Emily R.")
    conversation.assignee = world.agent_a1
    conversation.save()
    deadline = open_deadline(conversation, due_in=timedelta(minutes=59))
    page = session.page_for(world.agent_a1)
    watch = Watch(page, session.base)
    page.goto(f"{session.base}/inbox/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    expect(page.locator("#sla-bell-count")).to_be_hidden()
    # When the 60-minute warning is recorded and told, as the sweep does (in a thread of its
    # own, as a worker: this thread's Playwright loop cannot push to the channel layer)
    alert = in_a_worker_thread(lambda: warn(deadline, world.agent_a1))
    # Then the bell counts it without a reload, and its list shows it first
    expect(page.locator("#sla-bell-count")).to_have_text("1")
    page.locator("#sla-bell-button").click()
    item = page.locator(f'#sla-bell-panel .bell-item[data-alert="{alert.id}"]')
    expect(item).to_contain_text("Warning: First reply due soon")
    expect(item).to_contain_text("A1 US")
    expect(item.locator("a.bell-open")).to_have_attribute("href", f"/inbox/c/{conversation.id}/")
    # When the agent marks everything read, the count goes
    page.locator("#sla-bell-read-all").click()
    expect(page.locator("#sla-bell-count")).to_be_hidden()
    expect(item).to_have_attribute("data-unread", "0")
    watch.assert_clean("the bell")


def test_the_risk_view_lists_an_at_risk_conversation_in_chinese(session, world):
    conversation = conversation_with_messages(world.shop_a2, buyer="王芳")
    conversation.assignee = world.agent_a2
    conversation.save()
    deadline = open_deadline(conversation, due_in=timedelta(minutes=30))
    page = session.page_for(world.supervisor_a, lang="zh-hans")
    watch = Watch(page, session.base)
    page.goto(f"{session.base}/sla/risk/")
    expect(page.locator("h1")).to_have_text("当前有风险与今日已超时")
    row = page.locator(f'#risk-shops tr[data-deadline="{deadline.id}"]')
    expect(row).to_contain_text("首次回复")
    expect(row.locator("a")).to_have_attribute("href", f"/inbox/c/{conversation.id}/")
    countdown = row.locator(".countdown")
    expect(countdown).to_have_text(re.compile(r"^0:(29|30):\d\d$"))
    first = countdown.text_content()
    page.wait_for_timeout(1500)
    assert countdown.text_content() != first  # it ticks
    agent_row = page.locator(f'#risk-agents [data-agent="{world.agent_a2.id}"]')
    expect(agent_row).to_contain_text("A2 UK")
    watch.assert_clean("at risk")


def test_a_follow_up_reminder_arrives_in_the_bell_live_in_chinese(session, world):
    from inbox.models import FollowUp
    from inbox.services import profiles
    from inbox.services.profiles.reminders import follow_ups_remind

    conversation = conversation_with_messages(world.shop_a1, buyer="Emily R.")
    follow_up = profiles.follow_up_create(
        actor=world.agent_a1,
        customer_id=conversation.customer_id,
        promise="Call back about the refund",
        due_at=timezone.now() + timedelta(minutes=1),
    )
    FollowUp.objects.filter(id=follow_up.id).update(due_at=timezone.now() - timedelta(minutes=1))
    page = session.page_for(world.agent_a1, lang="zh-hans")
    watch = Watch(page, session.base)
    page.goto(f"{session.base}/inbox/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    expect(page.locator("#sla-bell-count")).to_be_hidden()
    # When the reminder sweep runs (a worker's thread)
    in_a_worker_thread(follow_ups_remind)
    # Then the bell counts it live and lists it in Chinese, linking the buyer's profile,
    # without what was promised
    expect(page.locator("#sla-bell-count")).to_have_text("1")
    page.locator("#sla-bell-button").click()
    item = page.locator("#sla-bell-panel .bell-item.kind-followup")
    expect(item).to_contain_text(f"跟进到期：客户 #{conversation.customer_id}")
    expect(item.locator("a.bell-open")).to_have_attribute(
        "href", f"/customers/{conversation.customer_id}/"
    )
    expect(item).not_to_contain_text("refund")
    watch.assert_clean("a follow-up in the bell")
