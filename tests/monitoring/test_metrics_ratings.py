"""Inquiry dissatisfaction over the simulator: a buyer's rating card in the chat is stored by
ingestion and counted as the answering agent's; the platform's own figures come through the
adapter's Get Customer Service Performance; the simulated stars follow the wait."""

from __future__ import annotations

import random
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inbox.models import Conversation
from inbox.platforms.tiktok_shop.simulator.ratings import chat_rating, stars_for
from inbox.services import replies
from inbox.services.ingestion import conversation_sync
from monitoring.metrics.platform import platform_performance_refresh
from monitoring.metrics.readiness import readiness
from monitoring.metrics.selectors import shop_metrics
from monitoring.models.metrics import ChatRating, PlatformPerformance
from tests.inbox.builders import deliver
from tests.inbox.platform_world import start_platform
from tests.monitoring.metrics_builders import store, utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(world, settings):
    platform = start_platform(settings)
    platform.connect_shop(world.shop_a1)
    yield platform.sim
    platform.server.stop()
    platform.sim.close()


def _answered_chat(world, sim, buyer: str) -> tuple[str, Conversation]:
    shop = world.shop_a1
    chat_id, _ = sim.buyer_message(
        shop.platform_shop_id,
        buyer_user_id=buyer,
        nickname="Emily R.",
        text="Is it waterproof?",
        at=time.time() - 900,
    )
    conversation_sync(shop=shop, conversation_id=chat_id)
    chat = Conversation.objects.get(platform_conversation_id=chat_id)
    reply, _ = replies.message_send(
        actor=world.agent_a1, conversation_id=chat.id, text="Yes it is.", idempotency_key=buyer
    )
    deliver(reply)
    return chat_id, chat


def test_a_rating_card_counts_for_the_agent_who_answered(world, sim):
    shop = world.shop_a1
    # Given two chats agent_a1 answered through the platform
    first_id, _ = _answered_chat(world, sim, "m-r1")
    second_id, _ = _answered_chat(world, sim, "m-r2")
    # When one buyer gives 2 stars and the other 5, and the chats are read again
    chat_rating(sim, shop.platform_shop_id, first_id, stars=2)
    chat_rating(sim, shop.platform_shop_id, second_id, stars=5)
    conversation_sync(shop=shop, conversation_id=first_id)
    conversation_sync(shop=shop, conversation_id=second_id)
    conversation_sync(shop=shop, conversation_id=first_id)  # a replay adds nothing
    # Then two ratings are stored, as agent_a1's, and half the buyers were dissatisfied
    assert sorted(ChatRating.objects.values_list("stars", "agent_id")) == [
        (2, world.agent_a1.id),
        (5, world.agent_a1.id),
    ]
    got = shop_metrics(world.supervisor_a, shop.id, now=timezone.now() + timedelta(days=1))
    assert (got.figures.ratings, got.figures.ratings_low, got.figures.dissatisfaction) == (
        2,
        1,
        0.5,
    )
    ((agent_id, _name, figures),) = got.agents
    assert (agent_id, figures.ratings_low) == (world.agent_a1.id, 1)
    # and the rating card answered nothing (the chats' requests are each answered once)
    assert got.figures.chat.answered == 2


def test_the_platforms_own_figures_come_through_the_adapter(world, sim):
    shop = world.shop_a1
    # Given two answered chats rated 1 and 4 on the platform
    first_id, _ = _answered_chat(world, sim, "m-p1")
    second_id, _ = _answered_chat(world, sim, "m-p2")
    chat_rating(sim, shop.platform_shop_id, first_id, stars=1)
    chat_rating(sim, shop.platform_shop_id, second_id, stars=4)
    # When the periodic read asks the platform for its figures (tomorrow: today's whole day)
    tomorrow = timezone.now() + timedelta(days=1)
    assert platform_performance_refresh(shop_account_id=shop.id, now=tomorrow) is True
    # Then the platform's counts are kept: 2 sessions, both answered in time, 50 % satisfied
    row = PlatformPerformance.objects.get(shop_account=shop)
    assert (row.sessions, row.response_percentage, row.satisfaction_percentage) == (
        2,
        Decimal("100.00"),
        Decimal("50.00"),
    )
    assert (row.end - row.start).days == 60
    # and the panel shows the platform's dissatisfaction beside the inbox's own
    panel = readiness(shop_metrics(world.supervisor_a, shop.id))
    assert panel.platform is not None and panel.platform.dissatisfaction_percentage == 50.0


def test_a_shop_never_connected_reads_nothing(world):
    assert platform_performance_refresh(shop_account_id=world.shop_a2.id) is False
    assert not PlatformPerformance.objects.exists()


def test_a_platform_notice_answers_the_chat_as_automated(world):
    # Given a buyer's question and, a minute later, a notice of the platform (SYSTEM)
    store(world.shop_a1, "c-sys", ("BUYER", utc(2026, 11, 10, 18, 0)))
    store(world.shop_a1, "c-sys", ("SYSTEM", utc(2026, 11, 10, 18, 1)))
    # Then the request counts as answered in 60 s, automated (the platform counts it)
    now = utc(2026, 11, 30, 12, 0)
    chat = shop_metrics(world.supervisor_a, world.shop_a1.id, now=now).figures.chat
    assert (chat.within_24h, chat.automated, chat.seconds_sum) == (1, 1, 60)


def test_simulated_stars_follow_the_wait():
    rng = random.Random(17)
    quick = [stars_for(rng, 120) for _ in range(2000)]
    slow = [stars_for(rng, 30 * 3600) for _ in range(2000)]
    low = lambda stars: sum(1 for s in stars if s <= 3) / len(stars)  # noqa: E731
    assert 0.03 <= low(quick) <= 0.07
    assert 0.5 <= low(slow) <= 0.6
    assert set(quick) | set(slow) == {1, 2, 3, 4, 5}
