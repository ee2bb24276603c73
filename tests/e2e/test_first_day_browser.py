"""First-day rough edges in a browser: a supervisor reading the team page is online; a bulk
action on one conversation says "1 conversation"; the team page follows assignments and
presence live; every page's socket (static/inbox/socket.js) replaces a silent one and catches
up from the change feed."""

from __future__ import annotations

import re

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


def test_the_team_page_counts_an_assignment_without_reload(session, world, monkeypatch):
    # Given a conversation nobody holds, and the supervisor on the team page (its timer far off,
    # so only the assignment's event can move the figures)
    monkeypatch.setattr("inbox.web.views.TEAM_REFRESH_SECONDS", 600)
    conversation = conversation_with_messages(world.shop_a1, buyer="Emily R.")
    team = session.page_for(world.supervisor_a)
    team.goto(session.base + "/inbox/team/")
    expect(team.locator("#live-state")).to_have_attribute("data-state", "live")
    team.evaluate("window.notReloaded = true")
    row = team.locator('#agents-table tr[data-user="agent_a1"]')
    expect(row.locator('[data-col="open"]')).to_have_text("0")
    expect(team.locator('[data-stat="unassigned"]')).to_have_text("1")
    # When agent_a1 takes it from the inbox
    agent = session.page_for(world.agent_a1)
    agent.goto(f"{session.base}/inbox/c/{conversation.id}/")
    expect(agent.locator("#live-state")).to_have_attribute("data-state", "live")
    agent.keyboard.press("a")
    expect(agent.locator("#conv-header")).to_contain_text("Assigned to you")
    # Then the team page counts it for agent_a1 and no longer as unassigned, without a reload
    expect(row.locator('[data-col="open"]')).to_have_text("1")
    expect(team.locator('[data-stat="unassigned"]')).to_have_text("0")
    assert team.evaluate("window.notReloaded") is True
    assert team.js_errors == [] and agent.js_errors == []  # type: ignore[attr-defined]


def test_the_team_page_shows_an_agent_coming_online_without_reload(session, world, monkeypatch):
    # Given the supervisor on the team page, agent_a1 offline
    monkeypatch.setattr("inbox.web.views.TEAM_REFRESH_SECONDS", 1)
    team = session.page_for(world.supervisor_a)
    team.goto(session.base + "/inbox/team/")
    team.evaluate("window.notReloaded = true")
    row = team.locator('#agents-table tr[data-user="agent_a1"]')
    expect(row.locator(".presence")).to_have_class("presence")
    # When agent_a1 opens the inbox (presence is an open socket; it publishes no event)
    agent = session.page_for(world.agent_a1)
    agent.goto(session.base + "/inbox/")
    expect(agent.locator("#live-state")).to_have_attribute("data-state", "live")
    # Then the team page shows agent_a1 online within its refresh period, without a reload
    expect(row.locator(".presence")).to_have_class("presence is-online")
    assert team.evaluate("window.notReloaded") is True
    assert team.js_errors == [] and agent.js_errors == []  # type: ignore[attr-defined]


def _silence_after_hello(page) -> dict:
    """Route the page's websockets through Playwright: ``state["dead"] = True`` makes the first
    socket's path silently dead (nothing from the server reaches the page, as a dropped NAT
    entry does); later sockets work. ``state["sockets"]`` counts the sockets opened."""
    state = {"dead": False, "sockets": 0}

    def route(ws):
        server = ws.connect_to_server()
        state["sockets"] += 1
        first = state["sockets"] == 1

        def from_server(message):
            if not (first and state["dead"]):
                ws.send(message)

        server.on_message(from_server)
        ws.on_message(server.send)

    page.context.route_web_socket(re.compile(r"/ws/inbox/$"), route)
    return state


@pytest.mark.parametrize("where", ["inbox", "team"])
def test_a_page_whose_socket_goes_silent_reconnects_and_catches_up(
    session, world, settings, monkeypatch, where
):
    # Given the browser pings every second (the hello says so), and the team page's timer off
    settings.SCRM_WS_CLIENT_PING_SECONDS = 1
    monkeypatch.setattr("inbox.web.views.TEAM_REFRESH_SECONDS", 600)
    conversation = conversation_with_messages(world.shop_a1, buyer="Emily R.")
    page = session.page_for(world.supervisor_a)
    sockets = _silence_after_hello(page)
    url = f"/inbox/c/{conversation.id}/" if where == "inbox" else "/inbox/team/"
    page.goto(session.base + url)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    # When its socket's path goes silent, and meanwhile agent_a1 takes the conversation
    sockets["dead"] = True
    agent = session.page_for(world.agent_a1)
    agent.goto(f"{session.base}/inbox/c/{conversation.id}/")
    agent.locator('#conv-header [data-action="assign-me"]').click()
    expect(agent.locator("#conv-header")).to_contain_text("Assigned to you")
    # Then the page notices the missing pongs, opens a new socket and catches up from the feed
    if where == "inbox":
        expect(page.locator("#conv-header")).to_contain_text("Assigned to agent_a1", timeout=20000)
    else:
        row = page.locator('#agents-table tr[data-user="agent_a1"]')
        expect(row.locator('[data-col="open"]')).to_have_text("1", timeout=20000)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    assert sockets["sockets"] == 2
    assert page.js_errors == [] and agent.js_errors == []  # type: ignore[attr-defined]
