"""Rendering a quick reply against a real conversation: variables, errors, language, usage."""

from datetime import datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from templates_app.models import QuickReply, QuickReplyUsage
from tests.templates_app.conftest import add_message, create_reply, make_conversation

BASE = "/api/v1/templates/"


def render(client, reply, conversation, **body):
    return client.post(
        f"{BASE}{reply.id}/render/", {"conversation_id": conversation.id, **body}, format="json"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{{ buyer_name }}", "Alice Chen"),
        ("{{ shop_name }}", "A1 US"),
        ("{{ order_id }}", "576461413038785752"),
        ("{{ product_id }}", "1729582718312380000"),
        ("{{ product_name }}", "Bamboo lamp"),
        ("{{ tracking_number }}", "1Z999AA10123456784"),
        ("{{ agent_name }}", "Li Na"),
        ("{{ shop_date }}", "2026-03-01"),
    ],
)
def test_each_catalogue_variable_is_filled_from_the_conversation(api, world, body, expected):
    # given a conversation with an order card, a product card and a logistics message
    world.agent_a1.member.display_name = "Li Na"
    world.agent_a1.member.save()
    conversation = make_conversation(world.shop_a1)
    add_message(conversation, type="BUYER_ENTER_FROM_ORDER", content={"order_id": "1"}, ago=1)
    add_message(conversation, type="ORDER_CARD", content={"order_id": "576461413038785752"}, ago=2)
    add_message(
        conversation,
        type="PRODUCT_CARD",
        content={"product_id": "1729582718312380000", "product_name": "Bamboo lamp"},
        ago=3,
    )
    add_message(
        conversation,
        type="LOGISTICS_CARD",
        content={"tracking_number": "1Z999AA10123456784"},
        direction="out",
        ago=4,
    )
    reply = create_reply(world.agent_a1, scope="personal", body=f"[{body}]")
    # the shop (Los Angeles) is still on 1 March when it is 2 March 03:00 in UTC
    now = datetime(2026, 3, 2, 3, 0, tzinfo=ZoneInfo("UTC"))
    with mock.patch("templates_app.selectors.timezone.now", return_value=now):
        response = render(api.as_user(world.agent_a1), reply, conversation)
    # then
    assert response.status_code == 200, response.content
    assert response.json() == {
        "text": f"[{expected}]",
        "language": "en",
        "prompts": [],
        "missing": [],
        "attachments": [],
    }


def test_product_id_comes_from_buyer_entering_from_a_product(api, world):
    conversation = make_conversation(world.shop_a1)
    add_message(conversation, type="BUYER_ENTER_FROM_PRODUCT", content={"product_id": "99"})
    reply = create_reply(world.agent_a1, scope="personal", body="{{ product_id }}")
    assert render(api.as_user(world.agent_a1), reply, conversation).json()["text"] == "99"


def test_missing_known_variables_are_a_clear_error_with_prompts(api, world):
    conversation = make_conversation(world.shop_a1)  # no order, no tracking number
    reply = create_reply(
        world.agent_a1,
        scope="personal",
        body="Order {{ order_id }}: {{ tracking_number }} ({{ shop_name }})",
    )
    response = render(api.as_user(world.agent_a1), reply, conversation)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "template_variables"
    assert error["details"]["missing"] == ["order_id", "tracking_number"]
    assert error["details"]["unknown"] == []
    assert [p["name"] for p in error["details"]["prompts"]] == ["order_id", "tracking_number"]
    assert "order_id" in error["message"]
    # when the agent fills them by hand, then it renders
    filled = render(
        api.as_user(world.agent_a1),
        reply,
        conversation,
        values={"order_id": "5761", "tracking_number": "TN1"},
    )
    assert filled.status_code == 200
    assert filled.json()["text"] == "Order 5761: TN1 (A1 US)"
    assert [p["name"] for p in filled.json()["prompts"]] == ["order_id", "tracking_number"]


def test_custom_fields_are_prompted_and_filled_from_values(api, world):
    conversation = make_conversation(world.shop_a1)
    reply = create_reply(
        world.agent_a1,
        scope="personal",
        body='Use code {{ coupon_code }} for {{ discount | default:"10%" }} off',
        custom_fields=["coupon_code", "discount"],
    )
    client = api.as_user(world.agent_a1)
    ask = render(client, reply, conversation)
    assert ask.status_code == 400
    assert ask.json()["error"]["details"]["missing"] == ["coupon_code"]
    prompts = ask.json()["error"]["details"]["prompts"]
    assert [(p["name"], p["kind"]) for p in prompts] == [
        ("coupon_code", "custom"),
        ("discount", "custom"),
    ]
    ok = render(client, reply, conversation, values={"coupon_code": "SPRING"})
    assert ok.json()["text"] == "Use code SPRING for 10% off"


def test_unknown_variable_at_render_time_is_an_error(api, world):
    # given a row edited outside the services (e.g. the admin) with an undeclared variable
    conversation = make_conversation(world.shop_a1)
    reply = create_reply(world.agent_a1, scope="personal", body="Hi")
    QuickReply.objects.filter(pk=reply.pk).update(body="Hi {{ vip_level }}")
    response = render(api.as_user(world.agent_a1), reply, conversation, values={"vip_level": "3"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "template_variables"
    assert response.json()["error"]["details"]["unknown"] == ["vip_level"]


def test_blank_buyer_name_is_missing_not_blank(api, world):
    conversation = make_conversation(world.shop_a1, buyer_name="")
    reply = create_reply(world.agent_a1, scope="personal", body="Hi {{ buyer_name }}!")
    response = render(api.as_user(world.agent_a1), reply, conversation)
    assert response.json()["error"]["details"]["missing"] == ["buyer_name"]


@pytest.fixture
def bilingual(world):
    return create_reply(
        world.supervisor_a,
        body="Hi {{ buyer_name }}, it ships today.",
        translations={"zh-hans": "{{ buyer_name }}您好，今天发货。", "ms": "Hai {{ buyer_name }}"},
    )


def test_chinese_buyer_gets_the_chinese_version(api, world, bilingual):
    conversation = make_conversation(world.shop_a1, buyer_name="王芳")
    add_message(conversation, text="请问什么时候发货？", ago=1)
    add_message(conversation, text="Thanks for waiting", direction="out", ago=2)
    response = render(api.as_user(world.agent_a1), bilingual, conversation)
    assert response.json()["language"] == "zh-hans"
    assert response.json()["text"] == "王芳您好，今天发货。"


def test_english_buyer_and_unknown_language(api, world, bilingual):
    english = make_conversation(world.shop_a1)
    add_message(english, text="When will it ship?")
    assert render(api.as_user(world.agent_a1), bilingual, english).json()["language"] == "en"
    silent = make_conversation(world.shop_a1)  # no buyer text: the template's default
    add_message(silent, type="IMAGE", content={"url": "x"})
    assert render(api.as_user(world.agent_a1), bilingual, silent).json()["language"] == "en"


def test_chinese_buyer_falls_back_to_default_when_no_chinese_version(api, world):
    reply = create_reply(
        world.supervisor_a,
        default_language="ms",
        body="Hai {{ buyer_name }}",
        translations={"en": "Hi {{ buyer_name }}"},
    )
    conversation = make_conversation(world.shop_a1)
    add_message(conversation, text="你好")
    response = render(api.as_user(world.agent_a1), reply, conversation)
    assert response.json()["language"] == "ms"


def test_explicit_language_wins_and_an_absent_one_is_refused(api, world, bilingual):
    conversation = make_conversation(world.shop_a1)
    add_message(conversation, text="你好")
    client = api.as_user(world.agent_a1)
    assert render(client, bilingual, conversation, language="ms").json()["text"] == (
        "Hai Alice Chen"
    )
    refused = render(client, bilingual, conversation, language="fr")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "language_unavailable"
    assert refused.json()["error"]["details"]["available"] == ["en", "ms", "zh-hans"]


def test_render_of_another_shops_conversation_is_404(api, world, replies):
    foreign = make_conversation(world.shop_a2)
    other_org = make_conversation(world.shop_b1)
    client = api.as_user(world.agent_a1)
    for conversation in (foreign, other_org):
        response = render(client, replies["org"], conversation)
        assert response.status_code == 404
        assert "Alice" not in response.content.decode()


def test_render_with_use_counts_per_template_and_agent(api, world, replies):
    conversation = make_conversation(world.shop_a1)
    client = api.as_user(world.agent_a1)
    assert render(client, replies["org"], conversation).status_code == 200
    assert QuickReplyUsage.objects.count() == 0  # a preview is not a use
    assert render(client, replies["org"], conversation, use=True).status_code == 200
    used = client.post(f"{BASE}{replies['org'].id}/use/", {"conversation_id": conversation.id})
    assert used.status_code == 201
    assert QuickReplyUsage.objects.filter(user=world.agent_a1).count() == 2
    replies["org"].refresh_from_db()
    assert replies["org"].usage_count == 2


def test_failed_render_for_send_counts_nothing(api, world):
    conversation = make_conversation(world.shop_a1)
    reply = create_reply(world.agent_a1, scope="personal", body="{{ order_id }}")
    response = render(api.as_user(world.agent_a1), reply, conversation, use=True)
    assert response.status_code == 400
    assert QuickReplyUsage.objects.count() == 0


def test_archived_reply_does_not_render(api, world, replies):
    conversation = make_conversation(world.shop_a1)
    client = api.as_user(world.supervisor_a)
    client.post(f"{BASE}{replies['org'].id}/archive/")
    assert render(client, replies["org"], conversation).status_code == 404


def test_supervisor_renders_across_their_shops_but_not_another_organisations(api, world, replies):
    client = api.as_user(world.supervisor_a)
    assert render(client, replies["org"], make_conversation(world.shop_a2)).status_code == 200
    assert render(client, replies["org"], make_conversation(world.shop_b1)).status_code == 404


def test_render_query_count(api, world, replies, django_assert_max_num_queries):
    conversation = make_conversation(world.shop_a1)
    client = api.as_user(world.agent_a1)
    # First call of this process: the member, the library revision with the agent's shops, the
    # library read once (4 queries), the conversation with its messages (one statement).
    with django_assert_max_num_queries(7):
        assert render(client, replies["org"], conversation).status_code == 200
    # After it the quick reply and its materials come from memory.
    with django_assert_max_num_queries(3):
        assert render(client, replies["org"], conversation).status_code == 200
