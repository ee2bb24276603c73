"""Review of issue 14: regressions found when reading the SLA tracker with a fresh eye."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from inbox.models import Conversation
from monitoring.models.sla import SlaAlert
from monitoring.sla.recompute import deadlines_recompute
from monitoring.sla.sweep import sla_sweep
from tests.factories import make_person
from tests.inbox.builders import conversation_with_messages
from tests.monitoring.sla_builders import buyer, opened
from tests.monitoring.sweep_builders import T0, deadline_for, told

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
User = get_user_model()


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


def test_a_warning_for_a_deactivated_assignee_goes_to_the_shops_agents_and_supervisors(world):
    # Given a conversation held by an agent since deactivated, and a colleague on the shop
    colleague = make_person(world.org_a, "agent", [world.shop_a1], username="colleague_rev")
    conversation = conversation_with_messages(world.shop_a1)
    Conversation.objects.filter(id=conversation.id).update(assignee=world.agent_a1)
    User.objects.filter(id=world.agent_a1.id).update(is_active=False)
    deadline = deadline_for(conversation, due_at=T0 + 24 * H)
    # When its first warning comes
    sla_sweep(now=T0 + 20 * H)
    # Then the people still working on the shop are told (escalated), not the one who left
    alert = SlaAlert.objects.get(deadline=deadline)
    assert (alert.escalated, alert.assignee_id) == (True, None)
    assert told(deadline, "warning", 240) == {colleague.pk, world.supervisor_a.pk}
