"""First-day rough edges (issue 11): what a new team sees on its first day, as the pages show it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inbox.models import AgentPresence, Member
from inbox.services.presence import presence_connect, presence_disconnect
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db


def _speaks(user, language: str) -> None:
    """The person's own language (Member.language): what a signed-in page is shown in."""
    Member.objects.filter(user=user).update(language=language)


def test_a_resolved_conversation_does_not_say_it_is_waiting(client, world):
    # Given a buyer waiting for an answer, and the agent resolving the conversation unanswered
    conversation = conversation_with_messages(world.shop_a1, buyer="Emily R.")
    client.force_login(world.agent_a1)
    assert 'class="conv-wait"' in client.get(f"/inbox/c/{conversation.id}/header/").content.decode()
    response = client.patch(
        f"/api/v1/conversations/{conversation.id}/",
        {"status": "resolved"},
        content_type="application/json",
    )
    assert response.status_code == 200
    # When the agent looks at its header and at its row in the Resolved view
    header = client.get(f"/inbox/c/{conversation.id}/header/").content.decode()
    row = client.get(f"/inbox/queue/{conversation.id}/").content.decode()
    resolved = client.get("/inbox/queue/?view=resolved").content.decode()
    # Then none of them says it is waiting, and the row still shows it is resolved
    assert "conv-wait" not in header and "Waiting" not in header
    for html in (row, resolved):
        assert f'id="qrow-{conversation.id}"' in html
        assert "Waiting" not in html and "data-since" not in html
        assert "status-resolved" in html


@pytest.mark.parametrize(
    ("language", "just_now", "wrong"),
    [("en", "seen just now", "now ago"), ("zh-hans", "刚刚在线", "刚刚前")],
)
def test_the_team_page_says_seen_just_now_not_now_ago(client, world, language, just_now, wrong):
    # Given an agent whose socket closed a few seconds ago
    presence_connect(user_id=world.agent_a2.pk)
    presence_disconnect(user_id=world.agent_a2.pk)
    client.force_login(world.supervisor_a)
    # When the supervisor opens the team page in its language
    _speaks(world.supervisor_a, language)
    html = client.get("/inbox/team/").content.decode()
    # Then it says the agent was seen just now, in words that read right
    assert just_now in html
    assert wrong not in html


def test_the_team_page_says_how_long_ago_an_agent_was_seen(client, world):
    # Given an agent last seen three hours ago
    presence_connect(user_id=world.agent_a2.pk)
    presence_disconnect(user_id=world.agent_a2.pk)
    AgentPresence.objects.filter(user=world.agent_a2).update(
        last_seen_at=timezone.now() - timedelta(hours=3, minutes=5)
    )
    client.force_login(world.supervisor_a)
    # When the supervisor opens the team page, in English and in Chinese
    _speaks(world.supervisor_a, "en")
    en = client.get("/inbox/team/").content.decode()
    _speaks(world.supervisor_a, "zh-hans")
    zh = client.get("/inbox/team/").content.decode()
    # Then both say how long ago
    assert "seen 3 h ago" in en
    assert "3 小时前在线" in zh


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("en", "1 conversation updated.", "2 conversations updated."),
        ("zh-hans", "已更新 1 个会话。", "已更新 2 个会话。"),
    ],
)
def test_bulk_actions_say_how_many_in_proper_grammar(client, world, language, one, two):
    # Given two waiting conversations in the agent's shop
    first = conversation_with_messages(world.shop_a1)
    second = conversation_with_messages(world.shop_a1)
    client.force_login(world.agent_a1)
    _speaks(world.agent_a1, language)

    def bulk_resolve(ids: list[int]) -> dict:
        response = client.post(
            "/api/v1/conversations/bulk/",
            {"action": "resolve", "conversation_ids": ids},
            content_type="application/json",
        )
        assert response.status_code == 200
        return response.json()

    # When the agent resolves one of them, then both, from the bulk bar
    single, double = bulk_resolve([first.id]), bulk_resolve([first.id, second.id])
    # Then the message the page announces reads right for one and for many
    assert single["updated"] == 1 and single["message"] == one
    assert double["updated"] == 2 and double["message"] == two


@pytest.mark.parametrize(
    ("view", "language", "expected"),
    [
        ("resolved", "en", "No resolved conversations."),
        ("resolved", "zh-hans", "没有已解决的会话。"),
        ("mine", "en", "No conversations are assigned to you."),
        ("mine", "zh-hans", "没有分配给你的会话。"),
        ("unassigned", "en", "Every conversation has someone on it."),
        ("unassigned", "zh-hans", "每个会话都已有人负责。"),
        ("waiting", "en", "Nobody has waited longer than 12 hours."),
        ("waiting", "zh-hans", "没有等待超过 12 小时的会话。"),
    ],
)
def test_an_empty_view_says_what_it_is_empty_of(client, world, view, language, expected):
    # Given an agent whose shops have no conversation at all
    client.force_login(world.agent_a1)
    # When it opens a view of the queue, in its language
    _speaks(world.agent_a1, language)
    html = client.get(f"/inbox/queue/?view={view}")
    # Then the empty queue says what this view would hold, not that nothing is waiting
    text = html.content.decode()
    assert expected in text
    assert "Nothing waiting here" not in text and "这里没有待处理的会话" not in text


def test_the_all_view_still_says_nothing_is_waiting(client, world):
    # Given an agent whose shops have no conversation at all
    client.force_login(world.agent_a1)
    # When it opens its whole queue
    html = client.get("/inbox/queue/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # Then the queue says nothing is waiting
    assert "Nothing waiting here. Well done." in html
