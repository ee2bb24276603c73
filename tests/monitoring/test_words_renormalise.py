"""Migration monitoring 0006: entries saved under an older normalisation take today's form, so
adding the same word again is refused as a duplicate; an entry whose new form its list already
holds keeps the old one (no entry is lost to the unique constraint)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from monitoring.models import AllowEntry, WordEntry, WordList
from monitoring.services.words import word_entry_add
from scrm.api import ServiceError

pytestmark = pytest.mark.django_db

migration = importlib.import_module("monitoring.migrations.0006_words_normalised_again")


def test_old_forms_are_normalised_again_and_duplicates_then_refused(world):
    # Given entries stored with the accents the old normalisation kept
    lst = WordList.objects.create(organisation=world.org_a)
    stale = WordEntry.objects.create(
        word_list=lst, word="wéchat", normalised="wéchat", category="off_platform"
    )
    clash = WordEntry.objects.create(
        word_list=lst, word="pédé", normalised="pédé", category="abuse"
    )
    WordEntry.objects.create(word_list=lst, word="pede", normalised="pede", category="abuse")
    phrase = AllowEntry.objects.create(
        word_list=lst, kind="phrase", value="Café WeChat", normalised="café wechat"
    )
    domain = AllowEntry.objects.create(
        word_list=lst, kind="domain", value="Shop.Example", normalised="shop.example"
    )
    # When the migration runs
    migration.normalise_again(apps, None)
    # Then the stale forms are today's, the clashing one is left alone, domains untouched
    stale.refresh_from_db()
    clash.refresh_from_db()
    phrase.refresh_from_db()
    domain.refresh_from_db()
    assert stale.normalised == "wechat"
    assert clash.normalised == "pédé"
    assert phrase.normalised == "cafe wechat"
    assert domain.normalised == "shop.example"
    # And adding the word again in its plain spelling is refused as a duplicate
    with pytest.raises(ServiceError, match=r"(?i)already"):
        word_entry_add(
            actor=world.supervisor_a,
            shop_account_id=None,
            word="wechat",
            category="off_platform",
            action="",
        )
