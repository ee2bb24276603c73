"""What the other apps read of the inbox: small answers as plain frozen dataclasses.

Apps meet through selectors, never another app's tables (docs/architecture.md): the quick
replies (``templates_app``) ask here who is acting, which shops that person works on, which
shops and people an organisation has, and what one conversation knows for filling a quick
reply's variables. Nothing here returns a model instance, so a caller cannot follow a relation
into inbox's tables; every answer is scoped to the acting member as the inbox's own selectors
are (``accounts.shop_account_ids_for``: agents their member shops, supervisors and admins all of
their organisation's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection

from inbox.models import Conversation, Customer, Member, Message, Organisation, ShopAccount
from inbox.payloads import person_name
from inbox.selectors.accounts import (
    AnyUser,
    member_for,
    member_shop_ids_sql,
    shop_account_list,
)
from scrm.api import NotFound
from scrm.fields import Sealed, open_sealed

# How far back a conversation's facts look for order/product cards and the buyer's language.
RECENT_MESSAGES = 50
# The buyer's latest texts handed out for guessing their language.
BUYER_TEXTS = 10


@dataclass(frozen=True, slots=True)
class ActingMember:
    """The acting person's place in their organisation."""

    user_id: int
    organisation_id: int
    role: str
    name: str  # the display name, else the login
    sees_all_shops: bool  # supervisors and admins: every shop account of the organisation


@dataclass(frozen=True, slots=True)
class ShopRef:
    id: int
    name: str
    region: str


@dataclass(frozen=True, slots=True)
class ConversationRef:
    id: int
    shop_account_id: int


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """What one conversation knows for filling a reply (None where the chat does not tell).

    ``order_id``, ``product_id`` and ``tracking_number``: the newest of the last
    ``RECENT_MESSAGES`` visible messages carrying one; ``product_name``: the name on the newest
    card with a product; ``buyer_texts``: the buyer's latest text messages, newest first.
    """

    id: int
    shop_account_id: int
    shop_name: str
    shop_time_zone: str
    buyer_name: str  # decrypted here, in memory only; "" when the platform gave none
    buyer_texts: tuple[str, ...]
    order_id: str | None
    product_id: str | None
    product_name: str | None
    tracking_number: str | None


def acting_member(user: AnyUser) -> ActingMember:
    """The acting user as a member (Forbidden if signed out or of no organisation).

    No query beyond ``member_for``'s, which a request makes once."""
    cached = getattr(user, "_scrm_acting_member", None)
    if cached is not None:
        return cached
    member = member_for(user)
    acting = ActingMember(
        user_id=member.user_id,
        organisation_id=member.organisation_id,
        role=member.role,
        # member_for put the member on the user object: no query of its own
        name=person_name(user),
        sees_all_shops=member.sees_all_shops,
    )
    setattr(user, "_scrm_acting_member", acting)  # noqa: B010 - not a model field
    return acting


def shop_ids_subquery(actor: ActingMember) -> tuple[str, list[object]]:
    """An agent's shops (``shop_account_ids_for``'s rule) as a SQL subquery and its parameters,
    for an app's hot path that must not spend a round trip on them (the quick-reply picker runs
    per keystroke). The SQL is inbox's; the caller only embeds it as ``... IN (<subquery>)``."""
    return member_shop_ids_sql(actor)


def shops_for(user: AnyUser) -> list[ShopRef]:
    """The shop accounts the user works on, by name."""
    return [
        ShopRef(id, name, region)
        for id, name, region in shop_account_list(user).values_list("id", "name", "region")
    ]


def organisation_shop_ids(actor: ActingMember, ids: list[int] | tuple[int, ...]) -> set[int]:
    """Which of ``ids`` are shop accounts of the actor's organisation (whoever works on them)."""
    if not ids:
        return set()
    return set(
        ShopAccount.objects.filter(
            organisation_id=actor.organisation_id, id__in=list(ids)
        ).values_list("id", flat=True)
    )


def member_names(actor: ActingMember, user_ids: list[int] | set[int]) -> dict[int, str]:
    """Display names (else logins) of those of ``user_ids`` in the actor's organisation."""
    rows = Member.objects.filter(
        organisation_id=actor.organisation_id, user_id__in=list(user_ids)
    ).values_list("user_id", "display_name", "user__username")
    return {user_id: display or login for user_id, display, login in rows}


@dataclass(frozen=True, slots=True)
class ShopFacts:
    """What a message about a shop says of it (an SLA alert sent by e-mail or a webhook)."""

    id: int
    organisation_id: int
    name: str
    time_zone: str
    organisation_language: str  # the language of messages not addressed to one person


def shop_facts(shop_account_id: int) -> ShopFacts:
    """One shop account's name and clock and its organisation's language, for work done on
    the organisation's behalf (a worker sending its alerts): no acting user, so the caller
    passes only a shop its own records name."""
    row = ShopAccount.objects.values_list(
        "id", "organisation_id", "name", "time_zone", "organisation__language"
    ).get(id=shop_account_id)
    return ShopFacts(*row)


def organisation_clock(organisation_id: int) -> tuple[str, str]:
    """The organisation's language and time zone (an alert about no shop in particular is
    written in the one and dated in the other)."""
    found = (
        Organisation.objects.filter(id=organisation_id).values_list("language", "time_zone").first()
    )
    return (found[0] or "en", found[1] or "UTC") if found else ("en", "UTC")


def organisation_member_names(
    organisation_id: int, user_ids: list[int] | set[int]
) -> dict[int, str]:
    """Display names (else logins) of those of ``user_ids`` in the organisation (an alert's
    assignee, named in the organisation's own channels)."""
    rows = Member.objects.filter(
        organisation_id=organisation_id, user_id__in=list(user_ids)
    ).values_list("user_id", "display_name", "user__username")
    return {user_id: display or login for user_id, display, login in rows}


def conversation_ref(user: AnyUser, conversation_id: int) -> ConversationRef:
    """A conversation the user may see, by id and shop, or NotFound (``conversation_get``'s
    rule without reading the conversation itself)."""
    found = (
        Conversation.objects.filter(
            id=conversation_id, shop_account_id__in=shop_account_list(user).values("id")
        )
        .values_list("id", "shop_account_id")
        .first()
    )
    if found is None:
        raise NotFound("Conversation not found.")
    return ConversationRef(*found)


def conversation_facts(actor: ActingMember, conversation_id: int) -> ConversationFacts:
    """The facts of one conversation the actor may see, or NotFound (never a hint that it
    exists). One round trip (``_facts_sql``); the buyer's name is decrypted by its field."""
    sql, rule_params = _facts_sql(actor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [conversation_id, *rule_params, conversation_id, True, RECENT_MESSAGES])
        rows = cursor.fetchall()
    if not rows or rows[0][0] != 0:
        raise NotFound("Conversation not found.")
    _, shop_id, shop_name, shop_tz, buyer, buyer_uid = rows[0][:6]
    sealed = Customer._meta.get_field("display_name").from_db_value(buyer, None, connection)
    found: dict[str, str | None] = dict.fromkeys(
        ("order_id", "product_id", "product_name", "tracking_number")
    )
    texts: list[str] = []
    for row in rows[1:]:
        direction, type_, sender_role, text, raw, uid = row[6:12]
        content = open_sealed(Message, "content", Sealed(raw), uid) if raw else {}
        content = content if isinstance(content, dict) else {}
        text = open_sealed(Message, "text", Sealed(text), uid) if text else ""
        for key in ("order_id", "product_id", "tracking_number"):
            if found[key] is None and content.get(key):
                found[key] = str(content[key])
        if found["product_name"] is None and content.get("product_id"):
            name = content.get("product_name") or content.get("title")
            if name:
                found["product_name"] = str(name)
        if direction == "in" and type_ == "TEXT" and sender_role == "BUYER" and text:
            texts.append(text)
    return ConversationFacts(
        id=conversation_id,
        shop_account_id=shop_id,
        shop_name=shop_name,
        shop_time_zone=shop_tz,
        buyer_name=open_sealed(Customer, "display_name", sealed, buyer_uid) or "",
        buyer_texts=tuple(texts[:BUYER_TEXTS]),
        **found,
    )


def _column(model: Any, name: str) -> str:
    column = getattr(model._meta.get_field(name), "column", None)
    if not column:
        raise LookupError(f"{model.__name__}.{name} has no column")
    return str(column)


MESSAGE_FIELDS = ("direction", "type", "sender_role", "text", "content", "row_uid")


def _facts_sql(actor: ActingMember) -> tuple[str, list[Any]]:
    """One statement for ``conversation_facts`` and its parameters after the conversation id:
    the conversation's shop and buyer (row kind 0) if it is of a shop the actor works on
    (``conversation_get``'s rule), and then only then its recent visible messages (kind 1),
    newest first. Plain SQL with names from the models' metadata: on PostgreSQL compiling and
    planning the two ORM queries cost more than a quick reply's render did otherwise."""
    conv, shop, buyer, msg = Conversation._meta, ShopAccount._meta, Customer._meta, Message._meta
    cv = {f: _column(Conversation, f) for f in ("shop_account", "customer")}
    ms = {f: _column(Message, f) for f in ("conversation", "is_visible", "sent_at")}
    if actor.sees_all_shops:
        rule = f'sh."{_column(ShopAccount, "organisation")}" = %s'
        rule_params: list[Any] = [actor.organisation_id]
    else:
        their_shops, rule_params = shop_ids_subquery(actor)
        rule = f'cv."{cv["shop_account"]}" IN ({their_shops})'
    facts = (
        f'SELECT sh."{shop.pk.column}" AS shop_id, '  # noqa: S608 - names from _meta
        f'sh."{_column(ShopAccount, "name")}" AS shop_name, '
        f'sh."{_column(ShopAccount, "time_zone")}" AS shop_tz, '
        f'bu."{_column(Customer, "display_name")}" AS buyer, '
        f'bu."{_column(Customer, "row_uid")}" AS buyer_uid FROM "{conv.db_table}" cv '
        f'INNER JOIN "{shop.db_table}" sh ON sh."{shop.pk.column}" = cv."{cv["shop_account"]}" '
        f'INNER JOIN "{buyer.db_table}" bu ON bu."{buyer.pk.column}" = cv."{cv["customer"]}" '
        f'WHERE cv."{conv.pk.column}" = %s AND {rule}'
    )
    fields = [f'ms."{_column(Message, f)}"' for f in MESSAGE_FIELDS]
    sort = [f'ms."{ms["sent_at"]}"', f'ms."{msg.pk.column}"']
    blanks = ", ".join(["NULL"] * (len(fields) + len(sort)))
    at = 7 + len(fields)  # 1-based position of the sort key's first column
    sql = (
        f"WITH facts AS ({facts}) "  # noqa: S608 - names from _meta
        f"SELECT 0, shop_id, shop_name, shop_tz, buyer, buyer_uid, {blanks} FROM facts "
        f"UNION ALL SELECT 1, NULL, NULL, NULL, NULL, NULL, r.* "
        f"FROM (SELECT {', '.join(fields + sort)} "
        f'FROM "{msg.db_table}" ms WHERE ms."{ms["conversation"]}" = %s '
        f'AND ms."{ms["is_visible"]}" = %s AND EXISTS (SELECT 1 FROM facts) '
        f"ORDER BY {sort[0]} DESC, {sort[1]} DESC LIMIT %s) r "
        f"ORDER BY 1, {at} DESC, {at + 1} DESC"
    )
    return sql, [*rule_params]
