"""The token tables that search encrypted data (docs/customer-data.md): written beside every
write of a searchable value, under the organisation's blind-index key (scrm.blind).

- a customer's tokens: prefixes of the nickname and real name as people type them, each form of
  the phone number, the e-mail (whole, and its local part);
- a message's tokens: its words, and for Chinese (Japanese, Korean) every pair of characters
  and every single character.

Terms are folded (``scrm.blind.fold``: case, width, accents, traditional Chinese as simplified)
before they are keyed, so a query finds a text however either was typed.
"""

from __future__ import annotations

from collections.abc import Iterable

from inbox.models import Customer, CustomerSearchToken, Message, MessageToken
from scrm.blind import (
    OrgIndex,
    normalise,
    phone_query_forms,
    phone_terms,
    prefix_terms,
    text_terms,
)
from scrm.db import insert_values

CUSTOMER_PURPOSE = "customer"
MESSAGE_PURPOSE = "message"


def email_terms(email: str) -> list[str]:
    """An e-mail's search forms: the whole address, and the part before the @."""
    value = normalise(email).replace(" ", "")
    if "@" not in value:
        return [value] if value else []
    return list(dict.fromkeys([value, value.partition("@")[0]]))


def customer_terms(customer: Customer) -> list[str]:
    """Every term a customer is found under (prefixed by what it is, so a phone's digits never
    match a name's)."""
    terms = [f"n:{t}" for t in prefix_terms(customer.display_name or "")]
    terms += [f"n:{t}" for t in prefix_terms(customer.real_name or "")]
    terms += [f"p:{t}" for t in phone_terms(customer.phone or "")]
    terms += [f"e:{t}" for t in email_terms(customer.email or "")]
    return list(dict.fromkeys(terms))


def customer_tokens_write(customer: Customer, index: OrgIndex, *, new: bool = False) -> int:
    """Replace a customer's search tokens with those of its current values; returns how many.
    Call it after every change of the nickname, real name, phone or e-mail. An erased profile
    has none; a merged-away one keeps its own (searches skip it by ``merged_into``, so undoing
    the merge needs no rewrite). ``new``: the customer was created in this transaction, so has
    none to remove yet."""
    if not new:
        CustomerSearchToken.objects.filter(customer_id=customer.pk).delete()
    if customer.erased_at is not None:
        return 0
    tokens = index.tokens(customer_terms(customer), purpose=CUSTOMER_PURPOSE)
    org, pk = customer.organisation_id, customer.pk
    insert_values(
        CustomerSearchToken,
        ("organisation_id", "customer_id", "token"),
        [(org, pk, t) for t in tokens],
        defer=True,  # with the transaction's next statement in a store (nothing reads them)
    )
    return len(tokens)


def customer_query_terms(term: str) -> tuple[list[str], list[str]]:
    """What a customer search for ``term`` asks: the name terms (every one must be the start of
    a word of the nickname or real name, or a Chinese character or pair of it), and
    alternatives, any one of which is enough: a phone's digits (also without a leading 0 or
    00), an e-mail (whole; or its local part, typed alone or ending with "@")."""
    phones = phone_query_forms(term)
    names = [f"n:{t[:12]}" for t in text_terms(term, max_terms=8)]
    if "@" in term.strip().lstrip("@") or (phones and not any(c.isalpha() for c in term)):
        names = []  # an address or a number is not a name: no scan of every "gmail" or "138"
    alternatives = [f"p:{t}" for t in phones]
    address = normalise(term).replace(" ", "")
    if "@" in address:
        local, _, domain = address.partition("@")
        alternatives.append(f"e:{address}" if domain else f"e:{local}")
    elif address and " " not in normalise(term) and len(address) <= 64:
        alternatives.append(f"e:{address}")
    return names, [a for a in dict.fromkeys(alternatives) if a != "e:"]


def message_index_terms(text: str) -> list[str]:
    """The terms a message is indexed under: its words, Chinese pairs and single characters."""
    return text_terms(text, singles=True)


def message_tokens_write(messages: Iterable[Message], index: OrgIndex) -> int:
    """Tokens for new messages (each message's terms, once); returns how many."""
    rows: list[tuple[int, int, int]] = []
    for message in messages:
        text = message.text or ""
        if not text:
            continue
        shop, pk = message.shop_account_id, message.pk
        rows += [
            (shop, pk, token)
            for token in index.tokens(message_index_terms(text), purpose=MESSAGE_PURPOSE)
        ]
    # Sent with the store's next statement when it defers writes (nothing reads the tokens
    # back in its transaction).
    insert_values(MessageToken, ("shop_account_id", "message_id", "token"), rows, defer=True)
    return len(rows)


def message_query_terms(term: str) -> list[str]:
    """The terms of a message search (every one must be in a message for it to match): words,
    Chinese pairs, a Chinese character typed alone."""
    return text_terms(term, max_terms=16)
