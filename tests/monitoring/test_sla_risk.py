"""The supervisors' SLA view (/sla/risk/, monitoring.sla.risk): at risk now and breached today,
per shop and per agent, in each shop's own day; agents and outsiders get a 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from inbox.models import AfterSalesCase, Conversation
from monitoring.models.sla import Deadline, SlaPolicy
from monitoring.sla.risk import sla_risk_overview
from scrm.api import NotFound
from tests.inbox.builders import conversation_with_messages
from tests.inbox.case_builders import case_needing_decision

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # 12:00 in Los Angeles, 20:00 in London


def deadline(
    subject: Conversation | AfterSalesCase,
    *,
    due_in: timedelta,
    kind: str | None = None,
    state: str = "open",
    closed_in: timedelta | None = None,
    warnings: list[int] | None = None,
) -> Deadline:
    """A deadline of ``subject`` due ``due_in`` from NOW (negative: past), the subject's own
    other deadlines removed (the lifecycle may have opened some)."""
    is_case = isinstance(subject, AfterSalesCase)
    lookup = {"case": subject} if is_case else {"conversation": subject}
    Deadline.objects.filter(**lookup).delete()
    due = NOW + due_in
    return Deadline.objects.create(
        organisation_id=subject.organisation_id,
        shop_account_id=subject.shop_account_id,
        kind=kind or ("after_sales" if is_case else "first_reply"),
        started_at=due - timedelta(hours=24),
        due_at=due,
        next_alert_at=None if state != "open" else due,
        state=state,
        closed_at=NOW + closed_in if closed_in is not None else None,
        rule={"minutes": 1440, "warnings": [240, 60] if warnings is None else warnings},
        **lookup,
    )


def assigned(conversation: Conversation, user) -> Conversation:
    conversation.assignee = user
    conversation.save(update_fields=["assignee"])
    return conversation


def ids(items) -> set[int]:
    return {i.id for i in items}


def test_at_risk_now_holds_the_warning_window_and_the_overdue_oldest_first(world):
    # Given conversations of shop a1 due in 30 min, 3 h, 5 h and overdue by 10 min
    soon = deadline(
        assigned(conversation_with_messages(world.shop_a1), world.agent_a1),
        due_in=timedelta(minutes=30),
    )
    in_3h = deadline(conversation_with_messages(world.shop_a1), due_in=timedelta(hours=3))
    later = deadline(conversation_with_messages(world.shop_a1), due_in=timedelta(hours=5))
    late = deadline(conversation_with_messages(world.shop_a1), due_in=-timedelta(minutes=10))
    # And one whose warnings are only 1 h before, due in 2 h: not yet at risk
    quiet = deadline(
        conversation_with_messages(world.shop_a1), due_in=timedelta(hours=2), warnings=[60]
    )
    # When the supervisor looks
    overview = sla_risk_overview(world.supervisor_a, now=NOW)
    # Then the ones inside their window or past due are at risk, oldest due first
    a1 = next(g for g in overview.shops if g.key == world.shop_a1.id)
    assert [i.id for i in a1.at_risk] == [late.id, soon.id, in_3h.id]
    assert later.id not in ids(a1.at_risk) and quiet.id not in ids(a1.at_risk)
    assert (a1.at_risk_count, a1.overdue_count) == (3, 1)
    assert overview.totals == {"at_risk": 3, "overdue": 1, "breached_today": 1}
    # And per agent: agent_a1 holds one, the rest are unassigned (listed last)
    by_agent = {g.key: g for g in overview.agents}
    assert ids(by_agent[world.agent_a1.id].at_risk) == {soon.id}
    assert by_agent[world.agent_a1.id].name == "agent_a1"
    assert ids(by_agent[None].at_risk) == {late.id, in_3h.id}
    assert overview.agents[-1].key is None


def test_breached_today_is_the_shops_own_day_and_only_what_was_late(world):
    # Given, in shop a1 (Los Angeles, 12:00 now), deadlines due at 01:00 today local, answered
    # late (missed), answered in time (met), still open; and one due yesterday evening local
    missed = deadline(
        conversation_with_messages(world.shop_a1),
        due_in=-timedelta(hours=11),
        state="missed",
        closed_in=-timedelta(hours=10),
    )
    deadline(
        conversation_with_messages(world.shop_a1),
        due_in=-timedelta(hours=11),
        state="met",
        closed_in=-timedelta(hours=12),
    )
    still_open = deadline(conversation_with_messages(world.shop_a1), due_in=-timedelta(hours=11))
    yesterday = deadline(
        conversation_with_messages(world.shop_a1),
        due_in=-timedelta(hours=13),
        state="missed",
        closed_in=-timedelta(hours=1),
    )
    # And in shop a2 (London, 20:00 now): a case breached at 19:00 local, ended unanswered after
    case = case_needing_decision(world.shop_a2)
    ended = deadline(
        case, due_in=-timedelta(hours=1), state="ended", closed_in=-timedelta(minutes=30)
    )
    # And one due 19:30 London yesterday... i.e. 21 h ago (London's yesterday): not today
    deadline(
        conversation_with_messages(world.shop_a2),
        due_in=-timedelta(hours=21),
        state="missed",
        closed_in=-timedelta(hours=1),
    )
    overview = sla_risk_overview(world.supervisor_a, now=NOW)
    shops = {g.key: g for g in overview.shops}
    assert ids(shops[world.shop_a1.id].breached_today) == {missed.id, still_open.id}
    assert yesterday.id not in ids(shops[world.shop_a1.id].breached_today)
    assert ids(shops[world.shop_a2.id].breached_today) == {ended.id}
    item = shops[world.shop_a2.id].breached_today[0]
    assert (item.subject, item.subject_id, item.url) == (
        "case",
        case.id,
        f"/inbox/cases/{case.id}/",
    )


def test_agents_and_other_organisations_get_nothing(world):
    deadline(conversation_with_messages(world.shop_a1), due_in=timedelta(minutes=5))
    with pytest.raises(NotFound):
        sla_risk_overview(world.agent_a1, now=NOW)
    overview = sla_risk_overview(world.supervisor_b, now=NOW)
    assert overview.totals == {"at_risk": 0, "overdue": 0, "breached_today": 0}
    assert [g.key for g in overview.shops] == [world.shop_b1.id]


def test_the_query_count_does_not_grow_with_deadlines_shops_or_agents(
    world, django_assert_max_num_queries
):
    def populate(n: int) -> None:
        for shop in (world.shop_a1, world.shop_a2, world.shop_a3):
            for k in range(n):
                c = conversation_with_messages(shop)
                if k % 2:
                    assigned(c, world.agent_a1 if shop == world.shop_a1 else world.agent_a2)
                deadline(c, due_in=timedelta(minutes=30 - 20 * k))

    populate(2)
    with django_assert_max_num_queries(7) as few:
        sla_risk_overview(world.supervisor_a, now=NOW)
    populate(6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        overview = sla_risk_overview(world.supervisor_a, now=NOW)
    assert overview.totals["at_risk"] == 24


def test_the_page_shows_counts_links_and_both_times(world, settings):
    c = assigned(conversation_with_messages(world.shop_a2), world.agent_a2)
    d = deadline(c, due_in=timedelta(minutes=30))
    client = Client()
    client.force_login(world.supervisor_a)
    html = client.get("/sla/risk/").content.decode()
    assert f'data-deadline="{d.id}"' in html
    assert f'href="/inbox/c/{c.id}/"' in html
    assert "Europe/London" in html and 'class="countdown"' in html
    assert 'href="/sla/risk/"' in html  # the nav's link


def test_page_access(world):
    client = Client()
    client.force_login(world.agent_a1)
    assert client.get("/sla/risk/").status_code == 404
    client.force_login(world.supervisor_b)
    assert client.get("/sla/risk/").status_code == 200
    anonymous = Client().get("/sla/risk/")
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    world.supervisor_a.is_active = False
    world.supervisor_a.save()
    client.force_login(world.supervisor_a)
    gone = client.get("/sla/risk/")
    assert gone.status_code == 302 and "/login" in gone["Location"]


def test_the_page_speaks_chinese(world):
    client = Client()
    world.supervisor_a.member.language = "zh-hans"
    world.supervisor_a.member.save()
    client.force_login(world.supervisor_a)
    html = client.get("/sla/risk/").content.decode()
    assert "有风险" in html


def test_a_deadline_without_recorded_warnings_goes_by_its_shops_policy(world):
    # Given shop a2 with its own policy warning 30 minutes before, the organisation 4 h before
    SlaPolicy.objects.create(organisation=world.org_a, warning_minutes=[240])
    SlaPolicy.objects.create(
        organisation=world.org_a, shop_account=world.shop_a2, warning_minutes=[30]
    )
    # And deadlines whose rule records no warnings
    near = deadline(conversation_with_messages(world.shop_a2), due_in=timedelta(minutes=20))
    far = deadline(conversation_with_messages(world.shop_a2), due_in=timedelta(minutes=45))
    org = deadline(conversation_with_messages(world.shop_a1), due_in=timedelta(hours=3))
    Deadline.objects.filter(id__in=[near.id, far.id, org.id]).update(rule={})
    overview = sla_risk_overview(world.supervisor_a, now=NOW)
    at_risk = {i.id for g in overview.shops for i in g.at_risk}
    assert near.id in at_risk and org.id in at_risk
    assert far.id not in at_risk
