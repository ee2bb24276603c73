"""The word lists' services: the organisation's list seeded on first use, shop overrides, entries,
category actions and allow-lists, each change bumping the list's version and audited; CSV
import and export; the compiled screener swapped when a list changes."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from monitoring.models import AuditEvent, WordEntry, WordList
from monitoring.services.words import (
    allow_entry_add,
    allow_entry_remove,
    category_action_set,
    word_entry_add,
    word_entry_remove,
    word_entry_update,
    word_list_get_or_create,
)
from monitoring.services.words_csv import entries_csv, word_list_import_csv
from monitoring.words.cache import cache_clear, screener_for
from monitoring.words.defaults import default_entries
from monitoring.words.normalise import normalise_word
from monitoring.words.selectors import word_list_entries
from scrm.api import NotFound, ServiceError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache_clear()
    yield
    cache_clear()


def org_list(world) -> WordList:
    return word_list_get_or_create(organisation_id=world.org_a.id)


def version(word_list: WordList) -> int:
    word_list.refresh_from_db()
    return word_list.version


def actions(world, shop, text: str) -> list[tuple[str, str]]:
    scan = screener_for(organisation_id=world.org_a.id, shop_account_id=shop.id).scan(text)
    return [(m.category, m.action) for m in scan.matches]


def test_first_use_seeds_the_organisation_list_from_the_defaults(world):
    word_list = org_list(world)
    expected = {normalise_word(w) for w, _ in default_entries()} - {""}
    stored = set(WordEntry.objects.filter(word_list=word_list).values_list("normalised", flat=True))
    assert stored == expected and len(stored) > 20
    assert word_list_get_or_create(organisation_id=world.org_a.id).pk == word_list.pk
    created = AuditEvent.objects.get(action="word_list.created")
    assert created.organisation_id == world.org_a.id and created.actor_id is None


def test_adding_a_word_bumps_the_version_and_is_audited(world):
    word_list = org_list(world)
    before = version(word_list)
    entry = word_entry_add(
        actor=world.supervisor_a,
        shop_account_id=None,
        word="Zebra Code",
        category="custom",
        action="block",
    )
    assert entry.normalised == normalise_word("Zebra Code")
    assert version(word_list) == before + 1
    event = AuditEvent.objects.get(action="word_list.entry_added")
    assert event.actor_id == world.supervisor_a.id and event.shop_account_id is None
    assert event.data["word"] == "Zebra Code" and event.data["list_version"] == before + 1


def test_a_second_spelling_of_a_word_is_refused_naming_the_first(world):
    word_entry_add(
        actor=world.supervisor_a, shop_account_id=None, word="zebracode", category="custom"
    )
    with pytest.raises(ServiceError) as refused:
        word_entry_add(
            actor=world.supervisor_a,
            shop_account_id=None,
            word="ＺＥＢＲＡＣＯＤＥ",
            category="abuse",
        )
    assert refused.value.details == {"field": "word", "existing": "zebracode"}


@pytest.mark.parametrize(
    ("word", "category", "action", "field"),
    [
        ("", "custom", "", "word"),
        ("...", "custom", "", "word"),
        ("x" * 101, "custom", "", "word"),
        ("fine", "phone", "", "category"),
        ("fine", "nonsense", "", "category"),
        ("fine", "custom", "allow", "action"),
        ("fine", "custom", "explode", "action"),
    ],
)
def test_bad_entries_are_refused_with_the_field(world, word, category, action, field):
    with pytest.raises(ServiceError) as refused:
        word_entry_add(
            actor=world.supervisor_a,
            shop_account_id=None,
            word=word,
            category=category,
            action=action,
        )
    assert refused.value.details["field"] == field


def test_agents_and_other_organisations_do_not_see_the_lists(world):
    with pytest.raises(NotFound):
        word_entry_add(actor=world.agent_a1, shop_account_id=None, word="x1", category="custom")
    with pytest.raises(NotFound):
        word_entry_add(
            actor=world.supervisor_b,
            shop_account_id=world.shop_a1.id,
            word="x1",
            category="custom",
        )
    with pytest.raises(NotFound):
        allow_entry_add(
            actor=world.supervisor_b,
            organisation_id=world.org_a.id,
            shop_account_id=None,
            kind="phrase",
            value="fine",
        )
    assert not WordList.objects.filter(shop_account=world.shop_a1).exists()


def test_update_and_remove_audit_what_changed(world):
    entry = word_entry_add(
        actor=world.supervisor_a, shop_account_id=None, word="zebracode", category="custom"
    )
    word_entry_update(
        actor=world.supervisor_a,
        shop_account_id=None,
        entry_id=entry.id,
        word="zebracode",
        category="abuse",
        action="mask",
    )
    updated = AuditEvent.objects.get(action="word_list.entry_updated")
    assert updated.data["changed"] == {
        "category": {"from": "custom", "to": "abuse"},
        "action": {"from": "", "to": "mask"},
    }
    word_entry_remove(actor=world.supervisor_a, shop_account_id=None, entry_id=entry.id)
    assert not WordEntry.objects.filter(pk=entry.id).exists()
    assert AuditEvent.objects.filter(action="word_list.entry_removed").count() == 1
    with pytest.raises(NotFound):
        word_entry_remove(actor=world.supervisor_a, shop_account_id=None, entry_id=entry.id)


def test_the_cache_swaps_the_screener_when_a_list_changes(world):
    first = screener_for(organisation_id=world.org_a.id, shop_account_id=world.shop_a1.id)
    with CaptureQueriesContext(connection) as queries:
        again = screener_for(organisation_id=world.org_a.id, shop_account_id=world.shop_a1.id)
    assert again is first and len(queries) == 1
    assert actions(world, world.shop_a1, "try zebracode now") == []
    word_entry_add(
        actor=world.supervisor_a,
        shop_account_id=None,
        word="zebracode",
        category="custom",
        action="block",
    )
    assert actions(world, world.shop_a1, "try Z.E.B.R.A.C.O.D.E now") == [("custom", "block")]
    assert screener_for(organisation_id=world.org_a.id, shop_account_id=world.shop_a1.id) is not (
        first
    )


def test_a_shop_override_wins_and_allow_removes_inherited_words(world):
    sup = world.supervisor_a
    word_entry_add(actor=sup, shop_account_id=None, word="zebracode", category="custom")
    word_entry_add(actor=sup, shop_account_id=None, word="lionmark", category="abuse")
    category_action_set(actor=sup, shop_account_id=None, category="custom", action="block")
    category_action_set(actor=sup, shop_account_id=None, category="abuse", action="flag")
    word_entry_add(
        actor=sup, shop_account_id=world.shop_a1.id, word="zebracode", category="custom",
        action="allow",
    )  # fmt: skip
    word_entry_add(
        actor=sup, shop_account_id=world.shop_a1.id, word="tigerline", category="custom",
        action="mask",
    )  # fmt: skip
    text = "zebracode lionmark tigerline"
    assert actions(world, world.shop_a1, text) == [("abuse", "flag"), ("custom", "mask")]
    assert actions(world, world.shop_a2, text) == [("custom", "block"), ("abuse", "flag")]
    category_action_set(
        actor=sup, shop_account_id=world.shop_a1.id, category="abuse", action="allow"
    )
    assert actions(world, world.shop_a1, text) == [("custom", "mask")]
    override = AuditEvent.objects.filter(action="word_list.category_set").last()
    assert override is not None and override.shop_account_id == world.shop_a1.id


def test_allow_list_phrases_and_domains(world):
    sup = world.supervisor_a
    word_entry_add(actor=sup, shop_account_id=None, word="zebracode", category="custom",
                   action="flag")  # fmt: skip
    phrase = allow_entry_add(
        actor=sup,
        organisation_id=world.org_a.id,
        shop_account_id=None,
        kind="phrase",
        value="zebracode museum",
    )
    assert actions(world, world.shop_a1, "visit the zebracode museum") == []
    assert actions(world, world.shop_a1, "zebracode") == [("custom", "flag")]
    with pytest.raises(ServiceError):
        allow_entry_add(
            actor=sup,
            organisation_id=world.org_a.id,
            shop_account_id=None,
            kind="phrase",
            value="ZEBRACODE  museum",
        )
    domain = allow_entry_add(
        actor=sup,
        organisation_id=world.org_a.id,
        shop_account_id=None,
        kind="domain",
        value="https://www.Example.com/path",
    )
    assert domain.normalised == "example.com"
    allow_entry_remove(actor=sup, shop_account_id=None, allow_entry_id=phrase.id)
    assert actions(world, world.shop_a1, "visit the zebracode museum") == [("custom", "flag")]
    added = AuditEvent.objects.filter(action="word_list.allow_added").first()
    assert added is not None and added.data == {
        "shop_account_id": None,
        "list_version": added.data["list_version"],
        "kind": "phrase",
    }


# --- CSV -----------------------------------------------------------------------------------------
def test_csv_round_trip_is_exact_and_safe_for_spreadsheets(world):
    sup = world.supervisor_a
    word_entry_add(actor=sup, shop_account_id=None, word="=cmd|calc", category="custom",
                   action="block")  # fmt: skip
    word_entry_add(actor=sup, shop_account_id=None, word="加我微信号码", category="off_platform")
    text = entries_csv(word_list_entries(sup, None))
    assert "'=cmd|calc,custom,block" in text
    result = word_list_import_csv(
        actor=world.supervisor_b, shop_account_id=None, data=text.encode()
    )
    assert result.added > 0
    exported_b = entries_csv(word_list_entries(world.supervisor_b, None))
    rows_a = set(text.splitlines())
    assert rows_a <= set(exported_b.splitlines())
    again = word_list_import_csv(actor=sup, shop_account_id=None, data=text.encode())
    assert again.added == 0 and again.updated == 0


def test_an_import_with_bad_lines_imports_nothing_and_names_each_line(world):
    word_list = org_list(world)
    count, before = word_list.entries.count(), version(word_list)
    data = (
        b"word,category,action\n"
        b"goodword,custom,block\n"
        b"badcat,weather,block\n"
        b"badaction,custom,explode\n"
        b"GOODWORD,abuse,\n"
        b"allowed,custom,allow\n"
    )
    with pytest.raises(ServiceError) as refused:
        word_list_import_csv(actor=world.supervisor_a, shop_account_id=None, data=data)
    errors = refused.value.details["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [
        (3, "category"),
        (4, "action"),
        (5, "word"),
        (6, "action"),
    ]
    assert word_list.entries.count() == count and version(word_list) == before
    assert not AuditEvent.objects.filter(action="word_list.imported").exists()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"foo,bar\nx,y\n",
        b"\xff\xfe\x00w",
        b"word,category,action\n" + b"w,custom,\n" * 10 + b"x" * (2 * 2**20),
    ],
)
def test_unreadable_files_are_refused(world, data):
    with pytest.raises(ServiceError) as refused:
        word_list_import_csv(actor=world.supervisor_a, shop_account_id=None, data=data)
    assert refused.value.details["field"] == "file"


def test_an_import_into_a_shop_override_may_allow(world):
    data = b"word,category,action\nzebracode,custom,allow\nlionmark,abuse,block\n"
    result = word_list_import_csv(
        actor=world.supervisor_a, shop_account_id=world.shop_a2.id, data=data
    )
    assert (result.added, result.updated) == (2, 0)
    event = AuditEvent.objects.get(action="word_list.imported")
    assert event.shop_account_id == world.shop_a2.id and event.data["added"] == 2


class Boom(Exception):
    pass


def test_a_change_rolled_back_after_it_was_compiled_leaves_no_stale_screener(world):
    sup = world.supervisor_a
    org_list(world)
    # Given a change compiled inside its transaction, which then rolls back
    with pytest.raises(Boom), transaction.atomic():
        word_entry_add(actor=sup, shop_account_id=None, word="zebracode", category="custom",
                       action="block")  # fmt: skip
        assert actions(world, world.shop_a1, "zebracode lionmark") == [("custom", "block")]
        raise Boom
    assert actions(world, world.shop_a1, "zebracode lionmark") == []
    # When the next change takes the same version number
    word_entry_add(actor=sup, shop_account_id=None, word="lionmark", category="custom",
                   action="flag")  # fmt: skip
    # Then its own content is screened, not the rolled-back one's
    assert actions(world, world.shop_a1, "zebracode lionmark") == [("custom", "flag")]
