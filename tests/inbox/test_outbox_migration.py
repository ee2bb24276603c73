"""Migration inbox 0011 moves every reply's delivery onto the outbox, and back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.migration_db import migrated_to, scratch_database

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("inbox", "0010_sync_streams_and_webhook_ids")
AFTER = ("inbox", "0011_outbox_actions")


@pytest.fixture
def at_0010():
    """A database of its own migrated to 0010, so that only 0011 goes back and forth."""
    with scratch_database():
        yield migrated_to(BEFORE)


def test_replies_keep_their_state_attempts_and_due_time_across_0011(at_0010):
    apps = at_0010
    Organisation = apps.get_model("inbox", "Organisation")
    ShopAccount = apps.get_model("inbox", "ShopAccount")
    Customer = apps.get_model("inbox", "Customer")
    Conversation = apps.get_model("inbox", "Conversation")
    Message = apps.get_model("inbox", "Message")
    DeliveryAttempt = apps.get_model("inbox", "DeliveryAttempt")
    now = timezone.now()
    org = Organisation.objects.create(name="Org", slug="org")
    shop = ShopAccount.objects.create(
        organisation=org, platform="tiktok_shop", platform_shop_id="s1", name="S"
    )
    customer = Customer.objects.create(organisation=org, platform="tiktok_shop", im_user_id="b1")
    conversation = Conversation.objects.create(
        organisation=org, shop_account=shop, customer=customer, platform_conversation_id="c1"
    )

    def message(state: str, direction: str = "out", **fields):
        return Message.objects.create(
            conversation=conversation,
            shop_account=shop,
            direction=direction,
            sender_role="CUSTOMER_SERVICE" if direction == "out" else "BUYER",
            text="t",
            sent_at=now,
            delivery_state=state,
            idempotency_key=f"k-{Message.objects.count()}" if direction == "out" else "",
            **fields,
        )

    # Given replies in every state, one mid-delivery with an open attempt, and a buyer message
    due = now + timedelta(seconds=40)
    sending = message("sending", next_attempt_at=due)
    DeliveryAttempt.objects.create(message=sending, started_at=now, outcome="retry")
    DeliveryAttempt.objects.create(message=sending, started_at=now + timedelta(seconds=1))
    pending_old = message("pending")  # from before next attempts were recorded
    sent = message("sent", platform_message_id="pm-1")
    DeliveryAttempt.objects.create(message=sent, started_at=now, finished_at=now, outcome="sent")
    failed = message("failed", failure_reason="Gave up after 7 tries: x")
    message("received", direction="in", platform_message_id="pm-0")

    # When 0011 runs
    apps = migrated_to(AFTER)
    OutboxAction = apps.get_model("inbox", "OutboxAction")
    OutboxAttempt = apps.get_model("inbox", "OutboxAttempt")

    # Then every reply, and only replies, has its action in the reply's state
    actions = {a.message_id: a for a in OutboxAction.objects.all()}
    assert set(actions) == {sending.id, pending_old.id, sent.id, failed.id}
    assert {a.kind for a in actions.values()} == {"reply"}
    assert all(
        a.organisation_id == org.id and a.conversation_id == conversation.id
        for a in actions.values()
    )
    assert actions[sending.id].state == "sending"
    assert actions[sending.id].next_attempt_at == due
    assert actions[sending.id].created_at == sending.created_at
    assert actions[pending_old.id].next_attempt_at == pending_old.updated_at + timedelta(minutes=2)
    assert (actions[sent.id].state, actions[sent.id].result) == ("sent", "pm-1")
    assert actions[sent.id].next_attempt_at is None
    assert (actions[failed.id].state, actions[failed.id].failure_reason) == (
        "failed",
        "Gave up after 7 tries: x",
    )
    # And the attempts moved with them: the open one still holds its lease
    moved = OutboxAttempt.objects.filter(action=actions[sending.id]).order_by("id")
    assert [(a.outcome, a.finished_at) for a in moved] == [("retry", None), ("", None)]
    assert OutboxAttempt.objects.get(action=actions[sent.id]).outcome == "sent"

    # When it is reversed, the replies' attempts and due times are back
    apps = migrated_to(BEFORE)
    Message = apps.get_model("inbox", "Message")
    DeliveryAttempt = apps.get_model("inbox", "DeliveryAttempt")
    assert Message.objects.get(id=sending.id).next_attempt_at == due
    assert Message.objects.get(id=sent.id).next_attempt_at is None
    assert sorted(DeliveryAttempt.objects.values_list("message_id", "outcome")) == sorted(
        [(sending.id, "retry"), (sending.id, ""), (sent.id, "sent")]
    )
