"""Buyer messages scanned for risk tags as ingestion stores them: the off-platform ask, the
bad-review and complaint threats and abuse, in English and Chinese (spaced-out evasions too),
once per message and tag however often a message is stored; everyday messages carry none. The
tags show as chips in the conversation header and as ``risk_tags`` in the conversation API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from django.test import Client

from inbox.models import Conversation, Member
from inbox.platforms.base import Participant, PlatformMessage
from inbox.services.ingestion import messages_store
from monitoring.models import BuyerRisk
from monitoring.services.buyer_risk import risk_tags_of

pytestmark = pytest.mark.django_db

_n = count(1)
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

EVERYDAY = [
    "Hi, where is my order?",
    "Is size M true to size?",
    "Thanks, it arrived in one piece and my daughter loves it",
    "Can you send it before Friday? It's a birthday present.",
    "The colour is a bit darker than in the photos, but fine.",
    "请问什么时候发货？",
    "这个尺码偏大还是偏小？",
    "收到了，质量很好，谢谢！",
    "可以帮我改一下收货地址吗？",
    "颜色和图片有点不一样，不过没关系。",
]


def store(shop, *texts: str, conversation: str = "pc-risk") -> Conversation:
    """The buyer's ``texts`` arriving through ingestion (as a webhook or the backfill would)."""
    buyer = Participant(role="BUYER", im_user_id="im-risk", user_id="u-risk", nickname="Emily R.")
    messages = []
    for text in texts:
        n = next(_n)
        messages.append(
            PlatformMessage(
                message_id=f"pm-risk-{n}",
                conversation_id=conversation,
                type="TEXT",
                content={"content": text},
                create_time=START + timedelta(minutes=n),
                sender=buyer,
            )
        )
    messages_store(shop=shop, conversation_id=conversation, messages=messages)
    return Conversation.objects.get(shop_account=shop, platform_conversation_id=conversation)


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("What's your WhatsApp number? It's cheaper outside TikTok", "off_platform"),
        ("你有微信吗？私下交易便宜点", "off_platform"),
        ("If this isn't fixed I will leave a bad review", "bad_review_threat"),
        ("不退款就给差评", "bad_review_threat"),
        ("I'll report your shop to TikTok support", "complaint_threat"),
        ("再不处理我就去 投 诉", "complaint_threat"),
        ("You are an idiot", "abuse"),
        ("Can I add you on WeChat?", "off_platform"),
        ("加 微 信 聊吧", "off_platform"),
        ("你的微信号是多少", "off_platform"),
    ],
)
def test_a_buyer_message_carrying_a_risk_is_tagged_on_its_conversation(world, text, tag):
    conversation = store(world.shop_a1, text)
    tags = BuyerRisk.objects.filter(conversation=conversation).values_list("tag", flat=True)
    assert list(tags) == [tag]


def test_everyday_messages_in_both_languages_carry_no_risk(world):
    conversation = store(world.shop_a1, *EVERYDAY)
    assert conversation.messages.count() == len(EVERYDAY)
    assert not BuyerRisk.objects.exists()
    assert [t for text in EVERYDAY for t in risk_tags_of(text)] == []


def test_a_message_stored_again_adds_no_second_tag(world):
    # Given a threatening message, stored; when the same message is read again (a backfill
    # after the webhook) and a second one carries the same risk
    store(world.shop_a1, "我要投诉你们")
    messages_store(
        shop=world.shop_a1,
        conversation_id="pc-risk",
        messages=[
            PlatformMessage(
                message_id=BuyerRisk.objects.get().message.platform_message_id,
                conversation_id="pc-risk",
                type="TEXT",
                content={"content": "我要投诉你们"},
                create_time=START,
                sender=Participant(role="BUYER", im_user_id="im-risk", user_id="u-risk"),
            )
        ],
    )
    assert BuyerRisk.objects.count() == 1
    store(world.shop_a1, "I will complain to consumer protection")
    # Then one row per message and tag
    assert BuyerRisk.objects.count() == 2
    assert set(BuyerRisk.objects.values_list("tag", flat=True)) == {"complaint_threat"}


def test_the_conversation_shows_its_risk_tags_in_both_languages(world, api):
    conversation = store(world.shop_a1, "Do you have WhatsApp?", "I will leave a bad review")
    client = Client()
    client.force_login(world.agent_a1)
    page = client.get(f"/inbox/c/{conversation.id}/header/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert 'data-risk="off_platform"' in html and "Asks to move off-platform" in html
    assert "Threatens a bad review" in html
    Member.objects.filter(user=world.agent_a1).update(language="zh-hans")
    chinese = client.get(f"/inbox/c/{conversation.id}/header/").content.decode()
    assert 'data-risk="bad_review_threat"' in chinese and "Threatens a bad review" not in chinese
    body = api.as_user(world.agent_a1).get(f"/api/v1/conversations/{conversation.id}/").json()
    assert body["risk_tags"] == ["off_platform", "bad_review_threat"]
    # An agent of another shop sees neither
    client.force_login(world.agent_a2)
    assert client.get(f"/inbox/c/{conversation.id}/header/").status_code == 404
