"""Each counting rule of the metrics on its own (docs/insights.md, "Counting rules"), the
readiness panel's lines over the seeded history, and the access rule."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from django.utils import timezone

from inbox.models import Conversation, Message
from inbox.services import replies
from inbox.services.conversation_state import Trigger, conversation_transition
from inbox.services.ingestion import conversation_sync
from monitoring.metrics.readiness import readiness
from monitoring.metrics.selectors import shop_metrics
from monitoring.models.metrics import ResponseFact
from scrm.api import NotFound
from tests.inbox.builders import deliver
from tests.inbox.platform_world import start_platform
from tests.monitoring.metrics_builders import case, store, utc
from tests.monitoring.test_metrics_window import NOW, seed_cases, seed_chats

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


@pytest.fixture
def sim(world, settings):
    platform = start_platform(settings)
    platform.connect_shop(world.shop_a1)
    yield platform.sim
    platform.server.stop()
    platform.sim.close()


def test_an_agents_delivered_reply_is_counted_as_theirs(world, sim):
    shop = world.shop_a1
    # Given a buyer wrote on the platform ten minutes ago
    chat_id, _ = sim.buyer_message(
        shop.platform_shop_id,
        buyer_user_id="m-b1",
        nickname="Emily R.",
        text="Where is my parcel?",
        at=time.time() - 600,
    )
    conversation_sync(shop=shop, conversation_id=chat_id)
    chat = Conversation.objects.get(platform_conversation_id=chat_id)
    # When agent_a1 answers and the reply reaches the platform
    reply, _ = replies.message_send(
        actor=world.agent_a1, conversation_id=chat.id, text="On its way.", idempotency_key="m1"
    )
    deliver(reply)
    # Then tomorrow the shop's figures count one request answered within 24 h, by agent_a1
    got = shop_metrics(world.supervisor_a, shop.id, now=timezone.now() + timedelta(days=1))
    assert (got.figures.chat.counted, got.figures.chat.within_24h) == (1, 1)
    ((agent_id, name, figures),) = got.agents
    assert agent_id == world.agent_a1.id and name
    assert (figures.chat.answered, figures.chat.automated) == (1, 0)
    assert 600 <= figures.chat.seconds_sum < 900


def test_a_robot_answers_the_chat_but_never_the_return_request(world):
    shop = world.shop_a1
    # Given a return request and the buyer's chat, where the platform's robot answers at once
    case(shop, "r-robot", utc(2026, 11, 10, 18, 0))
    store(shop, "c-robot", ("BUYER", utc(2026, 11, 10, 18, 0)), ("ROBOT", utc(2026, 11, 10, 18, 1)))
    # Then the chat counts as answered in 60 s, automated; the request is still waiting (late)
    got = shop_metrics(world.supervisor_a, shop.id, now=NOW).figures
    assert (got.chat.within_24h, got.chat.automated, got.chat.seconds_sum) == (1, 1, 60)
    assert (got.after_sales.counted, got.after_sales.answered, got.after_sales.late) == (1, 0, 1)


def test_a_hidden_buyer_message_is_not_an_answer(world):
    shop = world.shop_a1
    # Given a buyer's message that the platform later shows hidden (the wait ends unanswered)
    store(shop, "c-hidden", ("BUYER", utc(2026, 11, 10, 18, 0)))
    chat = Conversation.objects.get(platform_conversation_id="c-hidden")
    Message.objects.filter(conversation=chat).update(is_visible=False)
    conversation_transition(conversation=chat, trigger=Trigger.MESSAGES_CHANGED)
    # Then the request is still waiting, not answered
    fact = ResponseFact.objects.get(conversation=chat)
    assert (fact.state, fact.answered_at) == ("open", None)


def test_a_request_answered_after_a_first_read_moves_the_figures(world):
    shop = world.shop_a2
    # Given a request read as late while it waits
    store(shop, "c-wait", ("BUYER", utc(2026, 11, 2, 9, 0)))
    first = shop_metrics(world.supervisor_a, shop.id, now=NOW).figures.chat
    assert (first.counted, first.within_24h, first.answered) == (1, 0, 0)
    # When a person answers it 25 h later
    store(shop, "c-wait", ("CUSTOMER_SERVICE", utc(2026, 11, 3, 10, 0)))
    # Then the next read has it answered, late, after 90000 s (the day was rebuilt)
    again = shop_metrics(world.supervisor_a, shop.id, now=NOW).figures.chat
    assert (again.counted, again.within_24h, again.answered, again.seconds_sum) == (1, 0, 1, 90000)


def test_the_readiness_lines_over_the_seeded_history(world):
    # Given the London chats and the Kuala Lumpur cases
    seed_chats(world.shop_a2)
    seed_cases(world.shop_a3)
    # When the panels are built at NOW
    london = readiness(shop_metrics(world.supervisor_a, world.shop_a2.id, now=NOW))
    kl = readiness(shop_metrics(world.supervisor_a, world.shop_a3.id, now=NOW))
    lines = {line.threshold.key: line for line in london.lines}
    first = lines["first_response_rate"]
    # Then London's first response (4 of 7) is at risk, better over the last 30 days (3 of 5:
    # three, robot, never, last, robot's second) than the 30 before (1 of 2: oct1, late)
    assert (first.status, round(first.value, 4)) == ("at_risk", 0.5714)
    assert (first.recent, first.earlier, first.trend) == (0.6, 0.5, "better")
    # the days whose own rate fell under 90 %
    assert first.days_at_risk == (date(2026, 10, 10), date(2026, 11, 5), date(2026, 11, 20))
    # no ratings and no cases here: no figure, not a zero
    assert lines["dissatisfaction"].status == "no_data"
    assert lines["after_sales_within_24h"].value is None
    # November's late chats: the robot's second request (26 h) and the one never answered
    assert london.advice.late_chats_this_month == 2
    assert london.negative_review_rate is None
    sales = {line.threshold.key: line for line in kl.lines}
    assert (sales["after_sales_within_24h"].status, sales["after_sales_within_24h"].value) == (
        "at_risk",
        0.6,
    )
    # 50850 s: under the 24 h of promotions, over the 12 h of campaigns
    assert sales["after_sales_average"].status == "promotion"
    # Kuala Lumpur in November: k6 still waiting past 24 h (k3 was in October); k7 (22 h old)
    # is due within the next 4 hours
    assert kl.advice.late_this_month == 1
    assert kl.advice.waiting_late == 1
    assert kl.advice.due_soon == 1


def test_another_shops_agent_and_another_organisation_get_not_found(world):
    seed_chats(world.shop_a2)
    with pytest.raises(NotFound):
        shop_metrics(world.agent_a1, world.shop_a2.id, now=NOW)
    with pytest.raises(NotFound):
        shop_metrics(world.supervisor_b, world.shop_a2.id, now=NOW)
    # while the shop's own agent reads it
    assert shop_metrics(world.agent_a2, world.shop_a2.id, now=NOW).figures.chat.counted == 7


def test_requests_answered_inside_one_batch_are_counted(world):
    shop = world.shop_a1
    t = utc(2026, 11, 10, 18, 0)
    # Given a chat read whole from the platform: asked, answered in 2 h, asked twice more and
    # answered 27 h after the first of the two
    store(
        shop,
        "c-batch",
        ("BUYER", t),
        ("CUSTOMER_SERVICE", t + 2 * H),
        ("BUYER", t + 3 * H),
        ("BUYER", t + 3 * H + timedelta(minutes=5)),
        ("CUSTOMER_SERVICE", t + 30 * H),
    )
    # And a chat waiting since t, then read with an answer, a new question and its answer
    store(shop, "c-later", ("BUYER", t))
    store(
        shop,
        "c-later",
        ("BUYER", t + H),
        ("CUSTOMER_SERVICE", t + 2 * H),
        ("BUYER", t + 5 * H),
        ("CUSTOMER_SERVICE", t + 6 * H),
    )
    # Then four requests: 7200 s and 97200 s, 7200 s and 3600 s
    facts = sorted(
        ResponseFact.objects.values_list("conversation__platform_conversation_id", "seconds")
    )
    assert facts == [("c-batch", 7200), ("c-batch", 97200), ("c-later", 3600), ("c-later", 7200)]
    chat = shop_metrics(world.supervisor_a, shop.id, now=NOW).figures.chat
    assert (chat.counted, chat.within_24h, chat.seconds_sum) == (4, 3, 115200)
