"""`make demo` seeds a quick-reply library in both languages, with materials, so the demo's
composer has something to offer; seeding again changes nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from inbox.models import ShopAccount
from monitoring.models import AuditEvent
from templates_app import selectors
from templates_app.demo import REPLIES
from templates_app.models import Material, QuickReply
from tests.templates_app.conftest import add_message, make_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _user(username):
    return get_user_model().objects.get(username=username)


def test_the_demo_has_a_bilingual_library_with_materials_and_seeding_again_changes_nothing():
    # when the demo is seeded
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    # then every reply is there in English and Chinese, the UK shop has one of its own,
    # and the size chart and return policy are attached
    replies = QuickReply.objects.filter(organisation__slug="demo", is_archived=False)
    assert replies.count() == len(REPLIES) + 1
    assert all(set(r.bodies) == {"en", "zh-hans"} for r in replies)
    team = replies.get(scope="team")
    assert [s.region for s in team.shop_accounts.all()] == ["GB"]
    chart = Material.objects.get(kind="image")
    assert chart.content_type == "image/png" and chart.size > 1000
    assert replies.get(shortcut="size").materials.get() == chart
    assert replies.get(shortcut="return").materials.get().kind == "link"
    assert AuditEvent.objects.filter(action="quick_reply.imported").count() == 1

    # when it is seeded again
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    # then nothing new is made
    assert QuickReply.objects.count() == len(REPLIES) + 1 and Material.objects.count() == 2
    assert not AuditEvent.objects.filter(action="quick_reply.created").exists()


def test_the_demo_agents_find_them_in_the_picker_and_they_render_in_the_buyers_language():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    # agent1 works the US and UK shops: every organisation reply and the UK one
    agent1, agent3 = _user("agent1"), _user("agent3")
    assert len(selectors.quick_reply_page_for(agent1).entries) == len(REPLIES) + 1
    # agent3 works the MY shop only: no UK reply
    found = {e.reply.shortcut for e in selectors.quick_reply_page_for(agent3).entries}
    assert "ukpost" not in found and "hi" in found
    # a Chinese-speaking buyer of the MY shop gets the Chinese greeting
    conversation = make_conversation(ShopAccount.objects.get(region="MY"), buyer_name="王")
    add_message(conversation, text="你好，请问发货了吗")
    hi = QuickReply.objects.get(shortcut="hi")
    _, _, result = selectors.quick_reply_render(
        agent3, quick_reply_id=hi.id, conversation_id=conversation.id
    )
    assert result.language == "zh-hans"
    assert result.text.startswith("王您好，感谢联系Sunny Home MY！我是客服Aisyah")
