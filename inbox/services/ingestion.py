"""Inbound: webhooks and the periodic backfill, storing every platform message exactly once.

Invariants kept here:
- a message is stored once per (shop account, platform message id), whatever duplicates,
  reorderings or replays arrive: the conversation row is locked while its messages are written;
- a lost webhook costs a delay, never a message: ``shop_backfill`` reads each sync stream
  (messages: the platform's conversations, newest first) from its own cursor and fetches
  whatever it has not stored;
- the timeline is ordered by the platform's create time, never by arrival.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Count, Exists, Max, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from inbox.events import CONVERSATION_UPDATED, MESSAGE_CREATED, MESSAGE_UPDATED
from inbox.hooks import PLATFORM_ROLES, ROBOT_ROLES, MessagesStored, messages_stored
from inbox.models import (
    Conversation,
    Customer,
    DeliveryState,
    Direction,
    Message,
    OutboxAction,
    OutboxAttempt,
    OutboxState,
    ShopAccount,
    SyncCursor,
    SyncStream,
    WebhookEvent,
    WebhookEventStatus,
)
from inbox.payloads import conversation_payload, message_payload
from inbox.platforms.base import (
    AuthExpired,
    Credentials,
    Participant,
    PlatformConversation,
    PlatformError,
    PlatformMessage,
    ShopApi,
    get_adapter,
)
from inbox.selectors.accounts import shop_connected
from inbox.selectors.conversations import tag_names_of
from inbox.services.conversation_state import (
    HUMAN_ROLES,
    StateChange,
    Trigger,
    conversation_transition,
    conversation_writes_gathered,
)
from inbox.services.events import conversation_events_publish
from inbox.services.search_tokens import customer_tokens_write, message_tokens_write
from scrm.blind import org_index_for
from scrm.compiled import instances_compiled, padded_text, read_compiled
from scrm.db import insert_rows, insert_unless_conflict, writes_deferred
from scrm.events import events_gathered

logger = logging.getLogger(__name__)

MAX_MESSAGE_PAGES = 50  # 500 messages back per conversation sync
MAX_CONVERSATION_PAGES = 100  # 2,000 conversations per backfill run
BACKFILL_SLACK = timedelta(minutes=10)  # re-read this far behind the high-water mark
# A conversation with a webhook received this recently whose processing has not begun is left to
# that webhook by the backfill (its task reads the conversation anyway). Past it the webhook is
# overdue (its task lost with a killed worker, or far behind): the stale-webhook sweep queues it
# again (inbox/services/webhooks.py uses this as its STALE_AFTER) and the backfill reads the
# conversation itself, as for a webhook never received.
BACKFILL_TRUSTS_WEBHOOK = timedelta(minutes=2)
# A shop with a webhook waiting longer than this for its first processing attempt is one the
# workers are behind on: the periodic backfill leaves its streams for later (backfill_resting).
# Well above the lag of workers keeping up (under a second), so a busy shop is not held back.
BACKFILL_BEHIND_AFTER = timedelta(seconds=30)
ADOPT_CLOCK_SKEW = timedelta(minutes=2)  # our clock against the platform's


# --- connections -----------------------------------------------------------------------------
class ShopTokenKeeper:
    """A shop's tokens in the database; the refresh lock is its row lock (a transaction held
    for one token call, about once a week per shop). FOR NO KEY UPDATE: refreshes take turns
    while the shop's messages and conversations (FOR KEY SHARE on it) are stored meanwhile."""

    def __init__(self, shop_id: int) -> None:
        self.shop_id = shop_id

    def load(self) -> Credentials:
        shop = ShopAccount.objects.only("credentials", "row_uid").get(pk=self.shop_id)
        return Credentials.from_dict(shop.credentials)

    @contextmanager
    def lock(self) -> Iterator[None]:
        with transaction.atomic():
            ShopAccount.objects.select_for_update(no_key=True).filter(pk=self.shop_id).exists()
            yield


def shop_api(shop: ShopAccount) -> ShopApi:
    """A connection to the shop's platform that persists refreshed tokens (encrypted) and
    coordinates refreshes with other workers."""

    def save_tokens(credentials: Credentials) -> None:
        shop.credentials = credentials.to_dict()
        shop.save(update_fields=["credentials"])

    if not shop_connected(shop):
        # A shop account made by hand and never connected: nothing to call the platform with.
        raise AuthExpired("the shop account is not connected to its platform")
    adapter = get_adapter(shop.platform)
    return adapter.connect(
        Credentials.from_dict(shop.credentials),
        on_tokens_refreshed=save_tokens,
        token_keeper=ShopTokenKeeper(shop.pk),
    )


# The hot path's reads, compiled once per process (``scrm.compiled``): the same rows as these
# querysets, without building them for every event.
def _synced_ids(shop_id: int, platform_ids: list[str]) -> QuerySet[Any]:
    return Message.objects.filter(
        shop_account_id=shop_id, platform_message_id__in=platform_ids, synced=True
    ).values_list("platform_message_id")


# What the first page's read returns, beside the synced ids, when the conversation is stored:
# no platform id is this (an id is never empty, and this one starts with a control character).
_CONVERSATION_STORED = "\x1econversation"


def _synced_ids_and_conversation(
    shop_id: int, platform_ids: list[str], conversation_id: str
) -> QuerySet[Any]:
    # The synced ids, and one row more when the conversation is stored (the marker and its
    # id): a sync that finds it missing does not look for it again under the lock
    # (messages_store's ``absent``), and a batch locks the stored ones in id order.
    return _synced_ids(shop_id, platform_ids).union(
        Conversation.objects.filter(
            shop_account_id=shop_id, platform_conversation_id=conversation_id
        ).values_list(
            Concat(
                Value(_CONVERSATION_STORED, output_field=CharField()),
                Cast("id", output_field=CharField()),
                output_field=CharField(),
            )
        ),
        all=True,
    )


def _stored_ids(shop_id: int, platform_ids: list[str]) -> QuerySet[Any]:
    return Message.objects.filter(
        shop_account_id=shop_id, platform_message_id__in=platform_ids
    ).values_list("platform_message_id", "synced")


def _conversation_locked(shop_id: int, platform_id: str) -> QuerySet[Conversation]:
    # One row at most (unique per shop); its row locked, its buyer's not.
    return Conversation.objects.select_for_update(of=("self",)).filter(
        shop_account_id=shop_id, platform_conversation_id=platform_id
    )


def _last_visible(conversation_id: int) -> QuerySet[Message]:
    # The timeline's order: platform time, then the platform's index, then our id.
    return Message.objects.filter(conversation_id=conversation_id, is_visible=True).order_by(
        "-sent_at", "-platform_index", "-id"
    )[:1]


def _customer_by_key(organisation_id: int, platform: str, im_user_id: str) -> QuerySet[Customer]:
    return Customer.objects.filter(
        organisation_id=organisation_id, platform=platform, im_user_id=im_user_id
    )


# --- conversation sync -----------------------------------------------------------------------
@dataclass(frozen=True)
class ConversationRead:
    """What a sync read of one conversation found, before anything is stored: its messages
    not stored yet (``fresh``, newest first as read), whether the conversation itself was
    absent (``messages_store``'s ``absent``) and, if stored, its id (``pk``)."""

    shop: ShopAccount
    conversation_id: str
    fresh: list[PlatformMessage]
    absent: bool
    pk: int | None = None


def conversation_read(
    *, shop: ShopAccount, conversation_id: str, api: ShopApi | None = None
) -> ConversationRead:
    """Fetch a conversation's messages newest first until one already stored (the platform's
    reads and ours; nothing written, no transaction held while the platform answers)."""
    api = api or shop_api(shop)
    fresh: list[PlatformMessage] = []
    token = ""
    absent = False
    stored_pk: int | None = None
    for _ in range(MAX_MESSAGE_PAGES):
        page = api.list_messages(conversation_id, page_token=token, newest_first=True)
        ids = padded_text([m.message_id for m in page.items])
        if not token:  # the first page's read also says whether the conversation is stored
            rows = read_compiled(
                "ingestion.synced_first",
                _synced_ids_and_conversation,
                shop.pk,
                ids,
                conversation_id,
            )
        else:
            # Read even when the conversation is not stored: an erased buyer's old messages
            # keep their platform ids under a tombstoned conversation, and the buyer's next
            # messages come in the same platform conversation (the paging stops at them).
            rows = read_compiled("ingestion.synced", _synced_ids, shop.pk, ids)
        known = {platform_id for (platform_id,) in rows}
        if not token:
            marker = next((k for k in known if k.startswith(_CONVERSATION_STORED)), None)
            absent = marker is None
            if marker is not None:
                known.discard(marker)
                stored_pk = int(marker[len(_CONVERSATION_STORED) :])
        fresh.extend(m for m in page.items if m.message_id not in known)
        if known or not page.has_more:
            break
        token = page.next_page_token
    return ConversationRead(shop, conversation_id, fresh, absent, stored_pk)


def conversation_sync(
    *,
    shop: ShopAccount,
    conversation_id: str,
    hint: PlatformConversation | None = None,
    api: ShopApi | None = None,
) -> int:
    """Fetch a conversation's messages newest first until one already stored; store the rest.

    Returns how many messages were new.
    """
    read = conversation_read(shop=shop, conversation_id=conversation_id, api=api)
    if not read.fresh and hint is None:
        return 0
    return messages_store(
        shop=shop,
        conversation_id=conversation_id,
        messages=read.fresh,
        hint=hint,
        absent=read.absent,
    )


def conversations_store(reads: Sequence[ConversationRead]) -> int:
    """Store several conversations' reads in one transaction (a webhook task's conversations:
    ``inbox.tasks.process_webhook_events``); returns how many messages were new.

    Each conversation is stored as ``messages_store`` stores it alone, under its row's lock:
    the stored ones first, in id order (the order every other writer of several conversations
    locks them in: bulk actions, the SLA recompute), then the new ones, in (shop account,
    platform conversation id) order, so that a new conversation's auto-assignment takes its
    shop's lock after the stored ones' locks (a later new conversation of the run is inserted
    while it is held). What one transaction saves a conversation: its BEGIN and COMMIT, its
    events' feed INSERT and push (one of each for all: the events go
    in the order stored), and the writes nothing reads back (search tokens, the conversation's
    UPDATE) ride with the next conversation's statements. The platform was read before
    (``conversation_read``): no lock is held while it answers.

    Keeps: all or nothing — any conversation failing (a deadlock with another transaction
    included) rolls every one back and raises; the caller stores them again one by one.
    """
    stored = 0
    with transaction.atomic(), writes_deferred(), events_gathered():
        for read in sorted(reads, key=_lock_order):
            if read.fresh:
                # Inside the run's gathering and deferral: as messages_store, without the
                # savepoint its own atomic would open here.
                stored += _messages_store(
                    read.shop, read.conversation_id, read.fresh, None, read.absent
                )
    return stored


def _lock_order(read: ConversationRead) -> tuple[int, int, str]:
    if read.pk is not None:
        return (0, read.pk, "")
    return (1, read.shop.pk, read.conversation_id)


@transaction.atomic
def messages_store(
    *,
    shop: ShopAccount,
    conversation_id: str,
    messages: Iterable[PlatformMessage],
    hint: PlatformConversation | None = None,
    absent: bool = False,
) -> int:
    """Upsert the conversation and insert messages not yet stored, under the conversation lock.

    ``absent``: a read just before found no such conversation, so it is inserted without being
    looked for first (one made meanwhile by another sync is found by the insert's conflict,
    then locked and read, as when the lock read finds nothing).

    Outbound messages that match a reply of ours still being delivered adopt that reply's row
    instead of creating a second one.

    The events of the store (the messages', the conversation's, the SLA tracker's deadline)
    are recorded in one feed INSERT and pushed in one call after commit (``events_gathered``);
    the writes nothing in it reads back (search tokens, the metrics' day marks, the
    conversation's gathered UPDATE) go in the same round trip as that INSERT
    (``writes_deferred``, PostgreSQL).
    """
    with writes_deferred(), events_gathered():
        return _messages_store(shop, conversation_id, messages, hint, absent)


def _messages_store(
    shop: ShopAccount,
    conversation_id: str,
    messages: Iterable[PlatformMessage],
    hint: PlatformConversation | None,
    absent: bool,
) -> int:
    batch = sorted(messages, key=lambda m: (m.create_time, m.index, m.message_id))
    conversation, created = _conversation_upsert(shop, conversation_id, batch, hint, absent)
    ids = [m.message_id for m in batch]
    # A conversation created just now has no messages yet (each belongs to its conversation).
    stored: dict[str | None, bool] = (
        {}
        if created
        else dict(read_compiled("ingestion.stored", _stored_ids, shop.pk, padded_text(ids)))
    )
    known = set(stored)
    # Our own replies, now seen in the platform's listing: take its time and index, so the
    # timeline is the platform's order.
    for pm in batch:
        if stored.get(pm.message_id) is False:
            Message.objects.filter(shop_account=shop, platform_message_id=pm.message_id).update(
                synced=True, sent_at=pm.create_time, platform_index=pm.index
            )
    new_rows: list[Message] = []
    updated_rows: list[Message] = []
    for pm in batch:
        if pm.message_id in known:
            continue
        known.add(pm.message_id)
        direction = Direction.INBOUND if pm.sender.role == "BUYER" else Direction.OUTBOUND
        if direction == Direction.OUTBOUND:
            adopted = _adopt_pending_reply(conversation, pm)
            if adopted is not None:
                updated_rows.append(adopted)
                continue
        new_rows.append(
            Message(
                conversation=conversation,
                shop_account=shop,
                platform_message_id=pm.message_id,
                direction=direction,
                sender_role=pm.sender.role,
                type=pm.type,
                text=message_text(pm.type, pm.content),
                content=pm.content,
                is_visible=pm.is_visible,
                sent_at=pm.create_time,
                platform_index=pm.index,
                delivery_state=DeliveryState.RECEIVED,
            )
        )
    insert_rows(new_rows)  # one INSERT; ids back in order (PostgreSQL, SQLite)
    message_tokens_write(new_rows, org_index_for(shop.organisation_id))
    inbound = [m for m in new_rows if m.direction == Direction.INBOUND and m.is_visible]
    # The display fields from the batch itself when it holds what they depend on: a new
    # conversation's messages, or messages all newer than the conversation's last (a message read
    # fewer, and the wait's two); stored rows whose times changed (re-synced or adopted replies)
    # make it read them again.
    resynced = updated_rows or any(flag is False for flag in stored.values())
    robot = [m.sent_at for m in new_rows if m.sender_role in ROBOT_ROLES and m.is_visible]
    system = [m for m in new_rows if m.sender_role in PLATFORM_ROLES and m.is_visible]
    # The refresh's write and the SLA tracker's due key in one UPDATE of the conversation.
    with conversation_writes_gathered(conversation):
        change = conversation_refresh(
            conversation,
            new_inbound=len(inbound),
            hint=hint,
            batch=None if resynced else new_rows,
            batch_is_whole=created,
        )
        if inbound or robot or system:
            messages_stored.emit(
                MessagesStored(
                    conversation=conversation,
                    change=change,
                    buyer_times=tuple(m.sent_at for m in inbound),
                    robot_times=tuple(robot),
                    buyer_messages=tuple(inbound),
                    platform_messages=tuple(system),
                )
            )
    if created:
        from inbox.services.assignment import conversation_auto_assign

        conversation_auto_assign(conversation=conversation)
    # The batch's events in one feed INSERT and one push after commit, in this order.
    events = [(MESSAGE_CREATED, message_payload(row)) for row in new_rows if row.is_visible]
    events += [(MESSAGE_UPDATED, message_payload(row)) for row in updated_rows]
    if new_rows or updated_rows or created:
        if getattr(conversation, "tag_names", None) is None:
            # Made in this transaction, a conversation is linked to no tag yet (nothing tags
            # a chat while its first messages are stored: the rules tag through cases): the
            # payload reads none. Else its names in one compiled read, not the manager's.
            conversation.tag_names = (  # type: ignore[attr-defined]  # (conversation_payload)
                [] if created else tag_names_of([conversation.pk]).get(conversation.pk, [])
            )
        events.append((CONVERSATION_UPDATED, conversation_payload(conversation)))
    conversation_events_publish(conversation, events)
    return len(new_rows)


def message_text(type_: str, content: dict) -> str:
    """The searchable text of a message (TEXT and the text-like system types)."""
    value = content.get("content") if isinstance(content, dict) else None
    return value if isinstance(value, str) else ""


def _adopt_pending_reply(conversation: Conversation, pm: PlatformMessage) -> Message | None:
    """Our own reply seen on the platform before its delivery was marked: take its id.

    Only a reply that a delivery attempt had started before the platform's message appeared can
    be it (same type and content); a pending reply never tried, or a message typed in Seller
    Center with the same words, is not adopted.
    """
    if pm.sender.role not in HUMAN_ROLES:
        return None
    text = message_text(pm.type, pm.content)
    candidates = (
        Message.objects.select_for_update(of=("self",))
        .filter(
            conversation=conversation,
            direction=Direction.OUTBOUND,
            platform_message_id__isnull=True,
            delivery_state__in=[
                DeliveryState.PENDING,
                DeliveryState.SENDING,
                DeliveryState.FAILED,
            ],
            type=pm.type,
        )
        .filter(
            # a reply whose outbox attempt had begun by then (EXISTS, not a join + DISTINCT:
            # PostgreSQL refuses FOR UPDATE with DISTINCT)
            Exists(
                OutboxAttempt.objects.filter(
                    action__message_id=OuterRef("pk"),
                    started_at__lte=pm.create_time + ADOPT_CLOCK_SKEW,
                )
            )
        )
    )
    for candidate in candidates.order_by("id"):
        if (pm.type == "TEXT" and candidate.text == text) or (
            pm.type != "TEXT" and candidate.content == pm.content
        ):
            candidate.platform_message_id = pm.message_id
            candidate.delivery_state = DeliveryState.SENT
            candidate.failure_reason = ""
            candidate.sent_at = pm.create_time
            candidate.platform_index = pm.index
            candidate.synced = True
            candidate.save()
            # A reply given up as failed that the platform had accepted after all: its outbox
            # action says so too (an open one closes itself when its task next looks).
            OutboxAction.objects.filter(message_id=candidate.id, state=OutboxState.FAILED).update(
                state=OutboxState.SENT,
                result=pm.message_id[:128],
                failure_reason="",
                next_attempt_at=None,
                updated_at=timezone.now(),
            )
            return candidate
    return None


def _buyer_from(
    batch: list[PlatformMessage], hint: PlatformConversation | None
) -> Participant | None:
    if hint is not None and hint.buyer is not None:
        return hint.buyer
    for pm in batch:
        if pm.sender.role == "BUYER":
            return pm.sender
    return None


def customer_upsert(*, organisation_id: int, platform: str, buyer: Participant) -> Customer:
    """The buyer, created on first contact; name and avatar kept current (encrypted)."""
    index = org_index_for(organisation_id)
    name_index = index.exact(buyer.nickname, purpose="customer.name")
    defaults = {
        "platform_user_id": buyer.user_id,
        "display_name": buyer.nickname,
        "avatar_url": buyer.avatar,
        "name_index": name_index if buyer.nickname else "",
    }
    key = {"organisation_id": organisation_id, "platform": platform, "im_user_id": buyer.im_user_id}
    # Inserted first (one INSERT … ON CONFLICT DO NOTHING, no savepoint): it is called for a
    # new conversation, most often a new buyer, who then costs one round trip, not a read and
    # an insert; a buyer already stored (another shop's, or a concurrent sync's) is read after
    # the insert found them. The insert waits for a transaction writing that buyer's row (a
    # profile edit, a merge) to end, where a read would not: a short wait, for a row that
    # changes rarely.
    customer = Customer(**key, **defaults)
    created = False
    for _ in range(2):  # again if the buyer the insert met was erased (re-keyed) meanwhile
        created = insert_unless_conflict(customer, constraint="uniq_customer")
        if created:
            break
        found = instances_compiled(
            "ingestion.customer",
            Customer,
            _customer_by_key,
            organisation_id,
            platform,
            buyer.im_user_id,
        )
        if found:
            customer = found[0]
            break
    else:
        raise Customer.DoesNotExist("the buyer the insert met is gone")
    changed: list[str] = []
    if not created:
        if buyer.nickname and customer.name_index != name_index:
            customer.display_name, customer.name_index = buyer.nickname, name_index
            changed += ["display_name", "name_index"]
        if buyer.user_id and customer.platform_user_id != buyer.user_id:
            customer.platform_user_id = buyer.user_id
            changed.append("platform_user_id")
        if changed:
            customer.save(update_fields=changed)
    if created or "name_index" in changed:
        customer_tokens_write(customer, index, new=created)
    return customer


def _conversation_upsert(
    shop: ShopAccount,
    conversation_id: str,
    batch: list[PlatformMessage],
    hint: PlatformConversation | None,
    absent: bool,
) -> tuple[Conversation, bool]:
    if not absent:
        conversation = _conversation_stored(shop, conversation_id, hint)
        if conversation is not None:
            return conversation, False
    buyer = _buyer_from(batch, hint) or Participant(
        role="BUYER", im_user_id=f"unknown:{conversation_id}"
    )
    customer = customer_upsert(
        organisation_id=shop.organisation_id, platform=shop.platform, buyer=buyer
    )
    conversation = Conversation(
        organisation_id=shop.organisation_id,
        shop_account=shop,
        customer=customer,
        platform_conversation_id=conversation_id,
        can_send_message=hint.can_send_message if hint else True,
    )
    if insert_unless_conflict(conversation, constraint="uniq_conversation"):
        return conversation, True
    # Created by a concurrent sync (its insert waited for theirs to commit): lock theirs.
    stored = _conversation_stored(shop, conversation_id, hint)
    if stored is None:
        raise Conversation.DoesNotExist("the conflicting conversation is gone")
    return stored, False


def _conversation_stored(
    shop: ShopAccount, conversation_id: str, hint: PlatformConversation | None
) -> Conversation | None:
    """The stored conversation, its row locked, with its buyer (the change feed's row shows
    their name; unlocked); None when there is none."""
    found = instances_compiled(
        "ingestion.conversation_locked",
        Conversation,
        _conversation_locked,
        shop.pk,
        conversation_id,
        related=("customer",),
    )
    if not found:
        return None
    conversation = found[0]
    conversation.shop_account = shop  # the same row: its readers need no query of their own
    if hint is not None and hint.can_send_message != conversation.can_send_message:
        conversation.can_send_message = hint.can_send_message
        conversation.save(update_fields=["can_send_message"])
    return conversation


def conversation_refresh(
    conversation: Conversation,
    *,
    new_inbound: int = 0,
    hint: PlatformConversation | None = None,
    batch: Sequence[Message] | None = None,
    batch_is_whole: bool = False,
) -> StateChange:
    """Recompute the queue's display fields from the stored messages (call under the
    conversation lock), and let the state service recompute the wait: new buyer messages
    (``new_inbound``) may reopen a resolved or snoozed conversation
    (``conversation_state.TRANSITIONS``). One UPDATE for all of it.

    ``batch``: the messages just inserted. The fields are then taken from it when that gives
    what the read would: the batch is all the conversation has (``batch_is_whole``: it was
    created with them; nothing is read), or each of its visible messages is newer than the
    conversation's last message (whose buyer time the last refresh left exact; the last
    message itself is still read, as a reply of ours submitted since may be newer); the wait
    is then computed from it too (``conversation_transition``'s ``newer_messages``).
    """
    from_batch = batch is not None and _display_from_batch(
        conversation, batch, whole=batch_is_whole
    )
    if not from_batch:
        messages = Message.objects.filter(conversation=conversation, is_visible=True)
        conversation.last_buyer_message_at = messages.filter(direction=Direction.INBOUND).aggregate(
            t=Max("sent_at")
        )["t"]
        _last_message_read(conversation)
    conversation.unread_count += new_inbound
    return conversation_transition(
        conversation=conversation,
        trigger=Trigger.BUYER_MESSAGE if new_inbound else Trigger.MESSAGES_CHANGED,
        save_also=(
            "last_buyer_message_at",
            "last_message_at",
            "last_message_preview",
            "unread_count",
        ),
        newer_messages=batch if from_batch else None,
        newer_are_all=from_batch and batch_is_whole,
    )


def _last_message_show(conversation: Conversation, last: Message) -> None:
    conversation.last_message_at = last.sent_at
    conversation.last_message_preview = (last.text or f"[{last.type}]")[:200]


def _last_message_read(conversation: Conversation) -> None:
    """Show the conversation's last visible message in the timeline's order (none: unchanged);
    its statement compiled once (a message of a known conversation reads it)."""
    found = instances_compiled("ingestion.last_visible", Message, _last_visible, conversation.pk)
    if found:
        _last_message_show(conversation, found[0])


def _display_from_batch(
    conversation: Conversation, batch: Sequence[Message], *, whole: bool
) -> bool:
    """Set the display fields from ``batch`` if it decides them (see ``conversation_refresh``);
    False, changing nothing, when the messages must be read."""
    visible = [m for m in batch if m.is_visible]
    if not whole:
        newest_known = conversation.last_message_at
        if newest_known is None or any(m.sent_at <= newest_known for m in visible):
            return False
        # The last message is still read: our replies are stored visible, timed when submitted,
        # before anything refreshes the conversation (message_send), so one may be newer than
        # the batch. Buyer messages and answers that count are all before last_message_at.
        _last_message_read(conversation)
    elif visible:
        # The timeline's order: platform time, then the platform's index, then our id.
        _last_message_show(
            conversation, max(visible, key=lambda m: (m.sent_at, m.platform_index, m.pk))
        )
    buyer_times = [m.sent_at for m in visible if m.direction == Direction.INBOUND]
    if whole:
        conversation.last_buyer_message_at = max(buyer_times, default=None)
    elif buyer_times:
        known = conversation.last_buyer_message_at
        conversation.last_buyer_message_at = max([*buyer_times, *([known] if known else [])])
    return True


# --- backfill: one cursor per (shop account, stream) -----------------------------------------
def _sync_one(shop: ShopAccount, pc: PlatformConversation, api: ShopApi) -> int:
    """One conversation of a backfill; a conversation the platform refuses for good (not a
    passing error) is logged and skipped so the others are still read."""
    try:
        return conversation_sync(shop=shop, conversation_id=pc.conversation_id, hint=pc, api=api)
    except PlatformError as exc:
        if exc.retryable:
            raise
        logger.warning("backfill of shop %s skipped a conversation: code %s", shop.pk, exc.code)
        return 0


@dataclass(frozen=True)
class StreamRun:
    """What one backfill run of a stream did: how many new rows it stored, and the newest
    platform time it saw (None if none), which becomes the stream's mark if the run was
    ``complete`` (a run cut short by its page limit keeps the mark, so the next reads on)."""

    stored: int
    newest: datetime | None
    complete: bool


# Reads one stream of a shop from its mark (None: never run) and stores what is missing.
StreamReader = Callable[[ShopAccount, ShopApi, datetime | None], StreamRun]


def _messages_read(shop: ShopAccount, api: ShopApi, high_water: datetime | None) -> StreamRun:
    """The messages stream: page the shop's conversations newest first and sync each whose
    latest message is not stored; stop at the first page whose conversations are all stored
    and older than the mark (minus a slack), so a steady-state run reads one page.

    A conversation whose latest message is missing but which has a webhook received in the
    last ``BACKFILL_TRUSTS_WEBHOOK`` whose processing has not begun is left to that webhook: its
    processing reads the conversation's new messages anyway, and under a backlog the backfill
    storing them first doubled the platform reads and the stores (the soak at 100 messages/s:
    a fifth of the workers' time). Such a run's mark stays at the oldest message it left, so
    the next run looks again and syncs what is still missing then. It is quiet if it stored
    nothing (``stream_backfill``): those webhooks are stored events the stale sweep queues
    again if their task is lost, and reading the stream at every tick for them doubled the
    work while the workers were behind."""
    newest = high_water
    new_messages = 0
    left: list[datetime] = []
    token = ""
    for _ in range(MAX_CONVERSATION_PAGES):
        page = api.list_conversations(page_token=token)
        latest_ids = [c.latest_message.message_id for c in page.items if c.latest_message]
        stored = set(
            Message.objects.filter(
                shop_account=shop, platform_message_id__in=latest_ids, synced=True
            ).values_list("platform_message_id", flat=True)
        )
        awaited = _conversations_awaiting_webhook(
            shop,
            [
                c.conversation_id
                for c in page.items
                if c.latest_message and c.latest_message.message_id not in stored
            ],
        )
        all_behind = True
        for pc in page.items:
            lm = pc.latest_message
            if lm is None:
                continue  # nothing to read yet
            if newest is None or lm.create_time > newest:
                newest = lm.create_time
            if lm.message_id not in stored:
                if pc.conversation_id in awaited:
                    left.append(lm.create_time)
                else:
                    new_messages += _sync_one(shop, pc, api)
            if high_water is None or lm.create_time >= high_water - BACKFILL_SLACK:
                all_behind = False
        if all_behind or not page.has_more:
            if left and newest is not None:
                newest = min(newest, *left)
            return StreamRun(stored=new_messages, newest=newest, complete=True)
        token = page.next_page_token
    return StreamRun(stored=new_messages, newest=newest, complete=False)


def _conversations_awaiting_webhook(shop: ShopAccount, conversation_ids: list[str]) -> set[str]:
    """Those of ``conversation_ids`` (the shop's) with a webhook received in the last
    ``BACKFILL_TRUSTS_WEBHOOK`` whose processing has not begun (no attempt counted: its read of
    the platform is still to come, so it will see the message the backfill found missing), of
    a kind whose processing syncs the conversation."""
    if not conversation_ids:
        return set()
    from inbox.services.webhooks import conversation_sync_kinds

    return set(
        WebhookEvent.objects.filter(
            shop_account=shop,
            conversation_platform_id__in=conversation_ids,
            status=WebhookEventStatus.RECEIVED,
            attempts=0,
            kind__in=conversation_sync_kinds(),
            received_at__gte=timezone.now() - BACKFILL_TRUSTS_WEBHOOK,
        )
        .exclude(conversation_platform_id="")  # the partial index's condition
        .values_list("conversation_platform_id", flat=True)
    )


def _returns_read(shop: ShopAccount, api: ShopApi, high_water: datetime | None) -> StreamRun:
    from inbox.services.aftersales import after_sales_stream_read

    return after_sales_stream_read(shop, api, high_water, family="return")


def _cancellations_read(shop: ShopAccount, api: ShopApi, high_water: datetime | None) -> StreamRun:
    from inbox.services.aftersales import after_sales_stream_read

    return after_sales_stream_read(shop, api, high_water, family="cancellation")


# The streams a backfill reads, each from its own cursor, in this order (after-sales in
# inbox/services/aftersales.py, which imports this module).
SYNC_STREAM_READERS: dict[str, StreamReader] = {
    SyncStream.MESSAGES: _messages_read,
    SyncStream.RETURNS: _returns_read,
    SyncStream.CANCELLATIONS: _cancellations_read,
}


def stream_backfill(*, shop: ShopAccount, stream: str, api: ShopApi | None = None) -> int:
    """Read one stream of a shop from its own cursor and store whatever is missing; returns
    how many new rows it stored.

    Keeps: each (shop account, stream) has one cursor, moved only by that stream's runs; a
    failed run records its error class (no personal data) on that cursor, keeps the mark and
    raises; a run cut short by its page limit keeps the mark and says so.
    """
    reader = SYNC_STREAM_READERS[stream]
    cursor, _ = SyncCursor.objects.get_or_create(shop_account=shop, stream=stream)
    try:
        run = reader(shop, api or shop_api(shop), cursor.high_water)
    except Exception as exc:
        SyncCursor.objects.filter(pk=cursor.pk).update(
            last_run_at=timezone.now(),
            last_error=type(exc).__name__,
            quiet_runs=0,
            next_run_at=None,
        )
        raise
    quiet = cursor.quiet_runs + 1 if run.complete and not run.stored else 0
    now = timezone.now()
    SyncCursor.objects.filter(pk=cursor.pk).update(
        high_water=run.newest if run.complete else cursor.high_water,
        last_run_at=now,
        last_error="" if run.complete else "page limit reached",
        quiet_runs=min(quiet, QUIET_RUNS_KEPT),
        next_run_at=backfill_next_run(
            now=now, quiet_runs=quiet, shop_account_id=shop.pk, stream=stream
        ),
    )
    return run.stored


QUIET_RUNS_KEPT = 30  # enough for any cap: 2**30 ticks


def backfill_tick() -> timedelta:
    """How often the periodic backfill runs (``SCRM_PERIODIC_TASKS``)."""
    return timedelta(seconds=settings.SCRM_PERIODIC_TASKS.get("inbox.tasks.backfill_all_shops", 60))


def backfill_rest_longest() -> timedelta:
    """The longest a quiet stream rests: ``SCRM_BACKFILL_QUIET_MAX_SECONDS``, never less than
    the tick."""
    return max(backfill_tick(), timedelta(seconds=settings.SCRM_BACKFILL_QUIET_MAX_SECONDS))


def backfill_wait(quiet_runs: int) -> timedelta:
    """How long after a run its stream is read again: the tick's period after a run that found
    something (``quiet_runs`` 0), doubling with each quiet run in a row, at most
    ``backfill_rest_longest``."""
    tick = backfill_tick()
    return min(tick * 2 ** min(quiet_runs, QUIET_RUNS_KEPT), backfill_rest_longest())


def backfill_next_run(
    *, now: datetime, quiet_runs: int, shop_account_id: int, stream: str
) -> datetime:
    """When a stream whose run ended at ``now`` is read again: ``backfill_wait`` later, but a
    stream resting the longest (``SCRM_BACKFILL_QUIET_MAX_SECONDS``, five ticks by default)
    comes due in a slot of its own among those ticks — the tick-long periods of the clock,
    numbered round the cap, its shop and stream numbered round them — not a cap after its
    last run. Streams that went quiet together (every shop at start-up, or after the platform
    was down) otherwise came due at the same tick ever after: in the hour at 100 messages/s,
    300–390 backfill tasks queued every fifth minute, and those minutes' lag p99 8–11.5 s
    against 1–4 s between. The first rest at the cap is from half a tick to the cap and half
    a tick, the next ones the cap's whole ticks; a message whose webhook was lost still waits
    at most the cap and a tick."""
    wait = backfill_wait(quiet_runs)
    tick = backfill_tick().total_seconds()
    most = backfill_rest_longest().total_seconds()
    slots = int(most // tick)
    order = list(SYNC_STREAM_READERS)
    if wait.total_seconds() < most or slots < 2 or stream not in order:
        return now + wait
    slot = (shop_account_id * len(order) + order.index(stream)) % slots
    # The period this run is in, rounded to the nearest (a tick runs what is due half a
    # period after it), then the next period in the stream's slot.
    current = int((now.timestamp() + tick / 2) // tick)
    return datetime.fromtimestamp((current + 1 + (slot - current - 1) % slots) * tick, tz=UTC)


def backfill_resting() -> set[tuple[int, str]]:
    """The (shop account, stream) pairs the periodic tick leaves for later:

    - quiet streams whose next run is not due by the tick after this one's midpoint (a tick a
      little early still runs what is due at it);
    - the streams the workers are behind on: a shop's stream with a webhook about it (one
      naming a conversation for the messages stream, a return or a cancellation for theirs)
      received over ``BACKFILL_BEHIND_AFTER`` ago and not yet tried, unless the stream is due
      by the quiet rule's longest rest (``backfill_rest_longest`` after its last run, by the
      same midpoint). Its backfill would read the platform only to find what those
      webhooks are bringing (the twentieth session's hour at 100 messages/s: 25,446
      conversation lists read, and waves of 200–450 backfill tasks queued ahead of the webhooks
      they then left alone). It waits for the queue no longer than a quiet stream rests, so a
      webhook lost while others wait is still found. A stream whose webhooks are merely
      arriving (the workers keeping up) is not held back.
    """
    from inbox.services.webhooks import STALE_WINDOW

    now = timezone.now()
    due_by = now + backfill_tick() / 2
    resting = set(
        SyncCursor.objects.filter(next_run_at__gt=due_by).values_list("shop_account_id", "stream")
    )
    about = {
        SyncStream.MESSAGES: "conversation_platform_id",
        SyncStream.RETURNS: "return_platform_id",
        SyncStream.CANCELLATIONS: "cancellation_platform_id",
    }
    waiting = (
        WebhookEvent.objects.filter(
            status=WebhookEventStatus.RECEIVED,
            # older than the stale sweep's window, an event is left to the backfill
            received_at__gte=now - STALE_WINDOW,
            received_at__lt=now - BACKFILL_BEHIND_AFTER,
            attempts=0,
        )
        .exclude(shop_account_id=None)
        .values("shop_account_id")
        .annotate(
            **{stream: Count("id", filter=~Q(**{column: ""})) for stream, column in about.items()}
        )
        .values_list("shop_account_id", *about)
    )
    behind = {
        (shop, stream)
        for shop, *counts in waiting
        for stream, count in zip(about, counts, strict=True)
        if count
    }
    if behind:
        held = SyncCursor.objects.filter(
            shop_account_id__in={shop for shop, _ in behind},
            last_run_at__gt=due_by - backfill_rest_longest(),
        ).values_list("shop_account_id", "stream")
        resting.update(pair for pair in held if pair in behind)
    return resting


def shop_backfill(*, shop: ShopAccount, streams: Iterable[str] | None = None) -> int:
    """Backfill each stream of the shop (every registered one, or those named), each from its
    own cursor; returns how many new rows they stored in all.

    Keeps: a stream that fails does not keep the next from running (its cursor records the
    failure); the first failure is raised once all have run.
    """
    api = shop_api(shop)
    stored = 0
    failure: Exception | None = None
    for stream in SYNC_STREAM_READERS if streams is None else streams:
        try:
            stored += stream_backfill(shop=shop, stream=stream, api=api)
        except Exception as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    return stored
