"""The compiled screener of a shop: the organisation's word list merged with the shop's override,
built once per (organisation list, shop list) version in each process and swapped when either
changes.

The merge (``merged_specs``): every organisation word with its action (its own, else its
category's: the organisation's rule, else the shipped default); the shop's override then wins
word by word (same normalised form) and category by category, and ``allow`` there removes the
inherited word, or the whole category (a detector's too). Allowed phrases and link domains are
the union of both lists.

Each call reads the two lists' versions in one small query. The key also holds each list's
``updated_at``: a change rolled back after this process compiled it inside its transaction
leaves the version number free for the next change, whose time differs, so a stale screener is
never served under it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from monitoring.models import (
    DETECTOR_CATEGORIES,
    AllowEntry,
    AllowKind,
    CategoryRule,
    WordAction,
    WordEntry,
    WordList,
)
from monitoring.words.defaults import DEFAULT_CATEGORY_ACTIONS
from monitoring.words.screener import EntrySpec, Screener

ListKey = tuple[int, datetime] | None  # (version, updated_at) of a list; None: no list


@dataclass(frozen=True)
class Compiled:
    key: tuple[ListKey, ListKey]
    screener: Screener


_lock = threading.Lock()
_compiled: dict[tuple[int, int | None], Compiled] = {}


def _keys(
    organisation_id: int, shop_account_id: int | None
) -> dict[int | None, tuple[int, tuple[int, datetime]]]:
    """Per list (None: the organisation's; else the shop's id): its id and cache key."""
    scope = Q(shop_account__isnull=True)
    if shop_account_id is not None:
        scope |= Q(shop_account_id=shop_account_id)
    rows = WordList.objects.filter(scope, organisation_id=organisation_id).values_list(
        "shop_account_id", "id", "version", "updated_at"
    )
    return {shop: (pk, (version, updated)) for shop, pk, version, updated in rows}


def category_actions(rules: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    """Each category's action: the shipped default, the organisation's rule, the shop's."""
    actions = dict(DEFAULT_CATEGORY_ACTIONS)
    actions.update(rules)
    actions.update(overrides)
    return actions


def merged_specs(
    organisation_list_id: int, shop_list_id: int | None
) -> tuple[list[EntrySpec], dict[str, str], list[str], list[str]]:
    """(entries with resolved actions, detector actions, allowed phrases, allowed domains) of
    the organisation's list merged with the shop's override (see the module's docstring)."""
    list_ids = [organisation_list_id] + ([shop_list_id] if shop_list_id else [])
    rules: dict[int, dict[str, str]] = {pk: {} for pk in list_ids}
    for list_id, category, action in CategoryRule.objects.filter(
        word_list_id__in=list_ids
    ).values_list("word_list_id", "category", "action"):
        rules[list_id][category] = action
    actions = category_actions(rules[organisation_list_id], rules.get(shop_list_id or 0, {}))
    words: dict[str, tuple[str, str, str]] = {}
    # The organisation's entries first, the override's after: same normalised form wins.
    entries = WordEntry.objects.filter(word_list_id__in=list_ids).values_list(
        "word_list_id", "normalised", "word", "category", "action"
    )
    ordered = sorted(entries, key=lambda row: row[0] != organisation_list_id)
    for _list_id, normalised, word, category, action in ordered:
        words[normalised] = (word, category, action)
    specs = []
    for word, category, action in words.values():
        resolved = action or actions.get(category, WordAction.FLAG)
        if resolved != WordAction.ALLOW and actions.get(category) != WordAction.ALLOW:
            specs.append(EntrySpec(word=word, category=category, action=resolved))
    detectors = {
        str(c): actions[c]
        for c in DETECTOR_CATEGORIES
        if c in actions and actions[c] != WordAction.ALLOW
    }
    phrases: list[str] = []
    domains: list[str] = []
    for kind, value in AllowEntry.objects.filter(word_list_id__in=list_ids).values_list(
        "kind", "normalised"
    ):
        (domains if kind == AllowKind.DOMAIN else phrases).append(value)
    return specs, detectors, phrases, domains


def build(organisation_list_id: int, shop_list_id: int | None) -> Screener:
    specs, detectors, phrases, domains = merged_specs(organisation_list_id, shop_list_id)
    return Screener.build(
        specs, detector_actions=detectors, allow_phrases=phrases, allow_domains=domains
    )


def screener_for(*, organisation_id: int, shop_account_id: int | None) -> Screener:
    """The screener for sends of ``shop_account_id`` (None: the organisation's list alone).

    Keeps: one query to read the lists' versions when the compiled screener is current; an
    organisation without a list gets one seeded from the shipped defaults on first use; a
    change to either list is compiled by the next call in every process.
    """
    found = _keys(organisation_id, shop_account_id)
    if None not in found:
        from monitoring.services.words import word_list_get_or_create

        word_list_get_or_create(organisation_id=organisation_id)
        found = _keys(organisation_id, shop_account_id)
    org_id, org_key = found[None]
    shop = found.get(shop_account_id) if shop_account_id is not None else None
    key = (org_key, shop[1] if shop else None)
    # A shop without an override shares the organisation's screener.
    slot = (organisation_id, shop_account_id if shop else None)
    compiled = _compiled.get(slot)
    if compiled is not None and compiled.key == key:
        return compiled.screener
    screener = build(org_id, shop[0] if shop else None)
    with _lock:
        _compiled[slot] = Compiled(key=key, screener=screener)
    return screener


def cache_clear() -> None:
    """Forget every compiled screener (tests; a process that wants its memory back)."""
    with _lock:
        _compiled.clear()
