"""Reads of the word lists, scoped to the acting user: the supervisors' word-list page and its
CSV export (supervisors and admins of the organisation; a shop outside reach is NotFound), and
the screen preview (anyone who reaches the shop: the composer's agents too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from inbox.selectors.accounts import AnyUser, shop_account_get, shop_account_list
from monitoring.models import (
    DETECTOR_CATEGORIES,
    AllowEntry,
    AllowKind,
    CategoryRule,
    WordAction,
    WordCategory,
    WordEntry,
    WordList,
)
from monitoring.services.screening import ScreeningResult, screen_outgoing
from monitoring.services.words import list_owner, word_list_get_or_create
from monitoring.words.cache import category_actions

if TYPE_CHECKING:
    from inbox.models import Member, ShopAccount

MAX_SCREEN_TEXT = 10_000


def action_label(action: str) -> str:
    return str(WordAction(action).label) if action in WordAction.values else action


@dataclass
class CategoryRow:
    category: str
    label: str
    detector: bool
    action: str  # what applies: the list's own rule, else inherited
    own: str  # the list's own rule ("": none)
    inherited: str  # what applies without the list's own rule
    entries: list[WordEntry] = field(default_factory=list)

    @property
    def action_label(self) -> str:
        return action_label(self.action)

    @property
    def inherited_label(self) -> str:
        return action_label(self.inherited)


@dataclass
class ShopRow:
    shop: ShopAccount
    overridden: bool


@dataclass
class WordsPage:
    member: Member
    shop: ShopAccount | None  # None: the organisation's list
    word_list: WordList | None  # None: the shop has no override yet
    categories: list[CategoryRow]
    phrases: list[AllowEntry]
    domains: list[AllowEntry]
    shops: list[ShopRow]
    inherited_words: int  # the organisation's words a shop's override starts from


def _rules(word_list: WordList | None) -> dict[str, str]:
    if word_list is None:
        return {}
    return dict(CategoryRule.objects.filter(word_list=word_list).values_list("category", "action"))


def words_page(user: AnyUser, shop_account_id: int | None) -> WordsPage:
    """The organisation's list (``shop_account_id`` None, created and seeded on first view) or a
    shop's override, its words grouped by category with each category's action, its allow-lists
    and the shops to switch to."""
    member, shop_id = list_owner(user, shop_account_id)
    organisation_list = word_list_get_or_create(organisation_id=member.organisation_id)
    shop = shop_account_get(user, shop_id) if shop_id is not None else None
    word_list = (
        organisation_list
        if shop_id is None
        else WordList.objects.filter(
            organisation_id=member.organisation_id, shop_account_id=shop_id
        ).first()
    )
    own = _rules(word_list)
    inherited = category_actions(_rules(organisation_list) if shop_id is not None else {}, {})
    rows = {
        c.value: CategoryRow(
            category=c.value,
            label=str(c.label),
            detector=c in DETECTOR_CATEGORIES,
            action=own.get(c.value) or inherited.get(c.value, ""),
            own=own.get(c.value, ""),
            inherited=inherited.get(c.value, ""),
        )
        for c in WordCategory
    }
    phrases: list[AllowEntry] = []
    domains: list[AllowEntry] = []
    if word_list is not None:
        for entry in WordEntry.objects.filter(word_list=word_list).order_by("normalised", "id"):
            rows[entry.category].entries.append(entry)
        for allowed in AllowEntry.objects.filter(word_list=word_list).order_by("value", "id"):
            (domains if allowed.kind == AllowKind.DOMAIN else phrases).append(allowed)
    overridden = set(
        WordList.objects.filter(
            organisation_id=member.organisation_id, shop_account__isnull=False
        ).values_list("shop_account_id", flat=True)
    )
    return WordsPage(
        member=member,
        shop=shop,
        word_list=word_list,
        categories=list(rows.values()),
        phrases=phrases,
        domains=domains,
        shops=[ShopRow(s, s.pk in overridden) for s in shop_account_list(user)],
        inherited_words=(
            WordEntry.objects.filter(word_list=organisation_list).count() if shop_id else 0
        ),
    )


def word_list_entries(user: AnyUser, shop_account_id: int | None) -> QuerySet[WordEntry]:
    """The words of the organisation's list or of a shop's override (none yet: empty), by
    category and word: what the CSV export writes."""
    member, shop_id = list_owner(user, shop_account_id)
    if shop_id is None:
        word_list_get_or_create(organisation_id=member.organisation_id)
    return WordEntry.objects.filter(
        word_list__organisation_id=member.organisation_id, word_list__shop_account_id=shop_id
    ).order_by("category", "normalised", "id")


def screen_preview(user: AnyUser, *, shop_account_id: int, text: str) -> ScreeningResult:
    """What a send of ``text`` from the shop would do, recording nothing; for anyone who
    reaches the shop (its agents, the organisation's supervisors and admins), else NotFound."""
    shop = shop_account_get(user, shop_account_id)
    return screen_outgoing(
        organisation_id=shop.organisation_id,
        shop_account_id=shop.pk,
        text=text,
        record=False,
    )
