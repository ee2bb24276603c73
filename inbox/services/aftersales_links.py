"""What an after-sales case is linked to besides its platform state: the buyer's evidence (from
the return's records), the conversation with that buyer in that shop, and the ``case.updated``
event that shows every change live.

Invariants kept here:
- evidence holds only the buyer's images and videos on hosts the image policy allows
  (``scrm.images.image_url_allowed``: ``SCRM_IMAGE_HOSTS``, or the demo simulator); anything
  else is dropped when read, never stored;
- a case is linked to an existing conversation of its buyer in its shop on ingestion; one is
  opened through the platform (Create Conversation) only when an agent needs it
  (``case_conversation_ensure``), and what the platform answers teaches the buyer's chat id;
- every change of a case publishes ``case.updated`` in the transaction that made it (on
  commit), with no buyer words.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from inbox.events import CASE_UPDATED
from inbox.models import AfterSalesCase, Conversation, Customer, Order, ShopAccount
from inbox.payloads_aftersales import case_payload
from inbox.platforms.base import Participant, PlatformError, ReturnRecord, ShopApi
from inbox.selectors.accounts import AnyUser
from inbox.selectors.aftersales import case_get
from scrm.api import ServiceError
from scrm.events import event_publish
from scrm.images import image_url_allowed

logger = logging.getLogger(__name__)


def required_id(value: int | None) -> int:
    if value is None:
        raise ValueError("a case's conversation is opened for a known buyer only")
    return value


MAX_EVIDENCE = 30
FIND_CONVERSATION_PAGES = 5  # pages of the conversation list read to learn the buyer's chat id


# --- evidence --------------------------------------------------------------------------------
def evidence_from_records(records: list[ReturnRecord]) -> list[dict[str, Any]]:
    """The buyer's images and videos, oldest first, in ``AfterSalesCase.evidence``'s shape;
    media on hosts the image policy does not allow are left out (a video's cover too)."""
    evidence: list[dict[str, Any]] = []
    for record in sorted(records, key=lambda r: r.create_time):
        if record.role != "BUYER":
            continue
        for media in record.media:
            if not image_url_allowed(media.url):
                continue
            evidence.append(
                {
                    "kind": media.kind,
                    "url": media.url,
                    "thumb_url": media.thumb_url if image_url_allowed(media.thumb_url) else "",
                    "width": media.width,
                    "height": media.height,
                    "record_time": int(record.create_time.timestamp()),
                }
            )
    return evidence[:MAX_EVIDENCE]


def case_evidence_read(api: ShopApi, *, shop_id: int, return_id: str) -> list[dict] | None:
    """A return's evidence read from its records; None when the platform did not answer (the
    stored evidence is kept, and the next change of the case reads it again)."""
    try:
        return evidence_from_records(api.return_records(return_id))
    except PlatformError as exc:
        logger.warning(
            "records of a return of shop %s not read: %s code %s",
            shop_id,
            type(exc).__name__,
            exc.code,
        )
        return None


# --- the case's conversation -----------------------------------------------------------------
def _buyer_conversation(case: AfterSalesCase) -> Conversation | None:
    if case.customer_id is None:
        return None
    same_buyer = Q(customer_id=case.customer_id)
    user_id = (
        Customer.objects.filter(id=case.customer_id)
        .values_list("platform_user_id", flat=True)
        .first()
    )
    if user_id:
        same_buyer |= Q(
            customer__organisation_id=case.organisation_id, customer__platform_user_id=user_id
        )
    return (
        Conversation.objects.filter(same_buyer, shop_account_id=case.shop_account_id)
        .order_by("-last_message_at", "-id")
        .first()
    )


def case_ingested(case: AfterSalesCase, *, changed: bool) -> None:
    """After a case was stored (inside its transaction): link it to its buyer's existing
    conversation in its shop, and publish ``case.updated`` if anything changed."""
    if case.conversation_id is None:
        conversation = _buyer_conversation(case)
        if conversation is not None:
            case.conversation = conversation
            case.save(update_fields=["conversation", "updated_at"])
            changed = True
    if changed:
        case_event_publish(case)


def case_event_publish(
    case: AfterSalesCase, *, decision_state: tuple[str, str] | None = None
) -> None:
    """``case.updated`` for the people of the case's shop (on commit)."""
    event_publish(
        organisation_id=case.organisation_id,
        shop_account_id=case.shop_account_id,
        type=CASE_UPDATED,
        data=case_payload(case, decision=decision_state),
    )


def _learn_buyer(api: ShopApi, conversation_id: str) -> Participant | None:
    """The buyer of a conversation as the conversation list shows them (chat and order ids)."""
    token = ""
    for _ in range(FIND_CONVERSATION_PAGES):
        page = api.list_conversations(page_token=token, page_size=20)
        for found in page.items:
            if found.conversation_id == conversation_id:
                return found.buyer
        if not page.has_more:
            return None
        token = page.next_page_token
    return None


def _chat_customer(case: AfterSalesCase, buyer: Participant | None) -> Customer:
    """The customer the new conversation belongs to, with the chat id the platform taught us.

    A buyer known by ``user_id`` alone (placeholder chat id ``user:<id>``) takes the real chat
    id; if another customer already has it, that one is the buyer, learns the ``user_id``, and
    the placeholder's cases and orders move to it."""
    customer = Customer.objects.select_for_update().get(id=required_id(case.customer_id))
    if buyer is None or not buyer.im_user_id or customer.im_user_id == buyer.im_user_id:
        return customer
    chat = Customer.objects.filter(
        organisation_id=customer.organisation_id,
        platform=customer.platform,
        im_user_id=buyer.im_user_id,
    ).first()
    if chat is None and customer.im_user_id.startswith("user:"):
        customer.im_user_id = buyer.im_user_id
        customer.save(update_fields=["im_user_id"])
        return customer
    if chat is None:
        return customer
    if not chat.platform_user_id:
        chat.platform_user_id = customer.platform_user_id
        chat.save(update_fields=["platform_user_id"])
    if customer.im_user_id.startswith("user:"):
        AfterSalesCase.objects.filter(customer=customer).update(customer=chat)
        Order.objects.filter(customer=customer).update(customer=chat)
    return chat


def case_conversation_ensure(*, user: AnyUser, case_id: int) -> Conversation:
    """The conversation with the case's buyer in the case's shop: the linked one, an existing
    one, or one opened through the platform (Create Conversation), learning the buyer's chat
    id from the platform's conversation list. 404 for a case the user may not see; 409
    ``buyer_unknown`` while the case's buyer is not known (its order not read yet)."""
    case = case_get(user, case_id)
    if case.conversation_id is not None:
        return Conversation.objects.get(id=case.conversation_id)
    existing = _buyer_conversation(case)
    customer = case.customer
    platform_id, buyer = "", None
    if existing is None:
        if customer is None or not customer.platform_user_id:
            raise ServiceError(
                "The buyer of this case is not known yet.", code="buyer_unknown", status_code=409
            )
        from inbox.services.ingestion import shop_api

        shop = ShopAccount.objects.get(id=case.shop_account_id)
        api = shop_api(shop)
        platform_id = api.create_conversation(customer.platform_user_id)
        buyer = _learn_buyer(api, platform_id)
    with transaction.atomic():
        locked = AfterSalesCase.objects.select_for_update().get(id=case.id)
        if locked.conversation_id is not None:
            return Conversation.objects.get(id=locked.conversation_id)
        conversation = existing or _conversation_store(locked, platform_id, buyer)
        locked.refresh_from_db(fields=["customer"])  # the buyer may have been merged
        locked.conversation = conversation
        locked.save(update_fields=["conversation", "updated_at"])
        case_event_publish(locked)
    return conversation


def _conversation_store(
    case: AfterSalesCase, platform_id: str, buyer: Participant | None
) -> Conversation:
    customer = _chat_customer(case, buyer)
    found = Conversation.objects.filter(
        shop_account_id=case.shop_account_id, platform_conversation_id=platform_id
    ).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Conversation.objects.create(
                organisation_id=case.organisation_id,
                shop_account_id=case.shop_account_id,
                customer=customer,
                platform_conversation_id=platform_id,
                can_send_message=True,  # opened by the shop: the platform lets it write
            )
    except IntegrityError:  # stored concurrently by ingestion
        return Conversation.objects.get(
            shop_account_id=case.shop_account_id, platform_conversation_id=platform_id
        )
