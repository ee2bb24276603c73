"""What supervisors and admins change of the sensitive-word monitor: the organisation's word
list (seeded from the shipped defaults on first use), a shop's override of it, their entries,
the action of each category and the allow-lists (phrases never matched, link domains let
through).

Every change is one transaction that locks the list row, writes, bumps the list's ``version``
(the compiled screener's cache key, monitoring/words/cache.py) and writes one audit event with
the shop in ``shop_account_id``. Refusals are ``ServiceError`` with a message marked for
translation and ``details["field"]`` naming the form field. Agents, and shops outside the
actor's reach, are a 404 (the lists do not exist for them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from inbox.selectors.accounts import AnyUser, member_for, shop_account_get
from monitoring.audit_log.address import request_address
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
from monitoring.services.audit import audit_record
from monitoring.words.defaults import default_entries
from monitoring.words.normalise import normalise_word
from scrm.api import NotFound, ServiceError
from scrm.params import MAX_ID

if TYPE_CHECKING:
    from inbox.models import Member

WORD_MAX = 100  # WordEntry.word / normalised
ALLOW_MAX = 200  # AllowEntry.value / normalised
# Categories a word may be filed under (the detectors' categories have no words).
WORD_CATEGORIES = tuple(c.value for c in WordCategory if c not in DETECTOR_CATEGORIES)
LIST_ACTIONS = (WordAction.BLOCK.value, WordAction.MASK.value, WordAction.FLAG.value)


# --- who may -----------------------------------------------------------------------------------
def words_manager(user: AnyUser) -> Member:
    """The acting member when a supervisor or admin of an organisation; NotFound for everyone
    else (the word lists do not exist for agents)."""
    member = member_for(user)
    if not member.sees_all_shops:
        raise NotFound("Page not found.")
    return member


def list_owner(user: AnyUser, shop_account_id: int | None) -> tuple[Member, int | None]:
    """The manager and the shop whose override is meant (None: the organisation's list);
    a shop out of reach or of another organisation is NotFound."""
    member = words_manager(user)
    if shop_account_id is None:
        return member, None
    if not 1 <= shop_account_id <= MAX_ID:
        raise NotFound("Shop account not found.")
    return member, shop_account_get(user, shop_account_id).pk


# --- the lists ---------------------------------------------------------------------------------
def _seed(word_list: WordList) -> int:
    seen: set[str] = set()
    rows = []
    for word, category in default_entries():
        normalised = normalise_word(word)
        if not normalised or normalised in seen or len(normalised) > WORD_MAX:
            continue
        seen.add(normalised)
        rows.append(
            WordEntry(
                word_list=word_list, word=word[:WORD_MAX], normalised=normalised, category=category
            )
        )
    WordEntry.objects.bulk_create(rows, batch_size=500)
    return len(rows)


@transaction.atomic
def word_list_get_or_create(*, organisation_id: int) -> WordList:
    """The organisation's list; on first use created and seeded with the shipped default
    entries (monitoring/words/defaults.py), audited as ``word_list.created`` (no actor).

    Keeps: one list per organisation (the unique constraint: a concurrent first use waits and
    reads the winner's list).
    """
    found = WordList.objects.filter(
        organisation_id=organisation_id, shop_account__isnull=True
    ).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            word_list = WordList.objects.create(organisation_id=organisation_id)
    except IntegrityError:
        return WordList.objects.get(organisation_id=organisation_id, shop_account__isnull=True)
    seeded = _seed(word_list)
    audit_record(
        organisation_id=organisation_id,
        actor=None,
        action="word_list.created",
        target=word_list,
        data={"shop_account_id": None, "seeded_entries": seeded},
    )
    return word_list


def locked_list(member: Member, shop_account_id: int | None, *, create: bool) -> WordList:
    """The list to change, locked until the transaction ends; a shop's override is created on
    its first change (empty: the shop follows the organisation in everything else)."""
    if shop_account_id is None:
        word_list_get_or_create(organisation_id=member.organisation_id)
    elif create:
        try:
            with transaction.atomic():
                WordList.objects.get_or_create(
                    organisation_id=member.organisation_id, shop_account_id=shop_account_id
                )
        except IntegrityError:
            pass  # created by a concurrent change: locked below
    found = (
        WordList.objects.select_for_update()
        .filter(organisation_id=member.organisation_id, shop_account_id=shop_account_id)
        .first()
    )
    if found is None:
        raise NotFound("Word list not found.")
    return found


def list_changed(
    word_list: WordList,
    *,
    actor: AnyUser,
    action: str,
    target: Any = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Bump the list's version (the screener cache's key) and audit the change."""
    now = timezone.now()
    WordList.objects.filter(pk=word_list.pk).update(
        version=F("version") + 1, updated_at=now, updated_by_id=actor.pk
    )
    word_list.refresh_from_db(fields=["version", "updated_at", "updated_by"])
    audit_record(
        organisation_id=word_list.organisation_id,
        actor=actor,
        action=action,
        target=target if target is not None else word_list,
        data={
            "shop_account_id": word_list.shop_account_id,
            "list_version": word_list.version,
            **(data or {}),
        },
        shop_account_id=word_list.shop_account_id,
        ip=request_address(),
    )


# --- validation --------------------------------------------------------------------------------
def refuse(message: str, field: str, **details: Any) -> ServiceError:
    return ServiceError(message, details={"field": field, **details})


def clean_word(word: Any) -> tuple[str, str]:
    """The word as typed (trimmed) and its normalised form; refused when empty after
    normalisation or too long."""
    text = word.strip() if isinstance(word, str) else ""
    if not text:
        raise refuse(gettext_noop("Type a word or phrase."), "word")
    if len(text) > WORD_MAX:
        raise refuse(gettext_noop("A word is at most 100 characters."), "word")
    normalised = normalise_word(text)
    if not normalised:
        raise refuse(gettext_noop("This word has no letters or digits to match."), "word")
    if len(normalised) > WORD_MAX:
        raise refuse(gettext_noop("A word is at most 100 characters."), "word")
    return text, normalised


def clean_category(category: Any) -> str:
    if category not in WORD_CATEGORIES:
        raise refuse(gettext_noop("Choose one of the word categories."), "category")
    return str(category)


def clean_action(action: Any, *, shop_override: bool, blank: bool) -> str:
    """An action for an entry or a category: block, mask or flag; ``allow`` in a shop's
    override only; empty (the category's action, or the organisation's) when ``blank``."""
    allowed = LIST_ACTIONS + ((WordAction.ALLOW.value,) if shop_override else ())
    if action in allowed or (blank and action == ""):
        return str(action)
    if action == WordAction.ALLOW:
        raise refuse(gettext_noop("'Allow' exists only in a shop's override."), "action")
    raise refuse(gettext_noop("Choose block, mask or flag."), "action")


def _duplicate(word_list: WordList, normalised: str, *, exclude: int | None = None) -> None:
    others = WordEntry.objects.filter(word_list=word_list, normalised=normalised)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    existing = others.values_list("word", flat=True).first()
    if existing is not None:
        raise refuse(
            gettext_noop("This word is already in the list (as “%(existing)s”)."),
            "word",
            existing=existing,
        )


# --- entries -----------------------------------------------------------------------------------
@transaction.atomic
def word_entry_add(
    *, actor: AnyUser, shop_account_id: int | None, word: str, category: str, action: str = ""
) -> WordEntry:
    """Add a word to the organisation's list or a shop's override (created on first use).

    Keeps: the word is stored with its normalised form, unique per list (a second spelling of a
    word already there, "ＷｅＣｈａｔ" for "wechat", is refused naming the first); ``action``
    empty means the category's; ``allow`` only in a shop's override (the organisation's word
    does not apply in that shop). Version bumped, ``word_list.entry_added`` audited.
    """
    member, shop_id = list_owner(actor, shop_account_id)
    text, normalised = clean_word(word)
    category = clean_category(category)
    action = clean_action(action, shop_override=shop_id is not None, blank=True)
    word_list = locked_list(member, shop_id, create=True)
    _duplicate(word_list, normalised)
    entry = WordEntry.objects.create(
        word_list=word_list, word=text, normalised=normalised, category=category, action=action
    )
    list_changed(
        word_list,
        actor=actor,
        action="word_list.entry_added",
        target=entry,
        data={"word": text, "category": category, "action": action},
    )
    return entry


def _entry(word_list: WordList, entry_id: int) -> WordEntry:
    if not 1 <= entry_id <= MAX_ID:
        raise NotFound("Word not found.")
    found = WordEntry.objects.filter(word_list=word_list, pk=entry_id).first()
    if found is None:
        raise NotFound("Word not found.")
    return found


@transaction.atomic
def word_entry_update(
    *,
    actor: AnyUser,
    shop_account_id: int | None,
    entry_id: int,
    word: str,
    category: str,
    action: str = "",
) -> WordEntry:
    """Change a word, its category or its action (same rules as ``word_entry_add``); an
    unchanged save writes nothing. Audited as ``word_list.entry_updated`` with each change."""
    member, shop_id = list_owner(actor, shop_account_id)
    text, normalised = clean_word(word)
    category = clean_category(category)
    action = clean_action(action, shop_override=shop_id is not None, blank=True)
    word_list = locked_list(member, shop_id, create=False)
    entry = _entry(word_list, entry_id)
    after = {"word": text, "category": category, "action": action}
    before = {"word": entry.word, "category": entry.category, "action": entry.action}
    changed = {k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v}
    if not changed:
        return entry
    _duplicate(word_list, normalised, exclude=entry.pk)
    entry.word, entry.normalised, entry.category, entry.action = (
        text,
        normalised,
        category,
        action,
    )
    entry.save(update_fields=["word", "normalised", "category", "action"])
    list_changed(
        word_list,
        actor=actor,
        action="word_list.entry_updated",
        target=entry,
        data={"changed": changed},
    )
    return entry


@transaction.atomic
def word_entry_remove(*, actor: AnyUser, shop_account_id: int | None, entry_id: int) -> None:
    """Remove a word from a list; audited as ``word_list.entry_removed`` with the word."""
    member, shop_id = list_owner(actor, shop_account_id)
    word_list = locked_list(member, shop_id, create=False)
    entry = _entry(word_list, entry_id)
    data = {"entry_id": entry.pk, "word": entry.word, "category": entry.category}
    entry.delete()
    list_changed(word_list, actor=actor, action="word_list.entry_removed", data=data)


# --- categories --------------------------------------------------------------------------------
@transaction.atomic
def category_action_set(
    *, actor: AnyUser, shop_account_id: int | None, category: str, action: str
) -> CategoryRule | None:
    """Set what a category's matches do (words and detectors alike): block, mask or flag;
    ``allow`` in a shop's override turns the category off in that shop; empty removes the
    rule (the organisation's list goes back to the shipped default, a shop to the
    organisation's). Audited as ``word_list.category_set``; unchanged writes nothing."""
    member, shop_id = list_owner(actor, shop_account_id)
    if category not in WordCategory.values:
        raise refuse(gettext_noop("Choose a category."), "category")
    action = clean_action(action, shop_override=shop_id is not None, blank=True)
    word_list = locked_list(member, shop_id, create=action != "")
    rule = CategoryRule.objects.filter(word_list=word_list, category=category).first()
    before = rule.action if rule is not None else ""
    if before == action:
        return rule
    if action == "":
        if rule is not None:
            rule.delete()
        rule = None
    elif rule is None:
        rule = CategoryRule.objects.create(word_list=word_list, category=category, action=action)
    else:
        rule.action = action
        rule.save(update_fields=["action"])
    list_changed(
        word_list,
        actor=actor,
        action="word_list.category_set",
        data={"category": category, "from": before, "to": action},
    )
    return rule


# --- allow-lists -------------------------------------------------------------------------------
def clean_allow(kind: Any, value: Any) -> tuple[str, str, str]:
    """(kind, value as typed, normalised): a phrase normalised like words, a domain lower case
    without scheme, path or leading "www."."""
    if kind not in AllowKind.values:
        raise refuse(gettext_noop("Choose a phrase or a domain."), "kind")
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > ALLOW_MAX:
        raise refuse(gettext_noop("Type 1 to 200 characters."), "value")
    if kind == AllowKind.DOMAIN:
        host = text.lower().split("://", 1)[-1].split("/", 1)[0].split("@")[-1].split(":")[0]
        host = host.removeprefix("www.").strip(".")
        if not host or "." not in host or any(c.isspace() for c in host):
            raise refuse(gettext_noop("Type a domain such as example.com."), "value")
        return str(kind), text, host
    normalised = normalise_word(text)
    if not normalised or len(normalised) > ALLOW_MAX:
        raise refuse(gettext_noop("This phrase has no letters or digits to match."), "value")
    return str(kind), text, normalised


@transaction.atomic
def allow_entry_add(
    *, actor: AnyUser, organisation_id: int, shop_account_id: int | None, kind: str, value: str
) -> AllowEntry:
    """Add a phrase inside which no word matches, or a domain the link detector lets through,
    to the organisation's list or a shop's override (a dismissed false positive proposes one).

    Keeps: ``organisation_id`` must be the actor's (else 404); unique per list and kind on the
    normalised value (a second spelling is refused). Audited as ``word_list.allow_added`` with
    the kind only (a phrase may come from a message and hold personal data).
    """
    member, shop_id = list_owner(actor, shop_account_id)
    if member.organisation_id != organisation_id:
        raise NotFound("Word list not found.")
    kind, text, normalised = clean_allow(kind, value)
    word_list = locked_list(member, shop_id, create=True)
    if AllowEntry.objects.filter(word_list=word_list, kind=kind, normalised=normalised).exists():
        raise refuse(gettext_noop("This is already allowed."), "value")
    entry = AllowEntry.objects.create(
        word_list=word_list, kind=kind, value=text, normalised=normalised
    )
    list_changed(
        word_list, actor=actor, action="word_list.allow_added", target=entry, data={"kind": kind}
    )
    return entry


@transaction.atomic
def allow_entry_remove(*, actor: AnyUser, shop_account_id: int | None, allow_entry_id: int) -> None:
    """Remove an allow-list entry; audited as ``word_list.allow_removed`` (kind and id)."""
    member, shop_id = list_owner(actor, shop_account_id)
    word_list = locked_list(member, shop_id, create=False)
    found = None
    if 1 <= allow_entry_id <= MAX_ID:
        found = AllowEntry.objects.filter(word_list=word_list, pk=allow_entry_id).first()
    if found is None:
        raise NotFound("Allow-list entry not found.")
    data = {"allow_entry_id": found.pk, "kind": found.kind}
    found.delete()
    list_changed(word_list, actor=actor, action="word_list.allow_removed", data=data)
