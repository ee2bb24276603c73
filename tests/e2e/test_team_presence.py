"""Presence on the team page in a browser: a supervisor reading the team page is online."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from inbox.models import Role
from tests.factories import make_person

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
