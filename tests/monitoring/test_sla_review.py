"""Review of issue 14: regressions found when reading the SLA tracker with a fresh eye."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models.sla import SlaAlert
from monitoring.sla.recompute import deadlines_recompute
from monitoring.sla.sweep import sla_sweep
from tests.monitoring.sla_builders import buyer, opened

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def test_a_recompute_before_the_sweep_keeps_a_warning_whose_time_has_come(world):
    # Given a buyer waiting 19 h (first reply due in 5 h: warnings at 1 h and 4 h from now)
    now = timezone.now().replace(microsecond=0)
    chat = buyer(world.shop_a1, "rev-1", now - 19 * H)
    first = opened(chat)["first_reply"]
    assert first.next_alert_at == first.due_at - 4 * H
    # When the 4-hour warning's time passes while no sweep ran (workers down), and a recompute
    # that moves no due time (a holiday far away, a calendar saved unchanged) runs first
    later = now + 90 * timedelta(minutes=1)
    assert deadlines_recompute(shop_account_id=world.shop_a1.id, now=later) == 0
    first.refresh_from_db()
    # Then the warning is still owed, and the returning sweep records it
    assert first.next_alert_at == first.due_at - 4 * H
    sla_sweep(now=later)
    assert SlaAlert.objects.filter(deadline=first, kind="warning", threshold_minutes=240).exists()
