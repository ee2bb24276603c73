"""Outbound replies: pending → sending → sent | failed (→ retried), never delivered twice.

How "never twice" holds:
- a repeated request with the same idempotency key returns the first reply (unique per
  conversation), so a double click or a client retry stores one row;
- before each delivery attempt after the first, the platform's recent messages are read: if the
  reply is already there (a worker died between the platform's answer and our commit, or a
  timeout hid a success), its id is adopted and nothing is sent again (TikTok's Send Message
  takes no idempotency key);
- the row is locked while its state changes, and ingestion adopts a pending reply it sees on the
  platform instead of storing a second copy.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from inbox.models import (
    Conversation,
    DeliveryAttempt,
    DeliveryState,
    Direction,
    Message,
)
from inbox.payloads import conversation_payload, message_payload
from inbox.platforms.base import (
    AuthExpired,
    OutgoingMessage,
    PlatformError,
    ShopApi,
    get_adapter,
)
from inbox.selectors import AnyUser, conversation_get
from inbox.services.assignment import conversation_assign_on_reply
from inbox.services.events import conversation_event_publish
from inbox.services.ingestion import conversation_refresh, message_text, shop_api
from monitoring.audit import audit_record
from monitoring.screening import screen_outgoing
from scrm.api import NotFound, ServiceError

logger = logging.getLogger(__name__)

SENDABLE = {
    "TEXT": (),
    "IMAGE": ("url", "width", "height"),
    "PRODUCT_CARD": ("product_id",),
    "ORDER_CARD": ("order_id",),
}
IN_FLIGHT = "in_flight"
ADOPT_LOOKBACK_PAGES = 3
ADOPT_CLOCK_SKEW = timedelta(minutes=2)


def delivery_lease() -> timedelta:
    """How long an open attempt keeps other workers off a reply: longer than one delivery can
    take (connect 3 s + read 10 s, a few in-call retries of a few seconds)."""
    return timedelta(seconds=settings.SCRM_DELIVERY_LEASE_SECONDS)


def sweep_grace() -> timedelta:
    """How late a reply's next attempt may be before the sweep queues it again: a busy worker
    starting a due task a little late is not a lost task."""
    return timedelta(seconds=settings.SCRM_DELIVERY_SWEEP_GRACE_SECONDS)


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


def message_send(
    *,
    actor: AnyUser,
    conversation_id: int,
    text: str = "",
    type: str = "TEXT",
    content: dict[str, Any] | None = None,
    idempotency_key: str = "",
) -> tuple[Message, bool]:
    """Store a reply as ``pending`` and queue its delivery; returns (message, created).

    The same idempotency key on the same conversation returns the first reply, unchanged.
    """
    conversation = conversation_get(actor, conversation_id)
    adapter = get_adapter(conversation.shop_account.platform)
    idempotency_key = (idempotency_key or "").strip()[:100] or f"auto-{uuid.uuid4()}"
    with transaction.atomic():
        Conversation.objects.select_for_update().filter(id=conversation.id).first()
        existing = Message.objects.filter(
            conversation=conversation, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return existing, False
        text, body = _validate(
            adapter_limit=adapter.max_text_length, type_=type, text=text, content=content or {}
        )
        if type == "TEXT":
            screened = screen_outgoing(
                organisation_id=conversation.organisation_id,
                shop_account_id=conversation.shop_account_id,
                text=text,
            )
            if screened.blocked:
                raise ServiceError(
                    "This reply was blocked by the sensitive-word policy.",
                    code="reply_blocked",
                    status_code=422,
                    details={"reason": screened.reason},
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
            author_id=actor.pk,
            idempotency_key=idempotency_key,
            synced=False,
            next_attempt_at=timezone.now(),
        )
        audit_record(
            organisation_id=conversation.organisation_id,
            actor=actor,
            action="reply.submitted",
            target=message,
            data={"conversation_id": conversation.id, "type": type},
        )
        # An unassigned conversation goes to whoever answers it, if the organisation says so.
        conversation_assign_on_reply(actor=actor, conversation_id=conversation.id)
        _publish(conversation, "message.created", message)
        _enqueue(message.id)
    return message, True


def _enqueue(message_id: int) -> None:
    from inbox.tasks import deliver_message

    transaction.on_commit(lambda: deliver_message.delay(message_id))


def _publish(conversation: Conversation, type_: str, message: Message) -> None:
    conversation_event_publish(conversation, type_, message_payload(message))


@transaction.atomic
def message_retry(*, actor: AnyUser, message_id: int) -> Message:
    """Queue a failed reply again (the agent's retry button)."""
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
    message.delivery_state = DeliveryState.PENDING
    message.failure_reason = ""
    message.next_attempt_at = timezone.now()
    message.save(
        update_fields=["delivery_state", "failure_reason", "next_attempt_at", "updated_at"]
    )
    audit_record(
        organisation_id=conversation.organisation_id,
        actor=actor,
        action="reply.retried",
        target=message,
        data={"conversation_id": conversation.id},
    )
    _publish(conversation, "message.updated", message)
    _enqueue(message.id)
    return message


def message_deliver(*, message_id: int) -> str:
    """One delivery attempt (the task's body). Returns the state it leaves the reply in.

    Retryable platform errors propagate (the task retries with backoff); definitive ones mark
    the reply failed.
    """
    with transaction.atomic():
        message = Message.objects.select_for_update(of=("self",)).get(id=message_id)
        if message.delivery_state in (DeliveryState.SENT, DeliveryState.FAILED):
            return message.delivery_state
        now = timezone.now()
        if message.attempts.filter(
            finished_at__isnull=True, started_at__gt=now - delivery_lease()
        ).exists():
            # Another worker is talking to the platform about this reply right now (a duplicate
            # task, a broker redelivery, the sweep): it alone may send.
            return IN_FLIGHT
        first_attempt = message.attempts.order_by("started_at").first()
        attempt = DeliveryAttempt.objects.create(message=message, started_at=now)
        message.delivery_state = DeliveryState.SENDING
        # A worker that dies inside this attempt is noticed once its lease has run out.
        message.next_attempt_at = now + delivery_lease()
        message.save(update_fields=["delivery_state", "next_attempt_at", "updated_at"])
    # Committed: a crash from here on leaves a visible "sending" reply with an open attempt,
    # which the next attempt (task retry or the stuck-delivery sweep) resolves.
    shop = message.shop_account
    conversation_id = message.conversation.platform_conversation_id
    try:
        # Inside: a shop with no usable credentials (AuthExpired) fails the reply visibly now.
        api = shop_api(shop)
        platform_id = None
        if first_attempt is not None:
            platform_id = _find_on_platform(api, message, since=first_attempt.started_at)
        outcome = "adopted" if platform_id else "sent"
        if platform_id is None:
            platform_id = api.send_message(
                conversation_id, OutgoingMessage(type=message.type, content=message.content)
            )
    except PlatformError as exc:
        reason = _reason(exc)
        if exc.retryable:
            _attempt_finish(attempt, "retry", reason)
            raise
        message_mark_failed(message_id=message.id, reason=reason, attempt=attempt)
        return DeliveryState.FAILED
    except Exception as exc:
        # Never leave the attempt open: the next one checks the platform before sending.
        _attempt_finish(attempt, "error", type(exc).__name__)
        raise
    _mark_sent(message.id, platform_id, attempt, outcome)
    return DeliveryState.SENT


def _reason(exc: PlatformError) -> str:
    if isinstance(exc, AuthExpired):
        return "The shop's authorisation expired: re-authorise it in settings."
    code = f" (code {exc.code})" if exc.code else ""
    return f"{exc}{code}"[:300]


def _attempt_finish(attempt: DeliveryAttempt, outcome: str, error: str = "") -> None:
    DeliveryAttempt.objects.filter(id=attempt.id).update(
        finished_at=timezone.now(), outcome=outcome, error=error[:300]
    )


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


@transaction.atomic
def _mark_sent(message_id: int, platform_id: str, attempt: DeliveryAttempt, outcome: str) -> None:
    conversation_id = Message.objects.values_list("conversation_id", flat=True).get(id=message_id)
    # Conversation first, then message: the order ingestion locks them in.
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("shop_account", "customer", "assignee")
        .defer("shop_account__credentials")
        .get(id=conversation_id)
    )
    message = Message.objects.select_for_update().get(id=message_id)
    # Ingestion may have stored the platform's copy first as a separate row: keep ours.
    holders = Message.objects.select_for_update().filter(
        shop_account_id=message.shop_account_id, platform_message_id=platform_id
    )
    for other in holders.exclude(id=message.id):
        if other.idempotency_key or other.author_id:
            # Another reply of ours wrongly holds this id: it goes back to being checked.
            other.platform_message_id = None
            other.delivery_state = DeliveryState.SENDING
            other.save(update_fields=["platform_message_id", "delivery_state", "updated_at"])
        else:
            other.delete()

    message.platform_message_id = platform_id
    message.delivery_state = DeliveryState.SENT
    message.failure_reason = ""
    message.next_attempt_at = None
    message.save(
        update_fields=[
            "platform_message_id",
            "delivery_state",
            "failure_reason",
            "next_attempt_at",
            "updated_at",
        ]
    )
    _attempt_finish(attempt, outcome)
    conversation_refresh(conversation)
    audit_record(
        organisation_id=conversation.organisation_id,
        actor=None,
        action="reply.delivered",
        target=message,
        data={"conversation_id": conversation.id, "outcome": outcome},
    )
    _publish(conversation, "message.updated", message)
    conversation_event_publish(
        conversation, "conversation.updated", conversation_payload(conversation)
    )


@transaction.atomic
def message_mark_failed(
    *, message_id: int, reason: str, attempt: DeliveryAttempt | None = None
) -> None:
    """Give up on a reply: it shows ``failed`` with the reason, and can be retried by hand."""
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("conversation")
        .get(id=message_id)
    )
    if message.delivery_state == DeliveryState.SENT:
        return
    message.delivery_state = DeliveryState.FAILED
    message.failure_reason = reason[:300]
    message.next_attempt_at = None
    message.save(
        update_fields=["delivery_state", "failure_reason", "next_attempt_at", "updated_at"]
    )
    if attempt is not None:
        _attempt_finish(attempt, "failed", reason)
    audit_record(
        organisation_id=message.conversation.organisation_id,
        actor=None,
        action="reply.failed",
        target=message,
        data={"conversation_id": message.conversation_id},
    )
    _publish(message.conversation, "message.updated", message)


def message_next_attempt_set(*, message_id: int, at: datetime) -> None:
    """Record when the outbox will try an undelivered reply again (the task's retry countdown),
    so that the sweep can tell a reply waiting its turn from one whose worker died.

    A reply already ``sent`` or ``failed`` is left alone.
    """
    Message.objects.filter(
        id=message_id, delivery_state__in=[DeliveryState.PENDING, DeliveryState.SENDING]
    ).update(next_attempt_at=at)


def stuck_deliveries(*, now: datetime | None = None) -> list[int]:
    """Replies a lost task or a dead worker left behind: still undelivered a grace period after
    their recorded next attempt (a retry countdown, the end of an attempt's lease, or at once
    for a new reply). Rows from before that time was recorded fall back to the old rule:
    pending for two minutes, sending for ten.

    Going by the row, not by the broker: a worker killed with retries waiting in its memory
    holds them unacknowledged until Redis's visibility timeout (an hour), and a shorter
    visibility timeout would re-deliver every task waiting on a long countdown.
    """
    now = now or timezone.now()
    undelivered = Q(delivery_state__in=[DeliveryState.PENDING, DeliveryState.SENDING])
    return list(_stuck(undelivered, now).order_by("id").values_list("id", flat=True)[:500])


def stuck_deliveries_claim(*, now: datetime | None = None) -> list[int]:
    """The stuck replies, each claimed for one lease (its next attempt moved to the end of
    it) by a conditional update: the sweep queues a reply once per lease, not on every run
    while a backlog of tasks holds the queue back, and two sweeps never queue the same one."""
    now = now or timezone.now()
    claimed: list[int] = []
    for message_id in stuck_deliveries(now=now):
        won = (
            _stuck(Q(id=message_id), now)
            .filter(delivery_state__in=[DeliveryState.PENDING, DeliveryState.SENDING])
            .update(next_attempt_at=now + delivery_lease())
        )
        if won:
            claimed.append(message_id)
    return claimed


def _stuck(condition: Q, now: datetime) -> Any:
    return (
        Message.objects.filter(direction=Direction.OUTBOUND)
        .filter(condition)
        .filter(
            Q(next_attempt_at__lt=now - sweep_grace())
            | Q(
                next_attempt_at__isnull=True,
                delivery_state=DeliveryState.PENDING,
                updated_at__lt=now - timedelta(minutes=2),
            )
            | Q(
                next_attempt_at__isnull=True,
                delivery_state=DeliveryState.SENDING,
                updated_at__lt=now - timedelta(minutes=10),
            )
        )
    )


def replies_give_up_stale(*, max_age: timedelta = timedelta(hours=24)) -> int:
    """Replies still undelivered a day after they were written fail visibly (the agent may
    retry): the buyer must not receive a day-old answer unnoticed."""
    stale = list(
        Message.objects.filter(
            direction=Direction.OUTBOUND,
            delivery_state__in=[DeliveryState.PENDING, DeliveryState.SENDING],
            created_at__lt=timezone.now() - max_age,
        ).values_list("id", flat=True)[:500]
    )
    for message_id in stale:
        message_mark_failed(message_id=message_id, reason="Not delivered within a day.")
    return len(stale)
