"""A buyer's erasure: every personal field wiped everywhere it lives, the rows that the shop's
figures count kept as tombstones. Not undoable."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import CharField, Min, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext_noop

from inbox.events import CONVERSATION_UPDATED
from inbox.models import (
    AfterSalesCase,
    AfterSalesDecision,
    Conversation,
    Customer,
    CustomerNote,
    CustomerSearchToken,
    FollowUp,
    Message,
    MessageToken,
    Note,
    Order,
)
from inbox.payloads import conversation_payload
from inbox.services.buyer_data.access import AnyUser, customer_shop_ids, may_erase
from inbox.services.buyer_data.export import profiles_of
from inbox.services.buyer_data.traces import BuyerRefs, events_scrub, outbox_wipe, webhooks_wipe
from inbox.services.events import conversation_event_publish
from monitoring.problems.services import problem_quotes_erase
from monitoring.services.audit import audit_record
from monitoring.services.buyer_data import (
    buyer_risks_erase_for_conversations,
    violations_erase_for_conversations,
)
from scrm.api import Conflict, ServiceError

REASON_MIN, REASON_MAX = 3, 500
TOMBSTONE = "erased:"


def _checked_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise ServiceError(
            gettext_noop("Say why the data is erased (3 to 500 characters)."),
            code="reason_required",
            details={"reason": [f"{REASON_MIN}-{REASON_MAX} characters"]},
        )
    return reason


def _refs(profile_ids: list[int], shops: set[int]) -> BuyerRefs:
    # Locked first: ingestion locks a conversation before storing its messages, so a message
    # arriving meanwhile is either committed before (and wiped) or waits, then finds the
    # conversation's platform id tombstoned and starts a new one.
    conversations = set(
        Conversation.objects.select_for_update()
        .filter(customer_id__in=profile_ids)
        .values_list("id", flat=True)
    )
    cases = set(
        AfterSalesCase.objects.filter(
            Q(customer_id__in=profile_ids) | Q(conversation_id__in=conversations)
        ).values_list("id", flat=True)
    )
    return BuyerRefs(
        customers=frozenset(profile_ids),
        conversations=frozenset(conversations),
        messages=frozenset(
            Message.objects.filter(conversation_id__in=conversations).values_list("id", flat=True)
        ),
        cases=frozenset(cases),
        decisions=frozenset(
            AfterSalesDecision.objects.filter(case_id__in=cases).values_list("id", flat=True)
        ),
        shops=frozenset(shops),
    )


def _platform_traces(refs: BuyerRefs, profile_ids: list[int]) -> int:
    """The raw webhooks naming the buyer's objects (read before the tombstones replace the
    conversations' platform ids)."""
    return webhooks_wipe(
        refs=refs,
        conversation_ids=Conversation.objects.filter(pk__in=refs.conversations).values_list(
            "platform_conversation_id", flat=True
        ),
        message_ids=[
            i
            for i in Message.objects.filter(pk__in=refs.messages).values_list(
                "platform_message_id", flat=True
            )
            if i
        ],
        case_ids=AfterSalesCase.objects.filter(pk__in=refs.cases).values_list(
            "platform_case_id", flat=True
        ),
        order_ids=Order.objects.filter(customer_id__in=profile_ids).values_list(
            "platform_order_id", flat=True
        ),
    )


def _conversations_wipe(refs: BuyerRefs) -> dict[str, int]:
    """Messages, notes and previews emptied; each conversation keeps its row, counts and times
    under a tombstone platform id (a buyer who writes again starts a new conversation)."""
    ids = list(refs.conversations)
    counts = {
        "messages": Message.objects.filter(conversation_id__in=ids).update(text="", content={}),
        "message_tokens": MessageToken.objects.filter(message_id__in=list(refs.messages)).delete()[
            0
        ],
        "conversation_notes": Note.objects.filter(conversation_id__in=ids).update(text=""),
    }
    counts["conversations"] = Conversation.objects.filter(pk__in=ids).update(
        last_message_preview="",
        platform_conversation_id=Concat(Value(TOMBSTONE), Cast("id", CharField())),
    )
    return counts


def _commerce_wipe(refs: BuyerRefs, profile_ids: list[int]) -> dict[str, int]:
    """The order cache's recipients and buyer id, the cases' buyer words and evidence, the
    decisions' comments; the rows stay for the shop's figures."""
    return {
        "orders": Order.objects.filter(customer_id__in=profile_ids).update(
            recipient_name="",
            recipient_phone="",
            recipient_address="",
            recipient_email="",
            buyer_user_id="",
        ),
        "after_sales_cases": AfterSalesCase.objects.filter(pk__in=list(refs.cases)).update(
            buyer_reason="", evidence=[]
        ),
        "decisions": AfterSalesDecision.objects.filter(pk__in=list(refs.decisions)).update(
            comment=""
        ),
    }


def _profiles_wipe(profiles: list[Customer], now: Any) -> dict[str, int]:
    ids = [p.pk for p in profiles]
    counts = {
        "profile_notes": CustomerNote.objects.filter(customer_id__in=ids).update(text=""),
        "follow_ups": FollowUp.objects.filter(customer_id__in=ids).update(promise=""),
        # Nothing left to follow up: an open one would remind someone of an erased buyer.
        "follow_ups_closed": FollowUp.objects.filter(
            customer_id__in=ids, done_at__isnull=True
        ).update(done_at=now),
        "search_tokens": CustomerSearchToken.objects.filter(customer_id__in=ids).delete()[0],
    }
    for profile in profiles:
        profile.tags.clear()
    counts["profiles"] = Customer.objects.filter(pk__in=ids).update(
        display_name="",
        avatar_url="",
        real_name="",
        phone="",
        email="",
        custom_fields={},
        name_index="",
        language="",
        country="",
        im_user_id=Concat(Value(TOMBSTONE), Cast("id", CharField())),
        platform_user_id=Concat(Value(TOMBSTONE), Cast("id", CharField())),
        erased_at=now,
        updated_at=now,
    )
    return counts


def _rows_publish(refs: BuyerRefs) -> None:
    """Tell the open queues and conversations: each wiped row, as it now is (no name, no
    preview), so no screen keeps showing what was erased until it reloads."""
    rows = (
        Conversation.objects.filter(pk__in=list(refs.conversations))
        .select_related("shop_account", "customer", "assignee")
        .prefetch_related("tags")
    )
    for conversation in rows:
        conversation_event_publish(
            conversation, CONVERSATION_UPDATED, conversation_payload(conversation)
        )


def _erasable(customer_id: int) -> Customer:
    """The customer, locked; refused when erased already or merged into another."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if customer.erased_at is not None:
        raise Conflict(gettext_noop("This buyer's data was erased already."), code="already_erased")
    if customer.merged_into_id is not None:
        # Its conversations, orders and cases now live on the survivor: erasing this row alone
        # would leave the buyer's data there.
        raise Conflict(
            gettext_noop(
                "This profile was merged into another: erase that one, which holds this "
                "buyer's data now (the merged profile is erased with it)."
            ),
            code="merged_profile",
            details={"merged_into": customer.merged_into_id},
        )
    return customer


@transaction.atomic
def customer_erase(*, actor: AnyUser, customer_id: int, reason: str) -> dict[str, int]:
    """Erase one buyer's personal data everywhere it lives (docs/customer-data.md): their
    profile and the profiles merged into it, messages, previews, notes, follow-ups' promises,
    raw webhook bodies, change-feed payloads, outbox params, the order cache's recipients,
    after-sales reasons, evidence and decision comments, violations' text, risk tags, the
    problem log's quotes and search tokens. Returns what was wiped, counted.

    Keeps: admins only (``access.may_erase``); a reason is required; refused (409) on an
    erased profile and on one merged into another (erase the survivor); conversations, cases
    and orders stay as tombstones (their counts and times feed the SLA figures); the
    profile's ``im_user_id`` becomes ``erased:<id>``, so a buyer who writes again starts a new
    profile; audited as ``customer.erased`` with ids and counts, never a value; one
    transaction, nothing to undo.
    """
    reason = _checked_reason(reason)
    may_erase(actor, customer_id)
    customer = _erasable(customer_id)
    profiles = profiles_of(customer)
    ids = [p.pk for p in profiles]
    refs = _refs(ids, customer_shop_ids(ids))
    since = Conversation.objects.filter(pk__in=list(refs.conversations)).aggregate(
        first=Min("created_at")
    )["first"]
    case_since = AfterSalesCase.objects.filter(pk__in=list(refs.cases)).aggregate(
        first=Min("created_at")
    )["first"]
    counts = {"webhook_events": _platform_traces(refs, ids)}
    counts["events"] = events_scrub(
        organisation_id=customer.organisation_id,
        refs=refs,
        since=min((t for t in (since, case_since) if t is not None), default=None),
    )
    counts["outbox_actions"] = outbox_wipe(refs=refs)
    counts.update(_conversations_wipe(refs))
    counts.update(_commerce_wipe(refs, ids))
    counts["violations"] = violations_erase_for_conversations(conversation_ids=refs.conversations)
    counts["risk_flags"] = buyer_risks_erase_for_conversations(conversation_ids=refs.conversations)
    counts["problem_quotes"] = problem_quotes_erase(
        conversation_ids=refs.conversations, case_ids=refs.cases
    )
    counts.update(_profiles_wipe(profiles, timezone.now()))
    _rows_publish(refs)
    audit_record(
        organisation_id=customer.organisation_id,
        actor=actor,
        action="customer.erased",
        target=customer,
        data={"profiles": ids, "counts": counts, "reason": reason},
    )
    return counts
