"""Where a buyer's words and details are copied beyond their own rows — the change feed's
payloads, the raw webhook bodies, the outbox — and how erasure wipes those copies.

Payloads are scrubbed rather than deleted: a client catching up on the feed still gets every
event id and shape (ids, times, states), only with the buyer's words and names gone. What a
scrubbed payload keeps is a list of keys known to hold no personal data (ids, times,
enumerations); any other text becomes "" — a field added later is wiped by default.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_noop

from inbox.models import (
    OPEN_STATES,
    InboxEvent,
    Message,
    OutboxAction,
    OutboxState,
    WebhookEvent,
    WebhookEventStatus,
)
from scrm.fields import sealed_bulk_update

# Text values that name no person: enumerations, times and platform states.
SAFE_TEXT_KEYS = frozenset(
    {
        "action",
        "arbitration_status",
        "category",
        "created_at",
        "decision",
        "decision_state",
        "delivery_state",
        "direction",
        "digest_date",
        "due_at",
        "due_local",
        "family",
        "kind",
        "last_buyer_message_at",
        "last_message_at",
        "platform",
        "platform_status",
        "region",
        "seller_deadline",
        "sender_role",
        "sent_at",
        "snoozed_until",
        "source",
        "stage",
        "state",
        "status",
        "subject",
        "time_zone",
        "type",
        "updated_at",
        "verb",
        "waiting_since",
        "warn_at",
    }
)
ERASED_REASON = gettext_noop("The buyer's data was erased before this was sent.")


@dataclass(frozen=True)
class BuyerRefs:
    """The ids of one buyer's rows, as payloads and webhooks name them."""

    customers: frozenset[int]
    conversations: frozenset[int]
    messages: frozenset[int]
    cases: frozenset[int]
    decisions: frozenset[int]
    shops: frozenset[int]


def scrub(value: Any, key: str = "") -> Any:
    """``value`` with every text outside ``SAFE_TEXT_KEYS`` emptied (numbers, booleans, nulls
    and the structure kept)."""
    if isinstance(value, dict):
        return {k: scrub(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, key) for v in value]
    if isinstance(value, str):
        return value if key in SAFE_TEXT_KEYS else ""
    return value


_ID_KEYS = {
    "customer_id": "customers",
    "conversation_id": "conversations",
    "message_id": "messages",
    "case_id": "cases",
}
_KIND_PREFIX = {
    "conversation.": "conversations",
    "message.": "messages",
    "case.": "cases",
    "customer.": "customers",
}


def _named(value: Any, refs: BuyerRefs) -> bool:
    """Whether a payload (at any depth) names one of the buyer's rows by id."""
    if isinstance(value, list):
        return any(_named(v, refs) for v in value)
    if not isinstance(value, dict):
        return False
    for key, item in value.items():
        group = _ID_KEYS.get(key)
        if group is not None and item in getattr(refs, group):
            return True
        if key == "customer" and isinstance(item, dict) and item.get("id") in refs.customers:
            return True
        if isinstance(item, dict | list) and _named(item, refs):
            return True
    return False


def event_names_buyer(kind: str, data: Any, refs: BuyerRefs) -> bool:
    """Whether a change-feed event is about the buyer: its payload names one of their rows (a
    conversation event by its own id, an SLA deadline by subject and id, any payload by a
    ``*_id`` or a customer reference)."""
    if not isinstance(data, dict):
        return False
    own = data.get("id")
    for prefix, group in _KIND_PREFIX.items():
        if kind.startswith(prefix) and own in getattr(refs, group):
            return True
    subject = {"conversation": refs.conversations, "case": refs.cases}.get(data.get("subject", ""))
    if subject is not None and own in subject:
        return True
    return _named(data, refs)


def events_scrub(*, organisation_id: int, refs: BuyerRefs, since: datetime | None) -> int:
    """Scrub the change-feed events about the buyer (in their shops, since their first row);
    returns how many."""
    if since is None:
        return 0
    rows = InboxEvent.objects.filter(organisation_id=organisation_id, created_at__gte=since).filter(
        Q(shop_account_id__in=refs.shops) | Q(shop_account_id__isnull=True)
    )
    changed: list[InboxEvent] = []
    done = 0
    for event in rows.only("id", "row_uid", "type", "data").iterator(chunk_size=1000):
        if event_names_buyer(event.type, event.data, refs):
            event.data = scrub(event.data)
            changed.append(event)
        if len(changed) >= 500:
            done += len(changed)
            sealed_bulk_update(changed, ["data"])
            changed = []
    if changed:
        done += len(changed)
        sealed_bulk_update(changed, ["data"])
    return done


def webhooks_wipe(
    *,
    refs: BuyerRefs,
    conversation_ids: Collection[str],
    message_ids: Collection[str],
    case_ids: Collection[str],
    order_ids: Collection[str],
) -> int:
    """Wipe the bodies of the raw webhooks naming the buyer's conversations, messages, cases
    or orders (platform ids, in their shops); one not yet processed is ignored from now on."""
    names = (
        Q(conversation_platform_id__in=list(conversation_ids))
        | Q(message_platform_id__in=list(message_ids))
        | Q(return_platform_id__in=list(case_ids))
        | Q(cancellation_platform_id__in=list(case_ids))
        | Q(order_platform_id__in=list(order_ids))
    )
    rows = WebhookEvent.objects.filter(names, shop_account_id__in=refs.shops)
    waiting = rows.filter(status__in=[WebhookEventStatus.RECEIVED, WebhookEventStatus.FAILED])
    waiting.update(status=WebhookEventStatus.IGNORED, error="body erased (buyer's data request)")
    return rows.exclude(body="").update(body="")


def outbox_wipe(*, refs: BuyerRefs) -> int:
    """The buyer's outbox actions (replies in their conversations, decisions on their cases):
    params scrubbed, and those not sent yet given up (what they carried is gone), their
    replies marked failed. Returns how many actions."""
    actions = list(
        OutboxAction.objects.filter(
            Q(conversation_id__in=refs.conversations)
            | Q(message__conversation_id__in=refs.conversations)
            | Q(kind="after_sales_decision", subject_id__in=refs.decisions)
        )
    )
    for action in actions:
        action.params = scrub(action.params)
        if action.state in OPEN_STATES:
            action.state = OutboxState.FAILED
            action.failure_reason = ERASED_REASON
            action.next_attempt_at = None
    OutboxAction.objects.bulk_update(
        actions, ["params", "state", "failure_reason", "next_attempt_at"], batch_size=500
    )
    given_up = [a.message_id for a in actions if a.failure_reason == ERASED_REASON and a.message_id]
    Message.objects.filter(pk__in=given_up, delivery_state__in=["pending", "sending"]).update(
        delivery_state="failed", failure_reason=ERASED_REASON
    )
    return len(actions)
