"""First-day rough edges in a browser: a supervisor reading the team page is online; a bulk
action on one conversation says "1 conversation"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from inbox.models import Role
from tests.factories import make_person
from tests.inbox.builders import conversation_with_messages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_supervisor_on_the_team_page_counts_as_online(session, world):
    # Given a second supervisor of the organisation
    other = make_person(world.org_a, Role.SUPERVISOR, [world.shop_a1], username="sup_two")
    # And the first supervisor reading the team page (and nothing else of the product)
    first_page = session.page_for(world.supervisor_a)
    first_page.goto(session.base + "/inbox/team/")
    expect(first_page.locator("body")).to_have_attribute("data-presence", "live")
    # When the second supervisor opens the team page
    page = session.page_for(other)
    page.goto(session.base + "/inbox/team/")
    # Then the first supervisor is listed as online, and counted in "Online now"
    row = page.locator('#agents-table tr[data-user="supervisor_a"]')
    expect(row.locator(".presence")).to_have_class("presence is-online")
    expect(page.locator('[data-stat="online"]')).not_to_have_text("0")
    # And the pages ran without a script error
    assert first_page.js_errors == [] and page.js_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("lang", "expected"), [("en", "1 conversation updated."), ("zh-hans", "已更新 1 个会话。")]
)
def test_resolving_one_conversation_in_bulk_says_one_conversation(session, world, lang, expected):
    # Given two waiting conversations in the agent's shop, the inbox open in its language
    first = conversation_with_messages(world.shop_a1, buyer="Emily R.")
    conversation_with_messages(world.shop_a1, buyer="王芳")
    page = session.page_for(world.agent_a1, lang=lang)
    page.goto(session.base + "/inbox/")
    # When the agent selects one of them and resolves it from the bulk bar
    page.locator(f"#qsel-{first.id}").check()
    page.locator('#bulk-bar [data-bulk="resolve"]').click()
    # Then the page announces one conversation updated, in proper grammar
    expect(page.locator("#announcer")).to_have_text(expected)
    assert page.js_errors == []  # type: ignore[attr-defined]
