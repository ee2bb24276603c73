"""Reads scoped to the acting user: which quick replies and materials they may see and use.

Visibility: a personal item only to its owner; a team item to people who work on one of its
shop accounts (supervisors and admins work on all of their organisation's); an organisation
item to everyone of the organisation. Nothing crosses organisations.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from django.db import connection
from django.db.models import BooleanField, Count, Model, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from inbox.selectors import AnyUser
from inbox.selectors.for_apps import (
    ActingMember,
    ConversationFacts,
    acting_member,
    conversation_facts,
    member_names,
    shop_ids_subquery,
)
from scrm.api import Forbidden, NotFound, ServiceError
from templates_app import library, rendering
from templates_app.models import Material, QuickReply, QuickReplyUsage, Scope
from templates_app.search import query_terms

M = TypeVar("M", QuickReply, Material)


def _condition(sql: str, params: list[Any]) -> RawSQL:
    # The SQL is ours (names from the models' metadata); every value is a parameter.
    return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611


def _visible_sql(model: type[Model], member: ActingMember) -> tuple[str, list[Any]]:
    """The visibility rule as one SQL condition on ``model``'s table, and its parameters.

    The database reads of one reply or material (detail, the services' checks, material
    lists) use it; the picker applies the same rule in memory (``library.View.visible``), and
    both answer the same scope cases in the tests. Plain SQL: compiling the rule's ORM lookups
    and nested subqueries cost more than running the query. The shops an agent works on are
    inbox's rule (``shop_ids_subquery``: member shops of their own organisation) as a
    subquery, so they cost no round trip of their own. Columns are
    unqualified, so the condition stays right when Django aliases the table in a subquery; a
    join that brings a column of the same name makes the database refuse it as ambiguous.
    """
    own = (
        '"organisation_id" = %s AND ("scope" = %s OR ("scope" = %s AND "owner_id" = %s) '
        'OR ("scope" = %s'
    )
    params: list[Any] = [
        member.organisation_id,
        Scope.ORGANISATION,
        Scope.PERSONAL,
        member.user_id,
        Scope.TEAM,
    ]
    if member.sees_all_shops:  # every shop of the organisation is theirs
        return f"{own}))", params
    link = model.shop_accounts.through._meta  # type: ignore[attr-defined]
    link_item = link.get_field(model._meta.model_name or "").column
    link_shop = link.get_field("shopaccount").column
    their_shops, shop_params = shop_ids_subquery(member)
    team_items = f'SELECT t."{link_item}" FROM "{link.db_table}" t WHERE t."{link_shop}" IN '  # noqa: S608
    sql = f'{own} AND "{model._meta.pk.column}" IN ({team_items}({their_shops}))))'
    return sql, [*params, *shop_params]


def _visible(model: type[M], user: AnyUser | ActingMember) -> QuerySet[M]:
    member = user if isinstance(user, ActingMember) else acting_member(user)
    return model.objects.filter(_condition(*_visible_sql(model, member)))


Relations = dict[int, tuple[list[int], list[int]]]


def quick_reply_relations(ids: list[int]) -> Relations:
    """Shop account and material ids of some quick replies, in one round trip: a page of the
    picker needs no model objects for them, and compiling two ORM queries per keystroke cost
    more than running them."""
    out: Relations = {i: ([], []) for i in ids}
    if not ids:
        return out
    shops = QuickReply.shop_accounts.through._meta
    materials = QuickReply.materials.through._meta
    marks = ", ".join(["%s"] * len(ids))
    sql = (  # table and column names from the models' own metadata; values are parameters
        f'SELECT 0, "quickreply_id", "shopaccount_id" FROM "{shops.db_table}" '  # noqa: S608
        f'WHERE "quickreply_id" IN ({marks}) '
        f'UNION ALL SELECT 1, "quickreply_id", "material_id" FROM "{materials.db_table}" '
        f'WHERE "quickreply_id" IN ({marks}) ORDER BY 1, 3'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, *ids])
        for kind, qid, other in cursor.fetchall():
            out[qid][kind].append(other)
    return out


def can_manage(member: ActingMember, item: QuickReply | Material) -> bool:
    """Agents manage their personal items; supervisors and admins also team and organisation."""
    if item.organisation_id != member.organisation_id:
        return False
    if item.scope == Scope.PERSONAL:
        return item.owner_id == member.user_id
    return member.sees_all_shops


@dataclass
class PickerPage:
    """One page of the picker: the held entries (read them, never change them), the view
    they were found in, and the (usage_count, id) to resume after when more follow."""

    view: library.View
    entries: list[library.Entry]
    next_after: tuple[int, int] | None

    @property
    def items(self) -> list[QuickReply]:
        """The page as the caller's own QuickReply copies."""
        return [self.view.reply(e) for e in self.entries]


def quick_reply_page_for(
    user: AnyUser,
    *,
    search: str = "",
    category: str = "",
    scope: str = "",
    include_archived: bool = False,
    archived_only: bool = False,
    language: str = "",
    after: tuple[int, int] | None = None,
    limit: int = 50,
) -> PickerPage:
    """The picker: visible quick replies matching ``search`` (word prefixes of the shortcut,
    title, category and every body; CJK by character pairs), most used first. Archived ones
    only when asked (``include_archived``: them too; ``archived_only``: only them); with
    ``language``, only replies that have a version in it.

    Read from the organisation's in-memory library (``templates_app.library``): content as
    committed, usage order at most ``SCRM_QUICK_REPLY_SYNC_SECONDS`` old.
    """
    view = library.view_for(acting_member(user))
    query = library.Query(
        terms=query_terms(search),
        category=category,
        scope=scope,
        include_archived=include_archived,
        archived_only=archived_only,
        language=language,
        after=after,
        limit=limit,
    )
    entries, more = view.find(query)
    last = entries[-1] if more and entries else None
    return PickerPage(view, entries, (view.usage_of(last), last.reply.id) if last else None)


def quick_reply_categories_for(user: AnyUser) -> list[str]:
    """The categories of the quick replies the user sees (archived ones too), sorted."""
    view = library.view_for(acting_member(user))
    found = {e.reply.category for e in view.snapshot.entries.values() if view.visible(e)}
    return sorted(c for c in found if c)


def quick_replies_sending(user: AnyUser, material_id: int) -> list[QuickReply]:
    """The quick replies the user sees that send a material (archived ones too), by title."""
    view = library.view_for(acting_member(user))
    found = [
        view.reply(e)
        for e in view.snapshot.entries.values()
        if material_id in e.material_ids and view.visible(e)
    ]
    return sorted(found, key=lambda q: (q.title.lower(), q.id))


def quick_reply_get(user: AnyUser, quick_reply_id: int) -> QuickReply:
    """One visible quick reply (archived included), or NotFound."""
    try:
        return _visible(QuickReply, user).get(id=quick_reply_id)
    except QuickReply.DoesNotExist:
        raise NotFound("Quick reply not found.") from None


def quick_reply_visible(member: ActingMember, quick_reply_id: int) -> QuickReply | None:
    """One quick reply the member may see (archived included), else None."""
    return _visible(QuickReply, member).filter(id=quick_reply_id).first()


def quick_reply_export_for(user: AnyUser) -> tuple[list[QuickReply], Relations]:
    """The active quick replies the user manages: their personal ones for agents, organisation
    and team ones for supervisors and admins."""
    member = acting_member(user)
    qs = QuickReply.objects.filter(organisation_id=member.organisation_id, is_archived=False)
    if member.sees_all_shops:
        qs = qs.exclude(scope=Scope.PERSONAL)
    else:
        qs = qs.filter(scope=Scope.PERSONAL, owner_id=member.user_id)
    items = list(qs.order_by("id"))
    return items, quick_reply_relations([q.id for q in items])


# --- rendering -------------------------------------------------------------------------------


@dataclass
class RenderResult:
    text: str
    language: str
    prompts: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)


def conversation_variables(
    conversation: ConversationFacts, agent: ActingMember, now: Any = None
) -> dict[str, str | None]:
    """The catalogue's values for one conversation (None where this chat does not know it)."""
    now = now or timezone.now()
    shop_date = now.astimezone(zoneinfo.ZoneInfo(conversation.shop_time_zone)).date()
    return {
        "buyer_name": conversation.buyer_name or None,
        "shop_name": conversation.shop_name,
        "agent_name": agent.name,
        "shop_date": shop_date.isoformat(),
        "order_id": conversation.order_id,
        "product_id": conversation.product_id,
        "product_name": conversation.product_name,
        "tracking_number": conversation.tracking_number,
    }


def quick_reply_render(
    user: AnyUser,
    *,
    quick_reply_id: int,
    conversation_id: int,
    language: str | None = None,
    values: dict[str, str] | None = None,
) -> tuple[QuickReply, ConversationFacts, RenderResult]:
    """Fill a visible quick reply from a visible conversation, in the buyer's language.

    Never returns a text with a blank where a value should be: unknown or missing variables
    raise a ``template_variables`` error listing them, with the prompts the UI should ask.
    """
    member = acting_member(user)
    view = library.view_for(member)
    entry = view.get(quick_reply_id)
    if entry is None or entry.reply.is_archived:
        raise NotFound("Quick reply not found.")
    quick_reply = view.reply(entry)
    conversation = conversation_facts(member, conversation_id)
    bodies = quick_reply.bodies
    detected = rendering.detect_language(conversation.buyer_texts)
    chosen = rendering.pick_language(bodies, quick_reply.default_language, language, detected)
    if chosen is None:
        raise ServiceError(
            "This quick reply has no version in that language.",
            code="language_unavailable",
            details={"language": language, "available": sorted(bodies)},
        )
    custom = list(quick_reply.custom_fields or [])
    given = {k: str(v) for k, v in (values or {}).items() if v is not None}
    context = conversation_variables(conversation, member)
    for name, value in given.items():
        if name in rendering.CATALOGUE or name in custom:
            context[name] = value
    try:
        parsed = rendering.parse(bodies[chosen])
    except rendering.TemplateSyntaxError as exc:  # only if the row was edited outside services
        raise ServiceError(
            "The quick reply does not parse.",
            code="template_syntax",
            details={"problems": exc.problems},
        ) from None
    outcome = rendering.render(parsed, context, custom)
    prompts = _prompts(parsed, custom, outcome.missing, given)
    if not outcome.ok:
        raise ServiceError(
            _variables_message(outcome),
            code="template_variables",
            details={
                "unknown": outcome.unknown,
                "missing": outcome.missing,
                "prompts": prompts,
                "language": chosen,
            },
        )
    cards = view.snapshot.materials
    attachments = [
        card.attachment
        for material_id in entry.material_ids
        if (card := cards.get(material_id)) is not None and not card.is_archived
    ]
    return (
        quick_reply,
        conversation,
        RenderResult(outcome.text or "", chosen, prompts, [], attachments),
    )


def _prompts(
    parsed: rendering.ParsedBody, custom: list[str], missing: list[str], given: dict[str, str]
) -> list[dict[str, Any]]:
    """Variables the agent fills by hand: declared custom fields and known ones missing here."""
    prompts = []
    for name in parsed.names:
        if name in custom:
            prompts.append({"name": name, "kind": "custom", "value": given.get(name)})
        elif name in missing or (name in rendering.CATALOGUE and name in given):
            prompts.append(
                {
                    "name": name,
                    "kind": "known",
                    "label": rendering.CATALOGUE[name],
                    "value": given.get(name),
                }
            )
    return prompts


def _variables_message(outcome: rendering.RenderOutcome) -> str:
    if outcome.unknown:
        return "Unknown variables: " + ", ".join(outcome.unknown) + "."
    return "Fill these variables before sending: " + ", ".join(outcome.missing) + "."


# --- stats -----------------------------------------------------------------------------------


def quick_reply_stats(user: AnyUser, *, days: int = 30, limit: int = 50) -> dict[str, Any]:
    """Usage of the organisation's quick replies per template and per agent over ``days``;
    supervisors and admins only."""
    member = acting_member(user)
    if not member.sees_all_shops:
        raise Forbidden("Only supervisors and admins see quick-reply statistics.")
    since = timezone.now() - timedelta(days=days)
    usages = QuickReplyUsage.objects.filter(
        organisation_id=member.organisation_id, used_at__gte=since
    )
    per_template = list(
        usages.values("quick_reply_id", "quick_reply__shortcut", "quick_reply__title")
        .annotate(uses=Count("id"))
        .order_by("-uses", "quick_reply_id")[:limit]
    )
    per_agent = list(
        usages.values("user_id", "user__username")
        .annotate(uses=Count("id"))
        .order_by("-uses", "user_id")[:limit]
    )
    names = member_names(member, {row["user_id"] for row in per_agent if row["user_id"]})
    return {
        "days": days,
        "total": usages.count(),
        "templates": [
            {
                "id": row["quick_reply_id"],
                "shortcut": row["quick_reply__shortcut"],
                "title": row["quick_reply__title"],
                "uses": row["uses"],
            }
            for row in per_template
        ],
        "agents": [
            {
                "user_id": row["user_id"],
                "username": row["user__username"],
                "name": names.get(row["user_id"]) or row["user__username"] or "",
                "uses": row["uses"],
            }
            for row in per_agent
        ],
    }


# --- materials -------------------------------------------------------------------------------


def material_list_for(
    user: AnyUser,
    *,
    search: str = "",
    kind: str = "",
    include_archived: bool = False,
    archived_only: bool = False,
) -> QuerySet[Material]:
    """Visible materials, newest first; archived ones only when asked (``include_archived``:
    them too; ``archived_only``: only them)."""
    qs = _visible(Material, user)
    if archived_only:
        qs = qs.filter(is_archived=True)
    elif not include_archived:
        qs = qs.filter(is_archived=False)
    if search.strip():
        qs = qs.filter(name__icontains=search.strip())
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-id")


def material_get(user: AnyUser, material_id: int) -> Material:
    """One visible material, or NotFound."""
    try:
        return _visible(Material, user).get(id=material_id)
    except Material.DoesNotExist:
        raise NotFound("Material not found.") from None


def material_shop_ids(ids: list[int]) -> dict[int, list[int]]:
    """Shop account ids of some materials, sorted, in one query of the link table (no shop
    row is read: serializers need only the ids)."""
    out: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        through = Material.shop_accounts.through.objects
        pairs = through.filter(material_id__in=ids).order_by("shopaccount_id")
        for material_id, shop_id in pairs.values_list("material_id", "shopaccount_id"):
            out[material_id].append(shop_id)
    return out
