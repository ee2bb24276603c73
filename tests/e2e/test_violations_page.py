"""The violation review queue in a browser: a supervisor sees a violation with its matched
words highlighted, a new one arrives live, dismisses one as a false positive and adds the
proposed phrase to the allow-list in one click; in Chinese, acknowledges another."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import pytest
from django.db import connections, transaction
from playwright.sync_api import expect

from monitoring.models import AllowEntry, Violation
from tests.e2e.test_browser_hygiene import Watch
from tests.inbox.builders import conversation_with_messages
from tests.monitoring.violation_builders import violation_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
T = TypeVar("T")


def in_a_worker_thread(work: Callable[[], T]) -> T:
    """``work`` in a thread of its own, as a worker would (this thread's Playwright loop
    cannot push to the channel layer)."""
    done: list[T] = []

    def run() -> None:
        try:
            with transaction.atomic():
                done.append(work())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return done[0]


def test_a_supervisor_reviews_violations_in_both_languages(session, world):
    # Given a violation of agent_a1's in a conversation of shop a1
    conversation = conversation_with_messages(world.shop_a1)
    first = violation_of(world.shop_a1, world.agent_a1, conversation_id=conversation.id)
    page = session.page_for(world.supervisor_a)
    watch = Watch(page, session.base)
    page.goto(f"{session.base}/inbox/")
    page.get_by_role("link", name="Violations").click()
    row = page.locator(f'.vio-row[data-violation="{first.id}"]')
    expect(row.locator("mark.vio-hit")).to_have_text("WeChat")
    expect(row).to_contain_text("A1 US")
    expect(row.locator("a.vio-conversation")).to_have_attribute(
        "href", f"/inbox/c/{conversation.id}/"
    )
    expect(page.locator("#vio-per-category")).to_contain_text("Off-platform contact")
    expect(page.locator("html")).to_have_attribute("data-live", "live")

    # When another send matches, the queue shows it without a reload
    second = in_a_worker_thread(
        lambda: violation_of(
            world.shop_a2,
            world.agent_a2,
            text="Give 5 stars and we refund you",
            word="5 stars",
            category="review_manipulation",
            action="flag",
        )
    )
    expect(page.locator(f'.vio-row[data-violation="{second.id}"] mark')).to_have_text("5 stars")
    expect(page.locator("#vio-new")).to_be_visible()

    # When the supervisor dismisses the first, the page proposes its phrase for the allow-list
    row.get_by_role("button", name="Dismiss (false positive)").click()
    expect(page.locator("#violations-message")).to_contain_text("Dismissed as a false positive.")
    expect(page.locator("#vio-phrase")).to_have_value("WeChat for")
    page.locator("#vio-allow").click()
    expect(page.locator("#violations-message")).to_contain_text("Added to the allow-list")
    assert AllowEntry.objects.filter(value="WeChat for").exists()
    assert Violation.objects.get(id=first.id).status == "dismissed"
    expect(page.locator(f'.vio-row[data-violation="{first.id}"]')).to_have_count(0)
    watch.assert_clean("the violation queue")

    # And in Chinese, another supervisor's session acknowledges the second
    chinese = session.page_for(world.supervisor_a, lang="zh-hans")
    chinese.goto(f"{session.base}/monitoring/violations/")
    expect(chinese.locator("h1")).to_have_text("违规记录")
    chinese.locator(f'.vio-row[data-violation="{second.id}"]').get_by_role(
        "button", name="确认"
    ).click()
    expect(chinese.locator("#violations-message")).to_have_text("已确认。")
    assert Violation.objects.get(id=second.id).status == "acknowledged"
    expect(chinese.locator(".vio-empty")).to_have_text("这里没有违规记录。")
