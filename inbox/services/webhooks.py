"""Webhooks: verify and store each notification once, then act on it.

Invariants kept here:
- nothing unsigned is stored: a notification is stored only after its signature verifies with
  the app secret of the shop account it names (401 otherwise, 400 if it is not a notification);
- a notification is stored once per (platform, notification id), whatever redeliveries arrive,
  with one ``INSERT … ON CONFLICT DO NOTHING`` (the ack path's only write), together with the
  platform ids it is about (conversation, message, return, cancellation, order) as columns:
  nothing after the receipt parses a body again;
- each kind of event is acted on by its handler in ``WEBHOOK_HANDLERS``; a kind without one is
  kept and marked ignored with the reason "no handler for <kind> (type <code>)";
- processing is idempotent and never lost for good: a processed event is not processed again,
  and events whose task went missing (broker down, process killed after the ack) are queued
  again by ``webhook_events_stale_claim`` (once a lease); the messages themselves are also
  recovered by the backfill.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from inbox.models import ShopAccount, WebhookEvent, WebhookEventStatus
from inbox.platforms.base import (
    Credentials,
    MalformedWebhook,
    PlatformAdapter,
    WebhookNotice,
    get_adapter,
)
from inbox.services.aftersales import after_sales_case_sync
from inbox.services.ingestion import (
    BACKFILL_TRUSTS_WEBHOOK,
    ConversationRead,
    conversation_read,
    conversation_sync,
)
from monitoring.audit import audit_record
from scrm.db import insert_sql
from scrm.fields import EncryptedTextField, open_sealed

logger = logging.getLogger(__name__)

# A shop's webhook credentials are read once per process for this long; a notification that
# fails verification with credentials older than KEYS_RECHECK_SECONDS reads them again (a new
# shop account, a rotated secret).
KEYS_TTL_SECONDS = 10.0
KEYS_RECHECK_SECONDS = 1.0
KEYS_MAX_ENTRIES = 10_000  # unknown shop ids are remembered too; bounded against floods
# An event unprocessed this long is queued again by the sweep; until then the backfill leaves its
# conversation to it (2 minutes).
STALE_AFTER = BACKFILL_TRUSTS_WEBHOOK
STALE_WINDOW = timedelta(days=1)
STALE_MAX_ATTEMPTS = 5  # processing attempts before an event that keeps failing is given up


class WebhookRejected(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Receipt:
    event_id: int
    duplicate: bool


# --- the shops' webhook keys -----------------------------------------------------------------
@dataclass(frozen=True)
class _ShopKey:
    shop_account_id: int | None  # None: no active shop account with this platform shop id
    credentials: Credentials | None
    loaded_at: float


class WebhookKeys:
    """Per process: which active shop account a notification's shop id names, and its app
    credentials (decrypted once, not on every delivery)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _ShopKey] = {}
        self._lock = threading.Lock()

    def get(self, platform: str, shop_id: str, *, max_age: float = KEYS_TTL_SECONDS) -> _ShopKey:
        now = time.monotonic()
        entry = self._entries.get((platform, shop_id))
        if entry is not None and now - entry.loaded_at <= max_age:
            return entry
        row = (
            ShopAccount.objects.filter(platform=platform, platform_shop_id=shop_id, is_active=True)
            .values_list("pk", "credentials", "row_uid")
            .first()
        )
        stored = open_sealed(ShopAccount, "credentials", row[1], row[2]) if row else {}
        if row is None:
            entry = _ShopKey(None, None, now)
        elif not (stored or {}).get("app_key"):
            entry = _ShopKey(row[0], None, now)  # never connected: nothing verifies
        else:
            entry = _ShopKey(row[0], Credentials.from_dict(stored), now)
        with self._lock:
            if len(self._entries) >= KEYS_MAX_ENTRIES:
                self._entries.clear()
            self._entries[platform, shop_id] = entry
        return entry

    def forget(self, platform: str, shop_id: str) -> None:
        with self._lock:
            self._entries.pop((platform, shop_id), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


webhook_keys = WebhookKeys()


# --- receiving -------------------------------------------------------------------------------
def webhook_receive(*, platform: str, headers: Mapping[str, str], body: bytes) -> Receipt:
    """Verify and store one webhook, unique on its notification id; queue its processing.

    Raises WebhookRejected (400 malformed, 401 unsigned or unknown shop); nothing is stored then.
    Only what finding the shop's key needs is read before the signature is checked; the rest
    after. A signed notification that names an object by an id no platform uses is stored
    ``failed`` with the reason and never processed: it could never succeed, and retrying it
    would call the platform with a broken URL for a day.
    Processing runs on a worker after this call (in it only when tasks run eagerly: tests).
    """
    adapter = get_adapter(platform)
    try:
        shop_id = adapter.webhook_shop_id(body)
    except MalformedWebhook as exc:
        raise WebhookRejected(400, "malformed_webhook", str(exc)) from None
    key = _verified_key(adapter, shop_id, headers, body)
    try:
        notice = adapter.parse_webhook(body)
    except MalformedWebhook as exc:
        raise WebhookRejected(400, "malformed_webhook", str(exc)) from None
    try:
        event_id, created = _receipt_store(platform, notice, key.shop_account_id, body)
    except IntegrityError:
        # The shop account was deleted since its key was read: read it again, once.
        webhook_keys.forget(platform, notice.shop_id)
        key = _verified_key(adapter, notice.shop_id, headers, body)
        event_id, created = _receipt_store(platform, notice, key.shop_account_id, body)
    if created and notice.problem:
        _warn_failed(event_id, notice.problem)
    elif created:
        from inbox.tasks import queue_webhook_processing

        # After the receipt commits (at once outside a transaction): batched to the workers
        # (Celery's, or the embedded mode's in-process worker).
        transaction.on_commit(lambda: queue_webhook_processing(event_id))
    if notice.kind == "unknown":
        logger.info("webhook type %s from %s stored, not handled", notice.type_code, platform)
    return Receipt(event_id=event_id, duplicate=not created)


def _verified_key(
    adapter: PlatformAdapter, shop_id: str, headers: Mapping[str, str], body: bytes
) -> _ShopKey:
    platform = adapter.name

    def verifies(key: _ShopKey) -> bool:
        return key.credentials is not None and adapter.verify_webhook(
            key.credentials, headers, body
        )

    key = webhook_keys.get(platform, shop_id)
    if not verifies(key):
        key = webhook_keys.get(platform, shop_id, max_age=KEYS_RECHECK_SECONDS)
        if not verifies(key):
            raise WebhookRejected(401, "invalid_signature", "Signature missing or not valid.")
    return key


# The databases whose receipt INSERT (scrm.db.insert_sql) was checked against the values below.
_RECEIPT_CHECKED: set[str] = set()
# The receipt's columns that need the field's own conversion on the way to the database: the
# body (sealed for its row above), the row's uid and the time adapted to the connection; the
# others go as they are (str, int, None), without a model instance (its __init__ and a
# get_db_prep_save per column were a third of the ack path's CPU, measured with
# bench/ingestion.py's receipts).
_CONVERTED = frozenset({"body", "row_uid", "received_at"})


def _BODY_FIELD() -> EncryptedTextField:
    field = WebhookEvent._meta.get_field("body")
    assert isinstance(field, EncryptedTextField)  # noqa: S101 - the model says so
    return field


def _receipt_store(
    platform: str, notice: WebhookNotice, shop_account_id: int | None, body: bytes
) -> tuple[int, bool]:
    """(event id, created): one INSERT … ON CONFLICT DO NOTHING RETURNING id, and a SELECT
    only for a redelivery. PostgreSQL and SQLite (3.35+) both speak it."""
    alias = router.db_for_write(WebhookEvent)
    connection = connections[alias]
    row_uid = uuid.uuid4()
    values: dict[str, Any] = {
        "platform": platform,
        "notification_id": notice.notification_id,
        "shop_account_id": shop_account_id,
        "type_code": notice.type_code,
        "kind": notice.kind,
        "conversation_platform_id": notice.conversation_id,
        "message_platform_id": notice.message_id,
        "return_platform_id": notice.return_id,
        "cancellation_platform_id": notice.cancellation_id,
        "order_platform_id": notice.order_id,
        "row_uid": row_uid,
        "body": _BODY_FIELD().seal(body.decode("utf-8", errors="replace"), row_uid),
        "status": (
            WebhookEventStatus.FAILED if notice.problem else WebhookEventStatus.RECEIVED
        ).value,  # the plain string: a driver may write an enum member by its name
        "error": notice.problem[:300],
        "attempts": 0,
        "received_at": timezone.now(),
        "processed_at": None,
        "requeued_at": None,
    }
    sql, fields = insert_sql(WebhookEvent, "uniq_webhook_notification", alias)
    if alias not in _RECEIPT_CHECKED:
        missing = {f.attname for f in fields} ^ set(values)
        if missing:  # a column added to the model and not here (a test fails on it)
            raise ImproperlyConfigured(f"webhook receipt columns out of step: {sorted(missing)}")
        _RECEIPT_CHECKED.add(alias)
    params = [
        f.get_db_prep_save(values[f.attname], connection)
        if f.attname in _CONVERTED
        else values[f.attname]
        for f in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is not None:
        return int(row[0]), True
    existing = WebhookEvent.objects.filter(
        platform=platform, notification_id=notice.notification_id
    ).values_list("id", flat=True)
    return existing.get(), False


# --- processing: a handler per kind of event ------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    status: str  # WebhookEventStatus.PROCESSED or IGNORED
    reason: str = ""  # why it was ignored: a kind or a state, never a value a sender chose


# Acts on the events of one group (all of one kind's handler, one shop account, the same
# ``group_key``); may raise PlatformError, the events then stay as they were.
Handle = Callable[[ShopAccount, Sequence[WebhookEvent]], Outcome]


@dataclass(frozen=True)
class WebhookHandler:
    handle: Handle
    # Events of a batch with the same key (per shop account and handler) are handled together,
    # in one call; None: each event alone.
    group_key: Callable[[WebhookEvent], str] | None = None


def _conversation_sync_handle(shop: ShopAccount, events: Sequence[WebhookEvent]) -> Outcome:
    # A signal only: the platform's API is the truth for the messages themselves. A new chat
    # is found by its first message (new_message) or by the backfill, never by
    # new_conversation: TikTok sends that one when a customer-service agent joins or leaves a
    # conversation, and it is read here only because the conversation changed.
    conversation_id = events[0].conversation_platform_id
    if not conversation_id:
        return Outcome(WebhookEventStatus.IGNORED, "names no conversation")
    conversation_sync(shop=shop, conversation_id=conversation_id)
    return Outcome(WebhookEventStatus.PROCESSED)


def _deauthorization_handle(shop: ShopAccount, events: Sequence[WebhookEvent]) -> Outcome:
    shop_deauthorize(shop=shop)
    return Outcome(WebhookEventStatus.PROCESSED)


def _after_sales_handle(family: str, column: str) -> Handle:
    def handle(shop: ShopAccount, events: Sequence[WebhookEvent]) -> Outcome:
        # A signal only: the case is re-read from the platform, and a read older than the
        # stored state changes nothing, so duplicates and reorderings end in the latest state.
        case_id = getattr(events[0], column)
        if not case_id:
            return Outcome(WebhookEventStatus.IGNORED, f"names no {family}")
        if after_sales_case_sync(shop=shop, family=family, case_id=case_id) is None:
            return Outcome(WebhookEventStatus.IGNORED, f"{family} not found on the platform")
        return Outcome(WebhookEventStatus.PROCESSED)

    return handle


_CONVERSATION_SYNC = WebhookHandler(
    handle=_conversation_sync_handle, group_key=lambda event: event.conversation_platform_id
)

# Event kind (``WebhookEvent.kind``, our name for the platform's type) -> its handler. A kind
# without one (authorization_expiring until its capability arrives; unknown types) is kept and
# marked ignored with "no handler for <kind>". new_conversation keeps TikTok's name
# (NEW_CONVERSATION, 13) for an agent joining or leaving. The notifications about one return
# (or cancellation) in a batch are handled with one read of it.
WEBHOOK_HANDLERS: dict[str, WebhookHandler] = {
    "new_message": _CONVERSATION_SYNC,
    "new_conversation": _CONVERSATION_SYNC,
    "deauthorization": WebhookHandler(handle=_deauthorization_handle),
    "return_status": WebhookHandler(
        handle=_after_sales_handle("return", "return_platform_id"),
        group_key=lambda event: event.return_platform_id,
    ),
    "cancellation_status": WebhookHandler(
        handle=_after_sales_handle("cancellation", "cancellation_platform_id"),
        group_key=lambda event: event.cancellation_platform_id,
    ),
}


def conversation_sync_kinds() -> list[str]:
    """The event kinds whose processing reads their conversation from the platform."""
    return [kind for kind, handler in WEBHOOK_HANDLERS.items() if handler is _CONVERSATION_SYNC]


def webhook_event_process(*, event_id: int) -> str:
    """Act on one stored webhook (idempotent: a processed event is not processed again)."""
    event = WebhookEvent.objects.select_related("shop_account").get(id=event_id)
    return webhook_event_group_process(events=[event])


def webhook_event_groups(*, event_ids: Sequence[int]) -> list[list[WebhookEvent]]:
    """A batch's events, in arrival order, grouped by their handler's key (the new-message
    and new-conversation events of one conversation together: a buyer's burst of messages is
    read from the platform in one sync, not one per notification); every other event alone.
    Reads the id columns, never the bodies."""
    events = WebhookEvent.objects.select_related("shop_account").filter(id__in=event_ids)
    groups: dict[object, list[WebhookEvent]] = {}
    for event in sorted(events, key=lambda e: e.id):
        key: object = event.id
        handler = WEBHOOK_HANDLERS.get(event.kind)
        if handler is not None and handler.group_key is not None and handler.group_key(event):
            key = (event.shop_account_id, handler.handle, handler.group_key(event))
        groups.setdefault(key, []).append(event)
    return list(groups.values())


def webhook_event_group_process(*, events: Sequence[WebhookEvent]) -> str:
    """Act on stored webhooks about the same thing (one event, or a group from
    ``webhook_event_groups``) through their kind's handler: one platform read for all, then
    each marked with the outcome, and the reason where it is ignored. Idempotent: only
    events still ``received`` are acted on (processed, ignored and failed ones are final).
    Raises PlatformError, events unchanged but for their attempt count."""
    todo = webhook_events_received(events)
    if not todo:
        return events[0].status if events else WebhookEventStatus.PROCESSED
    ids = [e.id for e in todo]
    webhook_events_attempted(event_ids=ids)
    outcome = webhook_event_group_act(events=todo)
    webhook_events_mark(outcomes={outcome: ids})
    return outcome.status


def webhook_events_received(events: Sequence[WebhookEvent]) -> list[WebhookEvent]:
    """The events still to act on (processed, ignored and failed ones are final)."""
    return [e for e in events if e.status == WebhookEventStatus.RECEIVED]


def webhook_events_attempted(*, event_ids: Sequence[int]) -> None:
    """Count one processing attempt of each event, before acting on it: an event whose
    processing keeps failing, or keeps killing its worker, is given up after
    ``STALE_MAX_ATTEMPTS`` (``webhook_events_give_up``). One UPDATE for a whole batch."""
    if event_ids:
        WebhookEvent.objects.filter(id__in=list(event_ids)).update(attempts=F("attempts") + 1)


def webhook_event_group_act(*, events: Sequence[WebhookEvent]) -> Outcome:
    """What ``webhook_event_group_process`` does for ``received`` events of one group,
    without writing their status: the caller marks them (``webhook_events_mark``), a batch's
    groups in one UPDATE. Raises PlatformError (and whatever the handler raises)."""
    first = events[0]
    shop = first.shop_account
    handler = WEBHOOK_HANDLERS.get(first.kind)
    if shop is None or not shop.is_active:
        # Deleted or disconnected since the notification was signed and stored.
        return Outcome(WebhookEventStatus.IGNORED, "shop account deleted or disconnected")
    if handler is None:
        return Outcome(
            WebhookEventStatus.IGNORED, f"no handler for {first.kind} (type {first.type_code})"
        )
    return handler.handle(shop, events)


def webhook_event_group_begin(*, events: Sequence[WebhookEvent]) -> Outcome | ConversationRead:
    """``webhook_event_group_act`` in two halves, so that a batch's conversations are stored
    together (``ingestion.conversations_store``): for a group about a conversation's messages,
    only the platform's read (``ConversationRead``: nothing written; a read that found nothing
    new is the PROCESSED outcome at once); any other group is acted on here, as by
    ``webhook_event_group_act``. Raises what that raises."""
    first = events[0]
    shop = first.shop_account
    handler = WEBHOOK_HANDLERS.get(first.kind)
    if handler is not _CONVERSATION_SYNC or shop is None or not shop.is_active:
        return webhook_event_group_act(events=events)
    conversation_id = first.conversation_platform_id
    if not conversation_id:
        return Outcome(WebhookEventStatus.IGNORED, "names no conversation")
    read = conversation_read(shop=shop, conversation_id=conversation_id)
    return read if read.fresh else Outcome(WebhookEventStatus.PROCESSED)


def webhook_events_mark(*, outcomes: Mapping[Outcome, Sequence[int]]) -> None:
    """Write each outcome on its events (processed or ignored, with the reason): one UPDATE
    per distinct outcome, whatever the number of groups. Only events still ``received`` are
    written: one failed meanwhile stays failed."""
    now = timezone.now()
    for outcome, ids in outcomes.items():
        if ids:
            WebhookEvent.objects.filter(
                id__in=list(ids), status=WebhookEventStatus.RECEIVED
            ).update(status=outcome.status, processed_at=now, error=outcome.reason[:300])


def _warn_failed(event_id: int, reason: str) -> None:
    # The reason names a field or an error class, never a value: no personal data, no ids a
    # sender chose.
    logger.warning("webhook event %s failed for good: %s", event_id, reason)


def webhook_event_failed(*, event_id: int, reason: str) -> None:
    """Mark an event failed for good (visible, with its reason; never picked up again)."""
    WebhookEvent.objects.filter(id=event_id).update(
        status=WebhookEventStatus.FAILED, error=reason[:300]
    )
    _warn_failed(event_id, reason)


def webhook_events_give_up(*, max_attempts: int = STALE_MAX_ATTEMPTS) -> int:
    """Events still ``received`` after ``max_attempts`` processing attempts (each failed with
    an error no handler recognised) are marked failed, so the stale sweep stops retrying them;
    returns how many."""
    ids = list(
        WebhookEvent.objects.filter(
            status=WebhookEventStatus.RECEIVED, attempts__gte=max_attempts
        ).values_list("id", flat=True)[:500]
    )
    for event_id in ids:
        webhook_event_failed(event_id=event_id, reason=f"gave up after {max_attempts} attempts")
    return len(ids)


def webhook_events_requeue_release(*, event_ids: Sequence[int]) -> None:
    """Give claims back (the broker refused the batch): the next sweep queues them."""
    WebhookEvent.objects.filter(id__in=list(event_ids)).update(requeued_at=None)


def webhook_requeue_lease() -> timedelta:
    """How long an event queued again by the stale sweep is left to that task before the sweep
    queues it once more (its task lost too, or still behind a backlog that long)."""
    return timedelta(seconds=settings.SCRM_WEBHOOK_REQUEUE_SECONDS)


def webhook_events_stale_claim(*, limit: int = 500, now: datetime | None = None) -> list[int]:
    """Events still ``received`` minutes after they arrived (their task was lost: the broker
    was down, or the process died between the ack and the queueing), oldest first, each claimed
    for one lease (``requeued_at``) so that the caller queues it once: under a backlog an
    event's task may simply not have run yet, and queueing it again every minute added work
    exactly when the workers were behind (bench/soak). Two sweeps never claim the same event.
    Events older than a day are left to the backfill, and events tried STALE_MAX_ATTEMPTS times
    to ``webhook_events_give_up``."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            WebhookEvent.objects.filter(
                Q(requeued_at=None) | Q(requeued_at__lt=now - webhook_requeue_lease()),
                status=WebhookEventStatus.RECEIVED,
                attempts__lt=STALE_MAX_ATTEMPTS,
                received_at__lt=now - STALE_AFTER,
                received_at__gte=now - STALE_WINDOW,
            )
            .order_by("status", "received_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            WebhookEvent.objects.filter(id__in=ids).update(requeued_at=now)
    return ids


@transaction.atomic
def shop_deauthorize(*, shop: ShopAccount) -> None:
    """The seller revoked our access: stop syncing the shop, keep its data."""
    ShopAccount.objects.filter(pk=shop.pk).update(is_active=False)
    webhook_keys.forget(shop.platform, shop.platform_shop_id)
    audit_record(
        organisation_id=shop.organisation_id,
        actor=None,
        action="shop_account.deauthorized",
        target=shop,
        data={"platform": shop.platform},
    )
