"""Search over encrypted data (docs/customer-data.md): blind tokens find candidates by index,
then the candidates are decrypted and checked, so a token collision costs a decryption and
never a wrong answer, and no plaintext is needed in the database.

Every search is scoped by the caller's shops or organisation and keyed with that
organisation's index keys: the same words in another tenant give other tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from inbox.models import Customer, CustomerSearchToken, Message, MessageToken
from inbox.selectors.accounts import AnyUser, member_for, shop_account_get, shop_account_ids_for
from inbox.services.search_tokens import (
    CUSTOMER_PURPOSE,
    MESSAGE_PURPOSE,
    customer_query_terms,
    email_terms,
    message_index_terms,
    message_query_terms,
)
from scrm.blind import (
    OrgIndex,
    fold,
    is_cjk,
    normalise,
    org_index_for,
    phone_terms,
    text_terms,
)
from scrm.fields import open_sealed

# A conversation search finds conversations among the newest matching messages: at most this
# many conversations (enough for any first pages), each known from its newest match (the
# others in it are not decrypted).
CONVERSATION_SEARCH_CONVERSATIONS = 500
PAGE_SIZE = 50  # the message search endpoint's page
# Rounds of candidates (a page each): a candidate that fails the check is a token collision (rare
# with 64-bit tokens) or a hidden message, so one round almost always fills the page.
ROUNDS = 5


def message_search_for(
    user: AnyUser, *, term: str, shop_account_id: int | None = None, before_id: int = 0
) -> list[Message]:
    """The message search endpoint's page: the newest ``PAGE_SIZE`` messages holding every term of
    ``term`` in the shops the user may see (or the one shop asked, which must be one of them:
    NotFound otherwise), below ``before_id``; each with its shop (``shop_account``) loaded."""
    member = member_for(user)
    if shop_account_id is not None:
        shops = [shop_account_get(user, shop_account_id).pk]
    else:
        shops = shop_account_ids_for(user)
    return message_search(
        organisation_id=member.organisation_id,
        shops=shops,
        term=term,
        limit=PAGE_SIZE,
        before_id=before_id,
    )


def message_search(
    *, organisation_id: int, shops: list[int], term: str, limit: int = 50, before_id: int = 0
) -> list[Message]:
    """The newest visible messages of ``shops`` holding every term of ``term`` (words; Chinese
    pairs, or a Chinese character typed alone), newest first, ``limit`` at most, below
    ``before_id`` when given; each with ``shop_account`` loaded (its id and name).

    Keeps: only ``shops`` (the caller has checked them); candidates are decrypted and checked,
    so what is returned really holds the terms."""
    wanted = set(message_query_terms(term))
    found: list[Message] = []
    for ids in _rounds(organisation_id, shops, term, page=limit, before_id=before_id):
        rows = (
            Message.objects.filter(id__in=ids, is_visible=True)
            .select_related("shop_account")
            .only(
                "id",
                "row_uid",
                "conversation_id",
                "shop_account__id",
                "shop_account__name",
                "text",
                "sent_at",
                "direction",
            )
        )
        for message in sorted(rows, key=lambda m: -m.pk):
            if _holds(wanted, message.text or ""):
                found.append(message)
                if len(found) >= limit:
                    return found
    return found


def _rounds(
    organisation_id: int, shops: list[int], term: str, *, page: int, before_id: int = 0
) -> Iterator[list[int]]:
    """Ids of candidate messages (every term's token present), newest first, a page a round,
    ``ROUNDS`` at most."""
    terms = message_query_terms(term)
    if not shops or not terms:
        return
    index = org_index_for(organisation_id)
    # The longest term drives the ordered scan: longer terms are rarer, and a rare driver
    # reads few index entries whatever the other terms are.
    per_term = [
        index.token_all(t, purpose=MESSAGE_PURPOSE) for t in sorted(terms, key=len, reverse=True)
    ]
    cursor = before_id
    for _ in range(ROUNDS):
        ids = _candidate_ids(shops, per_term, limit=page, before_id=cursor)
        if not ids:
            return
        yield ids
        if len(ids) < page:
            return
        cursor = min(ids)


def _holds(wanted: set[str], text: str) -> bool:
    """``text`` holds every query term (the check after the tokens: a collision fails it)."""
    if all(is_cjk(t[0]) for t in wanted):
        # Chinese (Japanese, Korean) terms are characters and pairs of adjacent characters: in
        # the folded text as substrings exactly when they are among its terms.
        folded = fold(text)
        return all(t in folded for t in wanted)
    return wanted <= set(message_index_terms(text))


def _candidate_ids(
    shops: list[int], per_term: list[list[int]], *, limit: int, before_id: int
) -> list[int]:
    # The first term drives the ordered scan of msg_token (token, message desc); each other
    # term is a probe of the same index for that message.
    qs = MessageToken.objects.filter(token__in=per_term[0], shop_account_id__in=shops)
    if before_id:
        qs = qs.filter(message_id__lt=before_id)
    for tokens in per_term[1:]:
        qs = qs.filter(
            Exists(MessageToken.objects.filter(token__in=tokens, message_id=OuterRef("message_id")))
        )
    return list(qs.order_by("-message_id").values_list("message_id", flat=True).distinct()[:limit])


def conversation_search_q(*, organisation_id: int, shops: list[int], term: str) -> Q:
    """Conversations of ``shops`` matching ``term``: a message holding its words (among the
    ``CONVERSATION_SEARCH_CONVERSATIONS`` conversations of the newest matches), the buyer by name
    (whole or the start of a word, as typed), phone or e-mail, or the conversation's ids."""
    index = org_index_for(organisation_id)
    q = Q(id__in=_conversation_ids_matching(organisation_id, shops, term))
    q |= Q(customer_id__in=customer_ids_matching(index, term))
    if term.isascii() and term.isdigit() and len(term) <= 18:  # "²".isdigit(); int("²") fails
        q |= Q(platform_conversation_id=term) | Q(id=int(term))
    return q


def _conversation_ids_matching(organisation_id: int, shops: list[int], term: str) -> set[int]:
    """Conversations of the newest messages holding every term: each known from its newest
    match, checked; its other candidates are not decrypted. Rows read as values (no models)."""
    wanted = set(message_query_terms(term))
    conversations: set[int] = set()
    page = CONVERSATION_SEARCH_CONVERSATIONS // 2
    for ids in _rounds(organisation_id, shops, term, page=page):
        rows = Message.objects.filter(id__in=ids, is_visible=True).values_list(
            "id", "conversation_id", "row_uid", "text"
        )
        for _id, conversation_id, row_uid, sealed in sorted(rows, reverse=True):
            if conversation_id in conversations:
                continue
            if _holds(wanted, open_sealed(Message, "text", sealed, row_uid) or ""):
                conversations.add(conversation_id)
                if len(conversations) >= CONVERSATION_SEARCH_CONVERSATIONS:
                    return conversations
    return conversations


def customer_ids_matching(index: OrgIndex, term: str, *, limit: int = 1000) -> list[int]:
    """Customers of the index's organisation whose nickname or real name (whole, or the starts
    of its words as people type, Chinese characters and pairs anywhere), phone (with or
    without its country code) or e-mail (whole, or the part before the @) matches ``term``;
    checked against the decrypted values. Merged-away and erased profiles are not found.

    One query: the candidates' ids (by name tokens, by phone or e-mail tokens, by the exact
    nickname index) as one UNION, the candidates read by primary key."""
    names, alternatives = customer_query_terms(term)
    org = index.organisation_id
    found: list[QuerySet[Any]] = []
    # A word being typed may be one letter yet ("alice w"): prefixes are indexed from two
    # letters, so the index is asked the others and the check sees the letter.
    asked = [n for n in names if len(n) > 3 or is_cjk(n[2])] or names
    if asked:
        # Every name term: the first drives, the others are probes of the same index.
        qs = CustomerSearchToken.objects.filter(
            organisation_id=org, token__in=index.token_all(asked[0], purpose=CUSTOMER_PURPOSE)
        )
        for name in asked[1:]:
            tokens = index.token_all(name, purpose=CUSTOMER_PURPOSE)
            qs = qs.filter(
                Exists(
                    CustomerSearchToken.objects.filter(
                        organisation_id=org, token__in=tokens, customer_id=OuterRef("customer_id")
                    )
                )
            )
        found.append(qs.values("customer_id"))
    if alternatives:
        tokens = [t for a in alternatives for t in index.token_all(a, purpose=CUSTOMER_PURPOSE)]
        found.append(
            CustomerSearchToken.objects.filter(organisation_id=org, token__in=tokens).values(
                "customer_id"
            )
        )
    exact = index.exact_all(term, purpose="customer.name")
    if not found and not exact:
        return []
    # A common name prefix has many tokens: each branch stops at ``limit`` where the database
    # allows a LIMIT inside a UNION (PostgreSQL; SQLite does not).
    if connection.features.supports_slicing_ordering_in_compound or len(found) + bool(exact) < 2:
        found = [qs[:limit] for qs in found]
    if exact:
        found.append(
            Customer.objects.filter(organisation_id=org, name_index__in=exact).values("id")
        )
    ids = found[0].union(*found[1:]) if len(found) > 1 else found[0]
    candidates = Customer.objects.filter(
        id__in=ids, organisation_id=org, merged_into__isnull=True, erased_at__isnull=True
    ).only("id", "row_uid", "display_name", "real_name", "phone", "email", "name_index")
    wanted_exact = set(exact)
    return [
        c.pk
        for c in candidates[:limit]
        if _customer_matches(c, names, alternatives, term, c.name_index in wanted_exact)
    ]


def _customer_matches(
    customer: Customer, names: list[str], alternatives: list[str], term: str, exact: bool
) -> bool:
    """``customer`` really matches: checked on the decrypted values, each value decrypted only
    when the query asks about it."""
    if exact and normalise(customer.display_name or "") == normalise(term):
        return True
    if names:
        asked = [n[2:] for n in names]
        words = text_terms(customer.display_name or "")
        if not all(_name_has(words, t) for t in asked):
            words += text_terms(customer.real_name or "")
        if all(_name_has(words, t) for t in asked):
            return True
    phones = [a for a in alternatives if a.startswith("p:")]
    if phones and {f"p:{t}" for t in phone_terms(customer.phone or "")} & set(phones):
        return True
    emails = [a for a in alternatives if a.startswith("e:")]
    return bool(emails) and bool(
        {f"e:{t}" for t in email_terms(customer.email or "")} & set(emails)
    )


def _name_has(words: list[str], term: str) -> bool:
    """A name's terms (``text_terms``) hold ``term`` as its index would: the start of a word
    (compared on 12 characters at most), a Chinese pair, or one character of one."""
    if is_cjk(term[0]):
        return any(term == w or (len(term) == 1 and term in w) for w in words if is_cjk(w[0]))
    return any(w.startswith(term) for w in words if not is_cjk(w[0]))
