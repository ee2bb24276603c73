"""First-day rough edges (issue 11): what a new team sees on its first day, as the pages show it."""

from __future__ import annotations

import pytest

from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db


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
