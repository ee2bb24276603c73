"""SLA alerts delivered to channels through the outbox, against a real local HTTP receiver:
retried until accepted (one delivery), each vendor's format and signing as the vendor
documents it, bots' error answers failing visibly, e-mail through Django's mail, and no
personal data in anything sent. The SSRF guard: test_sla_channels_ssrf.py; the page's
services: test_sla_channel_services.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from datetime import date
from urllib.parse import unquote_plus

import pytest
from django.core import mail
from django.db import transaction

from inbox.models import OutboxAction
from inbox.tasks import deliver_outbox_action
from monitoring.models import AlertChannel, AlertDelivery, SlaAlert
from monitoring.sla.channels import SLA_ALERT_DELIVERY, alert_deliveries_enqueue
from tests.factories import make_person
from tests.monitoring.channel_receiver import MARKER, Receiver, alert_for, channel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The world's people are made with a password: the slowest part of each test otherwise."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """As the sweep does: deliveries asked for in the alert's transaction, sent (eagerly, by
    the outbox's task) when it commits."""

    def send(alert: SlaAlert) -> list[AlertDelivery]:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            return alert_deliveries_enqueue(alert=alert)

    return send


def action_of(delivery: AlertDelivery) -> OutboxAction:
    return OutboxAction.objects.get(kind=SLA_ALERT_DELIVERY, subject_id=delivery.id)


def outcomes(action: OutboxAction) -> list[str]:
    return list(action.attempts.order_by("started_at", "id").values_list("outcome", flat=True))


def test_an_endpoint_failing_twice_then_accepting_gets_one_delivery(
    send, world, receiver: Receiver
):
    # Given a JSON webhook that answers 500 twice, then 200
    hook = channel(world.shop_a1, "webhook", f"{receiver.base}/hook", secret="s3cret")
    receiver.on("/hook", (500, {}), (500, {}), (200, {"ok": True}))
    alert = alert_for(world.shop_a1)
    # When the alert is sent
    (delivery,) = send(alert)
    # Then it was posted three times, accepted once, and the action shows the three attempts
    posts = receiver.at("/hook")
    assert len(posts) == 3
    assert {p.headers["X-SCRM-Delivery"] for p in posts} == {str(delivery.id)}
    action = action_of(delivery)
    assert action.state == "sent"
    assert outcomes(action) == ["retry", "retry", "sent"]
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0
    assert hook.last_success_at is not None
    # And asking again for the same alert adds nothing and sends nothing
    assert send(alert) == []
    assert len(receiver.at("/hook")) == 3
    assert AlertDelivery.objects.filter(alert=alert).count() == 1


def test_feishu_gets_a_signed_rich_text_message(send, world, receiver: Receiver):
    supervisor_name = "Mei Lin"
    agent = make_person(world.org_a, "agent", [world.shop_a3], username="mei")
    agent.member.display_name = supervisor_name
    agent.member.save()
    channel(world.shop_a3, "feishu", f"{receiver.base}/open-apis/bot/v2/hook/tok", secret="SECf")
    receiver.on("/open-apis/bot/v2/hook/tok", (200, {"code": 0, "msg": "success", "data": {}}))
    send(alert_for(world.shop_a3, threshold=240, assignee=agent))
    (post,) = receiver.received
    body = post.json()
    # The receiver checks the signature as Feishu documents it: HMAC-SHA256 keyed by
    # "timestamp\nsecret" over nothing, Base64; the timestamp in seconds, within the hour
    timestamp = body["timestamp"]
    key = f"{timestamp}\nSECf".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["sign"] == expected
    assert abs(int(timestamp) - time.time()) < 3600
    assert body["msg_type"] == "post"
    post_body = body["content"]["post"]["en_us"]
    assert "A3 MY" in post_body["title"]
    lines = [row[0]["text"] for row in post_body["content"][:-1]]
    assert lines == [
        "Shop: A3 MY",
        "First reply due in 4 hours",
        "Due: 2026-12-03 17:00 Asia/Kuala_Lumpur (UTC+08:00)",
        f"Assigned to: {supervisor_name}",
    ]
    link = post_body["content"][-1][0]
    assert link["tag"] == "a"
    assert link["href"].startswith("https://scrm.example.com/inbox/c/")


def test_dingtalk_gets_a_markdown_message_signed_in_the_query(send, world, receiver: Receiver):
    url = f"{receiver.base}/robot/send?access_token=tok123"
    channel(world.shop_a1, "dingtalk", url, secret="SECd+/=")
    receiver.on("/robot/send", (200, {"errcode": 0, "errmsg": "ok"}))
    send(alert_for(world.shop_a1, kind="breach"))
    (post,) = receiver.received
    # As DingTalk documents it: HMAC-SHA256 keyed by the secret over "timestamp\nsecret",
    # Base64, URL-encoded; the timestamp in milliseconds; the token kept
    assert post.query["access_token"] == ["tok123"]
    timestamp = post.query["timestamp"][0]
    digest = hmac.new(b"SECd+/=", f"{timestamp}\nSECd+/=".encode(), hashlib.sha256).digest()
    assert post.query["sign"] == [base64.b64encode(digest).decode()]
    assert abs(int(timestamp) / 1000 - time.time()) < 3600
    body = post.json()
    assert body["msgtype"] == "markdown"
    assert "First reply breached" in body["markdown"]["text"]
    assert "Assigned to: unassigned" in body["markdown"]["text"]


def test_slack_gets_text_and_blocks(send, world, receiver: Receiver):
    channel(world.shop_a1, "slack", f"{receiver.base}/services/T/B/X")
    send(alert_for(world.shop_a1, kind="breach", escalated=True))
    body = receiver.received[0].json()
    assert set(body) == {"text", "blocks"}
    assert "A1 US" in body["text"]
    assert [block["type"] for block in body["blocks"]] == ["header", "section"]
    section = body["blocks"][1]["text"]
    assert section["type"] == "mrkdwn"
    assert "<https://scrm.example.com/inbox/c/" in section["text"]
    assert "The shop's supervisors were told." in section["text"]


def test_json_webhook_payload_and_its_hmac_header_verify(send, world, receiver: Receiver):
    channel(world.shop_a1, "webhook", f"{receiver.base}/sla", secret="k3y")
    alert = alert_for(world.shop_a1, threshold=60)
    (delivery,) = send(alert)
    (post,) = receiver.received
    # The receiver checks X-SCRM-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">
    fields = dict(part.split("=", 1) for part in post.headers["X-SCRM-Signature"].split(","))
    expected = hmac.new(b"k3y", f"{fields['t']}.".encode() + post.body, hashlib.sha256)
    assert hmac.compare_digest(fields["v1"], expected.hexdigest())
    assert abs(int(fields["t"]) - time.time()) < 300
    payload = post.json()
    assert payload["type"] == "sla.alert"
    data = payload["data"]
    assert data["alert_id"] == alert.id
    assert data["kind"] == "warning"
    assert data["subject"] == "conversation"
    assert data["subject_id"] == alert.deadline.conversation_id
    assert data["deadline_kind"] == "first_reply"
    assert data["threshold_minutes"] == 60
    assert data["due_at"] == "2026-12-03T09:00:00+00:00"
    assert data["assignee"] is None
    assert data["url"] == f"https://scrm.example.com/inbox/c/{alert.deadline.conversation_id}/"
    assert post.headers["X-SCRM-Delivery"] == str(delivery.id)


def test_a_json_webhook_without_a_secret_is_not_signed(send, world, receiver: Receiver):
    channel(world.shop_a1, "webhook", f"{receiver.base}/sla")
    send(alert_for(world.shop_a1))
    assert "X-SCRM-Signature" not in receiver.received[0].headers


def test_email_goes_through_django_mail_in_plain_text(send, world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SCRM_PUBLIC_URL = "https://scrm.example.com"
    channel(world.shop_a2, "email", "ops@example.com, lead@example.com")
    (delivery,) = send(alert_for(world.shop_a2, kind="breach"))
    (message,) = mail.outbox
    assert message.to == ["ops@example.com", "lead@example.com"]
    assert "A2 UK" in message.subject
    assert "Due: 2026-12-03 09:00 Europe/London (UTC+00:00)" in message.body
    assert "https://scrm.example.com/inbox/c/" in message.body
    assert action_of(delivery).state == "sent"


def test_a_refusal_fails_at_once_visibly_and_counts_on_the_channel(send, world, receiver: Receiver):
    hook = channel(world.shop_a1, "webhook", f"{receiver.base}/gone")
    receiver.on("/gone", (404, {}), (404, {}))
    (first,) = send(alert_for(world.shop_a1))
    (second,) = send(alert_for(world.shop_a1, kind="breach"))
    for delivery in (first, second):
        action = action_of(delivery)
        assert action.state == "failed"
        assert "HTTP 404" in action.failure_reason
        assert outcomes(action) == ["failed"]  # not retried
    hook.refresh_from_db()
    assert hook.consecutive_failures == 2
    assert hook.last_failure_at is not None
    assert "HTTP 404" in hook.last_failure_reason


@pytest.mark.parametrize(
    ("kind", "path", "answer", "code"),
    [
        ("feishu", "/fs", {"code": 19021, "msg": "sign match fail"}, "19021"),
        ("dingtalk", "/dt", {"errcode": 310000, "errmsg": "sign not match"}, "310000"),
    ],
)
def test_a_bots_error_code_in_a_200_is_a_failure(
    send, world, receiver: Receiver, kind, path, answer, code
):
    bot = channel(world.shop_a1, kind, f"{receiver.base}{path}", secret="x")
    receiver.on(path, (200, answer))
    (delivery,) = send(alert_for(world.shop_a1))
    action = action_of(delivery)
    assert action.state == "failed"
    assert f"code {code}" in action.failure_reason
    assert len(receiver.received) == 1
    bot.refresh_from_db()
    assert bot.consecutive_failures == 1
    assert f"code {code}" in bot.last_failure_reason


def test_a_bots_rate_limit_is_retried(send, world, receiver: Receiver):
    channel(world.shop_a1, "dingtalk", f"{receiver.base}/dt")
    receiver.on("/dt", (200, {"errcode": 130101, "errmsg": "send too fast"}), (200, {"errcode": 0}))
    (delivery,) = send(alert_for(world.shop_a1))
    assert outcomes(action_of(delivery)) == ["retry", "sent"]


def test_a_success_after_failures_resets_the_count(send, world, receiver: Receiver):
    hook = channel(world.shop_a1, "slack", f"{receiver.base}/s", consecutive_failures=4)
    send(alert_for(world.shop_a1))
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0


def test_only_matching_channels_get_the_alert(send, world, receiver: Receiver):
    wanted = [
        channel(world.shop_a1, "slack", f"{receiver.base}/all"),  # every shop
        channel(world.shop_a1, "slack", f"{receiver.base}/a1", shop_account=world.shop_a1),
    ]
    channel(world.shop_a1, "slack", f"{receiver.base}/a2", shop_account=world.shop_a2)
    channel(world.shop_a1, "slack", f"{receiver.base}/off", is_active=False)
    channel(world.shop_a1, "slack", f"{receiver.base}/breaches", alert_kinds=["breach"])
    channel(world.shop_b1, "slack", f"{receiver.base}/other-org")
    deliveries = send(alert_for(world.shop_a1, kind="warning"))
    assert sorted(d.channel_id for d in deliveries) == sorted(c.id for c in wanted)
    assert sorted(r.path for r in receiver.received) == ["/a1", "/all"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [("off", "The channel was turned off."), ("deleted", "The channel was deleted.")],
)
def test_a_channel_turned_off_or_deleted_before_sending_fails_the_delivery(
    world, receiver: Receiver, django_capture_on_commit_callbacks, change, reason
):
    hook = channel(world.shop_a1, "slack", f"{receiver.base}/s")
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        (delivery,) = alert_deliveries_enqueue(alert=alert_for(world.shop_a1))
    action = action_of(delivery)
    if change == "off":
        AlertChannel.objects.filter(id=hook.id).update(is_active=False)
    else:
        hook.delete()
    assert deliver_outbox_action.apply(args=[action.id]).get() == "failed"
    action.refresh_from_db()
    assert action.failure_reason == reason
    assert receiver.received == []


def test_no_personal_data_in_anything_sent(send, world, receiver: Receiver, settings):
    # Given an alert about a conversation whose buyer's name and message carry a marker
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for kind in ("feishu", "dingtalk", "slack", "webhook"):
        channel(world.shop_a1, kind, f"{receiver.base}/{kind}", secret="sec")
    channel(world.shop_a1, "email", "ops@example.com")
    alert = alert_for(world.shop_a1, kind="breach")
    conversation = alert.deadline.conversation
    assert MARKER in conversation.customer.display_name
    assert any(MARKER in m.text for m in conversation.messages.all())
    # When it goes to every kind of channel
    assert len(send(alert)) == 5
    # Then the marker is in nothing sent
    assert len(receiver.received) == 4
    for post in receiver.received:
        sent = post.body.decode() + repr(post.query) + repr(post.headers)
        assert MARKER not in sent and MARKER not in unquote_plus(sent)
    (message,) = mail.outbox
    assert MARKER not in message.subject + message.body


def test_texts_are_in_the_organisations_language(send, world, receiver: Receiver):
    world.org_a.language = "zh-hans"
    world.org_a.save()
    channel(world.shop_a3, "feishu", f"{receiver.base}/fs")
    send(alert_for(world.shop_a3, threshold=60))
    post_body = receiver.received[0].json()["content"]["post"]["zh_cn"]
    lines = [row[0]["text"] for row in post_body["content"][:-1]]
    assert lines[0] == "店铺：A3 MY"
    assert "1 小时" in lines[1]
    assert lines[2] == "到期时间：2026-12-03 17:00 Asia/Kuala_Lumpur (UTC+08:00)"
    assert lines[3] == "负责人：未分配"
    assert post_body["content"][-1][0]["text"] == "打开会话"


def test_the_bots_token_is_in_no_failure_reason_or_log(send, world, receiver: Receiver, caplog):
    caplog.set_level(logging.DEBUG)
    bot = channel(world.shop_a1, "feishu", f"{receiver.base}/open-apis/bot/v2/hook/TOKEN42")
    receiver.on("/open-apis/bot/v2/hook/TOKEN42", (500, {}), (403, {}))
    (delivery,) = send(alert_for(world.shop_a1))
    assert action_of(delivery).failure_reason == "HTTP 403"
    bot.refresh_from_db()
    assert bot.last_failure_reason == "HTTP 403"
    assert "HTTP 500" in caplog.text  # the retry was logged, by host
    assert "TOKEN42" not in caplog.text


def test_a_same_day_digest_says_how_many_are_open_and_who_holds_them(
    send, world, receiver: Receiver
):
    world.agent_a1.member.display_name = "Ana"
    world.agent_a1.member.save()
    channel(world.shop_a1, "webhook", f"{receiver.base}/sla")
    digest = SlaAlert.objects.create(
        organisation_id=world.org_a.id,
        shop_account=world.shop_a1,
        kind="digest",
        digest_date=date(2026, 12, 3),
        escalated=True,
        data={
            "open_count": 3,
            "by_holder": {str(world.agent_a1.id): 2, "unassigned": 1},
            "overdue_deadlines": 1,
            "conversation_ids": [1, 2],
            "case_ids": [3],
        },
    )
    send(digest)
    data = receiver.received[0].json()["data"]
    assert data["kind"] == "digest"
    assert data["subject"] is None
    assert data["open_count"] == 3
    assert data["digest_date"] == "2026-12-03"
    assert data["holders"] == [{"name": "Ana", "count": 2}, {"name": "unassigned", "count": 1}]
    assert data["url"] == "https://scrm.example.com/inbox/"
    assert data["text"].splitlines() == [
        "Shop: A1 US",
        "Same-day digest: 3 requests still open at the end of the working day",
        "Day: 2026-12-03",
        "Ana: 2 open",
        "unassigned: 1 open",
        "Overdue: 1",
        "The shop's supervisors were told.",
    ]


def test_email_on_a_server_without_mail_fails_at_once_with_the_reason(send, world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = ""
    channel(world.shop_a1, "email", "ops@example.com")
    (delivery,) = send(alert_for(world.shop_a1))
    action = action_of(delivery)
    assert action.state == "failed"
    assert "SCRM_EMAIL_HOST" in action.failure_reason
    assert outcomes(action) == ["failed"]
