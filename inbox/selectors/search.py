"""Search over encrypted data (docs/customer-data.md): blind tokens find candidates by index,
then the candidates are decrypted and checked, so a token collision costs a decryption and
never a wrong answer, and no plaintext is needed in the database.

Every search is scoped by the caller's shops or organisation and keyed with that
organisation's index keys: the same words in another tenant give other tokens.
"""

from __future__ import annotations

from django.db.models import Q

from inbox.models import Customer, CustomerSearchToken, Message, MessageToken
from inbox.services.search_tokens import (
    CUSTOMER_PURPOSE,
    customer_query_terms,
    customer_terms,
    message_query_terms,
    message_query_tokens,
)
from scrm.blind import OrgIndex, normalise, org_index_for, text_terms

# Messages a conversation search looks at: the newest matches, enough for any first pages.
CONVERSATION_SEARCH_MESSAGES = 500


def message_search(
    *, organisation_id: int, shops: list[int], term: str, limit: int = 50, before_id: int = 0
) -> list[Message]:
    """The newest messages of ``shops`` holding every term of ``term`` (words; pairs of
    Chinese characters), newest first, ``limit`` at most, below ``before_id`` when given.

    Keeps: only ``shops`` (the caller has checked them); candidates are decrypted and checked,
    so what is returned really holds the terms."""
    index = org_index_for(organisation_id)
    wanted = set(message_query_terms(term))
    per_term = message_query_tokens(index, term)
    if not shops or not per_term:
        return []
    found: list[Message] = []
    cursor = before_id
    # Collisions are rare (64-bit tokens): one round almost always fills the page.
    for _ in range(5):
        ids = _candidate_ids(shops, per_term, limit=limit * 2, before_id=cursor)
        if not ids:
            break
        rows = Message.objects.filter(id__in=ids).only(
            "id", "row_uid", "conversation_id", "shop_account_id", "text", "sent_at", "direction"
        )
        for message in sorted(rows, key=lambda m: -m.pk):
            if wanted <= set(text_terms(message.text or "")):
                found.append(message)
                if len(found) >= limit:
                    return found
        if len(ids) < limit * 2:
            break
        cursor = min(ids)
    return found


def _candidate_ids(
    shops: list[int], per_term: list[list[int]], *, limit: int, before_id: int
) -> list[int]:
    # The first term drives the ordered scan (token, message desc); the others filter by
    # semi-joins on the same index.
    qs = MessageToken.objects.filter(token__in=per_term[0], shop_account_id__in=shops)
    if before_id:
        qs = qs.filter(message_id__lt=before_id)
    for tokens in per_term[1:]:
        qs = qs.filter(
            message_id__in=MessageToken.objects.filter(token__in=tokens).values("message_id")
        )
    return list(qs.order_by("-message_id").values_list("message_id", flat=True).distinct()[:limit])


def conversation_search_q(*, organisation_id: int, shops: list[int], term: str) -> Q:
    """Conversations of ``shops`` matching ``term``: a message holding its words, the buyer by
    name (whole or the start of a word, as typed), phone or e-mail, or the conversation's
    ids."""
    index = org_index_for(organisation_id)
    messages = message_search(
        organisation_id=organisation_id,
        shops=shops,
        term=term,
        limit=CONVERSATION_SEARCH_MESSAGES,
    )
    q = Q(id__in={m.conversation_id for m in messages})
    q |= Q(customer_id__in=customer_ids_matching(index, term))
    if term.isascii() and term.isdigit() and len(term) <= 18:  # "²".isdigit(); int("²") fails
        q |= Q(platform_conversation_id=term) | Q(id=int(term))
    return q


def customer_ids_matching(index: OrgIndex, term: str, *, limit: int = 1000) -> list[int]:
    """Customers of the index's organisation whose nickname or real name (whole, or the starts
    of its words, as people type), phone (with or without its country code) or e-mail (whole,
    or the part before the @) matches ``term``; checked against the decrypted values.
    Merged-away and erased profiles are not found."""
    names, alternatives = customer_query_terms(term)
    if not names and not alternatives:
        return []
    asked = names[:1] + alternatives
    tokens = [t for a in asked for t in index.token_all(a, purpose=CUSTOMER_PURPOSE)]
    token_ids = CustomerSearchToken.objects.filter(
        organisation_id=index.organisation_id, token__in=tokens
    ).values_list("customer_id", flat=True)[:limit]
    exact = Q(name_index__in=index.exact_all(term, purpose="customer.name"))
    candidates = Customer.objects.filter(
        Q(id__in=list(token_ids)) | exact,
        organisation_id=index.organisation_id,
        merged_into__isnull=True,
        erased_at__isnull=True,
    ).only("id", "row_uid", "display_name", "real_name", "phone", "email", "name_index")
    out = []
    for customer in candidates[:limit]:
        have = set(customer_terms(customer))
        if (
            (names and all(n in have for n in names))
            or any(a in have for a in alternatives)
            or normalise(customer.display_name or "") == normalise(term)
        ):
            out.append(customer.pk)
    return out
