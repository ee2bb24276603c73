"""Outbound replies: pending → sending → sent | failed (→ retried), never delivered twice.

A reply is delivered by the outbox (``inbox/services/outbox.py``: the lease, attempts, the
sweep, giving up) as an action of kind ``reply``; ``Message.delivery_state`` mirrors the
action's state. What is the reply's own:
- a repeated request with the same idempotency key returns the first reply (unique per
  conversation), so a double click or a client retry stores one row;
- before each delivery attempt after the first, the outbox asks :class:`ReplyDelivery` to read
  the platform's recent messages: if the reply is already there (a worker died between the
  platform's answer and our commit, or a timeout hid a success), its id is adopted and nothing
  is sent again (TikTok's Send Message takes no idempotency key);
- ingestion adopts a pending reply it sees on the platform instead of storing a second copy;
  the reply's next attempt then finds it sent and closes its action.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from inbox.events import CONVERSATION_UPDATED, MESSAGE_CREATED, MESSAGE_UPDATED
from inbox.hooks import ReplySubmitted, reply_submitted
from inbox.models import (
    Conversation,
    DeliveryState,
    Direction,
    Message,
    OutboxAction,
    OutboxState,
)
from inbox.payloads import conversation_payload, message_payload
from inbox.platforms.base import OutgoingMessage, ShopApi, get_adapter
from inbox.selectors import AnyUser, conversation_get
from inbox.selectors.conversations import conversation_for_action, tag_names_of
from inbox.services.assignment import conversation_assign_on_reply
from inbox.services.conversation_state import conversation_writes_gathered
from inbox.services.events import conversation_event_publish, conversation_events_publish
from inbox.services.ingestion import conversation_refresh, message_text
from inbox.services.outbox import outbox_enqueue, outbox_fail, outbox_reopen, required_id
from inbox.services.outbox_kinds import ShopHandler
from inbox.services.search_tokens import message_tokens_write
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from monitoring.models.words import SendSource
from monitoring.services.send_screening import blocked_send_recorded, screen_send
from scrm.api import NotFound, ServiceError
from scrm.blind import org_index_for
from scrm.compiled import read_compiled
from scrm.db import row_update, writes_deferred
from scrm.events import EventKind, events_gathered

logger = logging.getLogger(__name__)

SENDABLE = {
    "TEXT": (),
    "IMAGE": ("url", "width", "height"),
    "PRODUCT_CARD": ("product_id",),
    "ORDER_CARD": ("order_id",),
}
REPLY = "reply"
ADOPT_LOOKBACK_PAGES = 3
ADOPT_CLOCK_SKEW = timedelta(minutes=2)


def _validate(
    *, adapter_limit: int, type_: str, text: str, content: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    if type_ not in SENDABLE:
        raise ServiceError(
            "This message type cannot be sent.",
            code="invalid_type",
            details={"type": type_, "allowed": sorted(SENDABLE)},
        )
    if type_ == "TEXT":
        text = text.strip()
        if not text:
            raise ServiceError("A reply needs text.", code="empty_text")
        if len(text) > adapter_limit:
            raise ServiceError(
                f"The platform accepts at most {adapter_limit} characters.",
                code="text_too_long",
                details={"length": len(text), "max_length": adapter_limit},
            )
        return text, {"content": text}
    missing = [k for k in SENDABLE[type_] if not content.get(k)]
    if missing:
        raise ServiceError(
            f"A {type_} needs {', '.join(missing)}.", code="invalid", details={"missing": missing}
        )
    return "", {k: content[k] for k in SENDABLE[type_]}


@blocked_send_recorded()
def message_send(
    *,
    actor: AnyUser,
    conversation_id: int,
    text: str = "",
    type: str = "TEXT",
    content: dict[str, Any] | None = None,
    idempotency_key: str = "",
    quick_reply_id: int | None = None,
    quick_reply_language: str = "",
    source: str = SendSource.REPLY,
) -> tuple[Message, bool]:
    """Store a reply as ``pending`` and queue its delivery; returns (message, created).

    The same idempotency key on the same conversation returns the first reply, unchanged.
    A stored reply is announced (``inbox.hooks.reply_submitted``) in the same transaction, with
    the quick reply the composer inserted into it (templates_app counts its use there).
    """
    conversation = conversation_for_action(actor, conversation_id)
    adapter = get_adapter(conversation.shop_account.platform)
    idempotency_key = (idempotency_key or "").strip()[:100] or f"auto-{uuid.uuid4()}"
    # The search tokens (which nothing here reads back) go with the events' one INSERT.
    with transaction.atomic(), writes_deferred():
        # The reply's events recorded (their pushes registered for the commit) before its
        # delivery is queued: an eager delivery, run at the commit, pushes "sent" after them.
        with events_gathered():
            Conversation.objects.select_for_update().filter(id=conversation.id).first()
            existing = Message.objects.filter(
                conversation=conversation, idempotency_key=idempotency_key
            ).first()
            if existing is not None:
                return existing, False
            if not conversation.shop_account.is_active:
                raise ServiceError(
                    gettext_noop("This shop account is disconnected: reconnect it to reply."),
                    code="shop_disconnected",
                    status_code=409,
                )
            text, body = _validate(
                adapter_limit=adapter.max_text_length, type_=type, text=text, content=content or {}
            )
            if type == "TEXT":
                screened = screen_send(
                    organisation_id=conversation.organisation_id,
                    shop_account_id=conversation.shop_account_id,
                    text=text,
                    source=source,
                    actor=actor,
                    conversation_id=conversation.id,
                )
                text, body = screened.text, {"content": screened.text}
            message = Message.objects.create(
                conversation=conversation,
                shop_account_id=conversation.shop_account_id,
                direction=Direction.OUTBOUND,
                sender_role="CUSTOMER_SERVICE",
                type=type,
                text=text,
                content=body,
                # Whole seconds, like the platform's times: a sub-second time would sort a buyer
                # message of the same second before the reply and count it as answered.
                sent_at=timezone.now().replace(microsecond=0),
                delivery_state=DeliveryState.PENDING,
                # A person: the instance itself (their member read already), so the payloads read
                # neither again; a rule's actor stands for its author by id.
                **(
                    {"author": actor}
                    if isinstance(actor, get_user_model())
                    else {"author_id": actor.pk}
                ),
                idempotency_key=idempotency_key,
                synced=False,
            )
            message_tokens_write([message], org_index_for(conversation.organisation_id))
            audit_record(
                organisation_id=conversation.organisation_id,
                actor=actor,
                action="reply.submitted",
                shop_account_id=conversation.shop_account_id,
                ip=request_address(),
                target=message,
                data={"conversation_id": conversation.id, "type": type},
            )
            reply_submitted.emit(
                ReplySubmitted(
                    organisation_id=conversation.organisation_id,
                    shop_account_id=conversation.shop_account_id,
                    conversation_id=conversation.id,
                    message_id=message.id,
                    actor=actor,
                    quick_reply_id=quick_reply_id,
                    quick_reply_language=quick_reply_language,
                )
            )
            # An unassigned conversation goes to whoever answers it, if the organisation says so.
            conversation_assign_on_reply(actor=actor, conversation_id=conversation.id)
            _publish(conversation, MESSAGE_CREATED, message)
        outbox_enqueue(
            kind=REPLY,
            organisation_id=conversation.organisation_id,
            shop_account_id=conversation.shop_account_id,
            conversation_id=conversation.id,
            message_id=message.id,
        )
    return message, True


def reply_action_id(message_id: int) -> int:
    """The id of the reply's outbox action."""
    return OutboxAction.objects.values_list("id", flat=True).get(kind=REPLY, message_id=message_id)


def _publish(conversation: Conversation, type_: EventKind, message: Message) -> None:
    conversation_event_publish(conversation, type_, message_payload(message))


@transaction.atomic
def message_retry(*, actor: AnyUser, message_id: int) -> Message:
    """Queue a failed reply again (the agent's retry button): its outbox action is reopened,
    and its next attempt looks on the platform before sending."""
    # The action before the message: the outbox's lock order.
    action_id = (
        OutboxAction.objects.select_for_update()
        .filter(kind=REPLY, message_id=message_id)
        .values_list("id", flat=True)
        .first()
    )
    try:
        message = Message.objects.select_for_update().get(id=message_id)
    except Message.DoesNotExist:
        raise NotFound("Message not found.") from None
    conversation = conversation_get(actor, message.conversation_id)  # access, 404 otherwise
    if message.delivery_state != DeliveryState.FAILED:
        raise ServiceError(
            "Only a failed reply can be retried.",
            code="not_failed",
            status_code=409,
            details={"delivery_state": message.delivery_state},
        )
    if action_id is None:  # a failed message that is not one of our replies
        raise ServiceError(
            "Only a failed reply can be retried.", code="not_failed", status_code=409
        )
    message.delivery_state = DeliveryState.PENDING
    message.failure_reason = ""
    message.save(update_fields=["delivery_state", "failure_reason", "updated_at"])
    outbox_reopen(action_id=action_id)
    audit_record(
        organisation_id=conversation.organisation_id,
        actor=actor,
        action="reply.retried",
        shop_account_id=conversation.shop_account_id,
        ip=request_address(),
        target=message,
        data={"conversation_id": conversation.id},
    )
    _publish(conversation, MESSAGE_UPDATED, message)
    return message


class ReplyDelivery(ShopHandler):
    """The outbox kind ``reply``: send the message, or find it on the platform first."""

    kind = REPLY
    stale_reason = "Not delivered within a day."

    def settled(self, action: OutboxAction) -> str | None:
        rows = read_compiled("replies.state", _delivery_state, _message_id(action))
        if not rows:
            raise Message.DoesNotExist(f"no message {_message_id(action)}")
        state = rows[0][0]
        return state if state in (DeliveryState.SENT, DeliveryState.FAILED) else None

    def prepare(self, action: OutboxAction) -> tuple[ShopApi, Message]:
        message = Message.objects.select_related("conversation__shop_account").get(
            id=_message_id(action)
        )
        # A shop with no usable credentials (AuthExpired) fails the reply visibly now.
        return self.shop_api(action, message.conversation.shop_account), message

    def find(self, action: OutboxAction, prepared: Any, *, since: Any) -> str | None:
        api, message = prepared
        return _find_on_platform(api, message, since=since)

    def perform(self, action: OutboxAction, prepared: Any) -> str:
        api, message = prepared
        return api.send_message(
            message.conversation.platform_conversation_id,
            OutgoingMessage(type=message.type, content=message.content),
        )

    def on_sending(self, action: OutboxAction) -> None:
        # Deferred inside the outbox's lease transaction (sent with its next statement).
        message = Message(id=_message_id(action), delivery_state=DeliveryState.SENDING)
        row_update(message, ["delivery_state", "updated_at"], defer=True)

    def on_sent(self, action: OutboxAction, *, result: str, outcome: str) -> None:
        _mark_sent(action, result, outcome)

    def on_failed(self, action: OutboxAction, *, reason: str) -> None:
        _mark_failed(_message_id(action), reason)


def _delivery_state(message_id: int) -> QuerySet[Any]:
    return Message.objects.filter(id=message_id).values_list("delivery_state")


def _message_id(action: OutboxAction) -> int:
    return required_id(action.message_id, "message")


def _find_on_platform(api: ShopApi, message: Message, *, since: Any) -> str | None:
    """The platform id of this reply if an earlier attempt already delivered it."""
    conversation_id = message.conversation.platform_conversation_id
    # Platform ids already carried by other replies of ours (an ingested copy of this very
    # reply does not count: finding it is the point, and _mark_sent merges it).
    taken = set(
        Message.objects.filter(conversation_id=message.conversation_id, direction="out")
        .exclude(idempotency_key="")
        .exclude(id=message.id)
        .exclude(platform_message_id__isnull=True)
        .values_list("platform_message_id", flat=True)
    )
    token = ""
    for _ in range(ADOPT_LOOKBACK_PAGES):
        page = api.list_messages(conversation_id, page_token=token, newest_first=True)
        for pm in page.items:
            if pm.create_time < since - ADOPT_CLOCK_SKEW:
                return None
            if pm.sender.role == "BUYER" or pm.message_id in taken or pm.type != message.type:
                continue
            same = (
                message_text(pm.type, pm.content) == message.text
                if message.type == "TEXT"
                else pm.content == message.content
            )
            if same:
                return pm.message_id
        if not page.has_more:
            return None
        token = page.next_page_token
    return None


def _mark_sent(action: OutboxAction, platform_id: str, outcome: str) -> None:
    """The reply's side of a delivery (inside the outbox's closing transaction, which defers
    the writes nothing here reads back and gathers the events: ``outbox._mark_sent``)."""
    message_id = _message_id(action)
    conversation_id = action.conversation_id or (
        Message.objects.values_list("conversation_id", flat=True).get(id=message_id)
    )
    # Conversation first, then messages: the order ingestion locks them in.
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("shop_account", "customer", "assignee__member")
        .defer("shop_account__credentials")
        .get(id=conversation_id)
    )
    # The reply, and any row ingestion stored for the platform's copy first (one read).
    rows = list(
        Message.objects.select_for_update(of=("self",))
        .select_related("author__member")
        .filter(
            Q(id=message_id)
            | Q(shop_account_id=conversation.shop_account_id, platform_message_id=platform_id)
        )
    )
    message = next((m for m in rows if m.id == message_id), None)
    if message is None:
        raise Message.DoesNotExist(f"no message {message_id}")
    holders = [
        m
        for m in rows
        if m.id != message_id
        and m.shop_account_id == message.shop_account_id
        and m.platform_message_id == platform_id
    ]
    for other in holders:  # keep ours
        if other.idempotency_key or other.author_id:
            # Another reply of ours wrongly holds this id: it goes back to being checked (its
            # next attempt looks on the platform again).
            other.platform_message_id = None
            other.delivery_state = DeliveryState.SENDING
            other.save(update_fields=["platform_message_id", "delivery_state", "updated_at"])
            OutboxAction.objects.filter(kind=REPLY, message_id=other.id).update(
                state=OutboxState.SENDING, result="", next_attempt_at=timezone.now()
            )
        else:
            other.delete()

    message.platform_message_id = platform_id
    message.delivery_state = DeliveryState.SENT
    message.failure_reason = ""
    # At once, not deferred: the refresh below may read the messages' delivery states.
    row_update(message, ["platform_message_id", "delivery_state", "failure_reason", "updated_at"])
    with conversation_writes_gathered(conversation):  # one UPDATE of the row, deferred
        # The reply as the refresh's batch: when it is newer than every visible message the
        # conversation shows (no buyer message came after it was submitted: the usual case),
        # the answer ends the wait and the display's buyer time stands, without reading the
        # messages again; otherwise the refresh reads them, as for any change.
        conversation_refresh(conversation, batch=[message])
    audit_record(
        organisation_id=conversation.organisation_id,
        actor=None,
        action="reply.delivered",
        target=message,
        data={"conversation_id": conversation.id, "outcome": outcome},
    )
    conversation.tag_names = tag_names_of([conversation.id]).get(  # type: ignore[attr-defined]
        conversation.id, []
    )  # (conversation_payload)
    conversation_events_publish(
        conversation,
        [
            (MESSAGE_UPDATED, message_payload(message)),
            (CONVERSATION_UPDATED, conversation_payload(conversation)),
        ],
    )


def _mark_failed(message_id: int, reason: str) -> None:
    """The reply's side of giving up (inside the outbox's transaction)."""
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("conversation")
        .get(id=message_id)
    )
    message.delivery_state = DeliveryState.FAILED
    message.failure_reason = reason[:300]
    message.save(update_fields=["delivery_state", "failure_reason", "updated_at"])
    audit_record(
        organisation_id=message.conversation.organisation_id,
        actor=None,
        action="reply.failed",
        target=message,
        data={"conversation_id": message.conversation_id},
    )
    _publish(message.conversation, MESSAGE_UPDATED, message)


def message_mark_failed(*, message_id: int, reason: str) -> None:
    """Give up on a reply: it shows ``failed`` with the reason, and can be retried by hand.

    A reply already sent (ingestion saw it on the platform) stays sent."""
    outbox_fail(action_id=reply_action_id(message_id), reason=reason)
