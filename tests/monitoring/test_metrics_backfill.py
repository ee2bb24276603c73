"""History stored before the metrics existed gets its facts from ``metrics_backfill``: the
same figures as if the hooks had written them, nothing counted twice, a second run adds
nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from monitoring.metrics.selectors import shop_metrics
from monitoring.models.metrics import ChatRating, MetricDay, MetricDirtyDay, ResponseFact
from tests.monitoring.test_metrics_window import NOW, seed_cases, seed_chats

pytestmark = pytest.mark.django_db


def test_the_backfill_gives_the_figures_the_hooks_would_have(world):
    # Given the London chats and Kuala Lumpur cases, stored while the hooks were running
    seed_chats(world.shop_a2)
    seed_cases(world.shop_a3)
    chat = shop_metrics(world.supervisor_a, world.shop_a2.id, now=NOW).figures.chat
    sales = shop_metrics(world.supervisor_a, world.shop_a3.id, now=NOW).figures.after_sales
    live = (chat.requests, chat.within_24h, chat.seconds_sum, chat.automated)
    live_sales = (sales.requests, sales.within_24h, sales.seconds_sum, sales.pending)
    # When the facts are lost (history from before the upgrade) and backfilled
    for model in (ResponseFact, MetricDay, MetricDirtyDay, ChatRating):
        model.objects.all().delete()
    call_command("metrics_backfill")
    # Then the figures are the same
    chat = shop_metrics(world.supervisor_a, world.shop_a2.id, now=NOW).figures.chat
    sales = shop_metrics(world.supervisor_a, world.shop_a3.id, now=NOW).figures.after_sales
    assert (chat.requests, chat.within_24h, chat.seconds_sum, chat.automated) == live
    assert (sales.requests, sales.within_24h, sales.seconds_sum, sales.pending) == live_sales
    # and a second run adds nothing
    count = ResponseFact.objects.count()
    call_command("metrics_backfill")
    assert ResponseFact.objects.count() == count
