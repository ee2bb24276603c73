"""Small builders for inbox rows (conversations with buyer messages) used across inbox tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from django.utils import timezone

from inbox.models import Conversation, Customer, Message, OutboxAction, OutboxAttempt, ShopAccount
from inbox.platforms.base import Participant
from inbox.services.ingestion import conversation_refresh, customer_upsert
from inbox.services.search_tokens import message_tokens_write
from scrm.blind import org_index_for

_seq = count(1)


def conversation_with_messages(
    shop: ShopAccount,
    *,
    buyer: str = "Emily R.",
    texts: tuple[str, ...] = ("Hi, where is my order?",),
    waited: timedelta = timedelta(minutes=30),
    at: datetime | None = None,
) -> Conversation:
    n = next(_seq)
    customer: Customer = customer_upsert(
        organisation_id=shop.organisation_id,
        platform=shop.platform,
        buyer=Participant(role="BUYER", im_user_id=f"im-{n}", user_id=f"u-{n}", nickname=buyer),
    )
    conversation = Conversation.objects.create(
        organisation_id=shop.organisation_id,
        shop_account=shop,
        customer=customer,
        platform_conversation_id=f"conv-{n}",
    )
    start = at or timezone.now() - waited
    stored = []
    for i, text in enumerate(texts):
        message = Message.objects.create(
            conversation=conversation,
            shop_account=shop,
            platform_message_id=f"m-{n}-{i}",
            direction="in",
            sender_role="BUYER",
            type="TEXT",
            text=text,
            content={"content": text},
            sent_at=start + timedelta(seconds=i),
        )
        stored.append(message)
    # As ingestion does: the messages' search tokens, under the organisation's index key.
    message_tokens_write(stored, org_index_for(shop.organisation_id))
    conversation_refresh(conversation, new_inbound=len(texts))
    return conversation


def pending_reply(conversation: Conversation, text: str, *, key: str, author=None) -> Message:
    """An agent's reply as the reply service stores it (with its outbox action), before any
    worker picked it up."""
    reply = Message.objects.create(
        conversation=conversation,
        shop_account=conversation.shop_account,
        direction="out",
        sender_role="CUSTOMER_SERVICE",
        type="TEXT",
        text=text,
        content={"content": text},
        sent_at=timezone.now().replace(microsecond=0),
        delivery_state="pending",
        author=author,
        idempotency_key=key,
        synced=False,
    )
    OutboxAction.objects.create(
        kind="reply",
        organisation_id=conversation.organisation_id,
        shop_account=conversation.shop_account,
        conversation=conversation,
        message=reply,
        next_attempt_at=timezone.now(),
    )
    return reply


def reply_action(reply: Message) -> OutboxAction:
    """The reply's outbox action."""
    return OutboxAction.objects.get(kind="reply", message=reply)


def reply_attempts(reply: Message):
    """The delivery attempts of a reply (its outbox action's)."""
    return OutboxAttempt.objects.filter(action__kind="reply", action__message=reply)


def deliver(reply: Message) -> str:
    """Run the reply's delivery task once, as a worker would (eager)."""
    from inbox.tasks import deliver_outbox_action

    return deliver_outbox_action.apply(args=[reply_action(reply).id]).get()
