"""The word-list page in a browser: a supervisor adds a word, tries a text in the "try a text" box
and sees the word highlighted with what a send would do; then the same in Chinese with a masked
word and the masked text shown."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from monitoring.models import WordEntry
from monitoring.words.cache import cache_clear
from tests.e2e.conftest import SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_add_a_word_try_a_text_and_see_it_highlighted(session, world):
    cache_clear()
    page = session.page_for(world.supervisor_a)
    page.set_default_navigation_timeout(30000)  # a page of ~300 words on a loaded machine
    page.goto(f"{session.base}/monitoring/words/")
    expect(page.locator("h1")).to_have_text("Word lists")
    # Given a word added to the organisation's list, blocked
    page.locator("#add-word").fill("zebracode")
    page.locator("#add-category").select_option("custom")
    page.locator("#add-action").select_option("block")
    page.locator("#word-add button[type=submit]").click()
    expect(page.locator("#words-message")).to_have_text("Word added.")
    entry = WordEntry.objects.get(word="zebracode")
    expect(page.locator(f'tr[data-entry="{entry.id}"]')).to_be_visible()
    # When a text hiding it is tried
    page.locator("#try-shop").select_option(str(world.shop_a1.id))
    page.locator("#try-text").fill("please add Z.E.B.R.A.C.O.D.E today")
    page.locator("#try-button").click()
    # Then the verdict says blocked and the hidden word is highlighted where it was typed
    # (the first screen of a list compiles it: allow for a loaded machine)
    expect(page.locator("#try-result")).to_have_attribute("data-action", "block", timeout=20000)
    expect(page.locator("#try-result .try-verdict")).to_have_text("It would be blocked.")
    mark = page.locator("#try-highlighted mark.hit-block")
    expect(mark).to_have_text("Z.E.B.R.A.C.O.D.E")
    page.screenshot(path=str(SCREENSHOTS / "words-try-en.png"), full_page=False)
    # And edited in place, its action becomes flag
    page.locator(f'tr[data-entry="{entry.id}"] button.edit').click()
    page.locator("tr.entry-edit select[name=word_action]").select_option("flag")
    page.locator("tr.entry-edit button[value=update]").click()
    expect(page.locator("#words-message")).to_have_text("Word saved.")
    expect(page.locator(f'tr[data-entry="{entry.id}"]')).to_have_attribute("data-action", "flag")
    assert page.js_errors == []  # type: ignore[attr-defined]

    # And in Chinese: a masked word, the text as it would be sent
    zh = session.page_for(world.supervisor_a, lang="zh-hans")
    zh.set_default_navigation_timeout(30000)
    zh.goto(f"{session.base}/monitoring/words/?shop={world.shop_a2.id}")
    expect(zh.locator("h1")).to_have_text("敏感词库")
    zh.locator("#add-word").fill("狮子标")
    zh.locator("#add-category").select_option("custom")
    zh.locator("#add-action").select_option("mask")
    zh.locator("#word-add button[type=submit]").click()
    expect(zh.locator("#words-message")).to_have_text("词语已添加。")
    zh.locator("#try-text").fill("这是 獅 子 標 的货")
    zh.locator("#try-button").click()
    expect(zh.locator("#try-result")).to_have_attribute("data-action", "mask", timeout=20000)
    expect(zh.locator("#try-highlighted mark.hit-mask")).to_have_text("獅 子 標")
    expect(zh.locator("#try-result .try-masked")).to_have_text("这是 ***** 的货")
    assert zh.js_errors == []  # type: ignore[attr-defined]
