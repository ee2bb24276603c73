"""After-sales rows on the web queue: what a case row shows (type, shop, buyer, the deadline in
the viewer's and the shop's time, due/overdue), the after-sales filter, the live row endpoint,
both languages."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
from django.utils import dateformat, formats, translation
from django.utils import timezone as dj_timezone

from inbox.models import AfterSalesCase, Member
from tests.inbox.builders import conversation_with_messages
from tests.inbox.case_builders import case_needing_decision

pytestmark = pytest.mark.django_db


def shown(when, zone: str, language: str = "en") -> str:
    with translation.override(language):
        fmt = formats.get_format("SHORT_DATETIME_FORMAT")
        return dateformat.format(when.astimezone(zoneinfo.ZoneInfo(zone)), fmt)


@pytest.fixture
def signed_in(client, world):
    client.force_login(world.agent_a1)
    return client


def test_a_case_row_shows_type_shop_buyer_and_its_deadline_in_both_times(signed_in, world):
    case = case_needing_decision(
        world.shop_a1, due_in=timedelta(hours=5, minutes=10), buyer="Lucy W."
    )
    viewer = Member.objects.get(user=world.agent_a1).time_zone  # Asia/Shanghai
    html = signed_in.get("/inbox/").content.decode()
    row = html[html.index(f'id="qcase-{case.id}"') :]
    row = row[: row.index("</li>")]
    assert f'href="/inbox/cases/{case.id}/"' in row
    assert "Refund only" in row and "Lucy W." in row and world.shop_a1.name in row
    assert "RETURN_OR_REFUND_REQUEST_PENDING" in row
    assert "Due in 5 h" in row
    assert shown(case.seller_deadline, viewer) in row
    assert f"shop time {shown(case.seller_deadline, world.shop_a1.time_zone)}" in row
    assert shown(case.seller_deadline, viewer) != shown(
        case.seller_deadline, world.shop_a1.time_zone
    )


def test_an_overdue_case_says_so_and_comes_first(signed_in, world):
    conversation_with_messages(world.shop_a1, waited=timedelta(hours=1))
    late = case_needing_decision(world.shop_a1, due_in=-timedelta(hours=2, minutes=5))
    html = signed_in.get("/inbox/queue/").content.decode()
    assert html.index(f"qcase-{late.id}") < html.index('class="qrow')
    assert "Overdue 2 h" in html and "is-overdue" in html


def test_the_after_sales_filter_lists_cases_only(signed_in, world):
    chat = conversation_with_messages(world.shop_a1)
    case = case_needing_decision(world.shop_a1)
    only_cases = signed_in.get("/inbox/queue/?kind=cases").content.decode()
    assert f"qcase-{case.id}" in only_cases and f"qrow-{chat.id}" not in only_cases
    only_chats = signed_in.get("/inbox/queue/?kind=conversations").content.decode()
    assert f"qrow-{chat.id}" in only_chats and f"qcase-{case.id}" not in only_chats
    AfterSalesCase.objects.filter(id=case.id).update(stage="decided")
    empty = signed_in.get("/inbox/queue/?kind=cases").content.decode()
    assert "No after-sales request needs a decision." in empty


def test_the_live_row_of_a_case_says_when_the_view_no_longer_lists_it(signed_in, world):
    case = case_needing_decision(world.shop_a1)
    row = signed_in.get(f"/inbox/queue/case/{case.id}/?kind=cases").content.decode()
    assert f'id="qcase-{case.id}"' in row and 'data-in-view="1"' in row
    assert (
        'data-in-view="0"'
        in signed_in.get(f"/inbox/queue/case/{case.id}/?kind=conversations").content.decode()
    )
    AfterSalesCase.objects.filter(id=case.id).update(stage="decided")
    assert 'data-in-view="0"' in signed_in.get(f"/inbox/queue/case/{case.id}/").content.decode()


def test_a_case_of_another_shop_is_not_found(signed_in, world):
    other = case_needing_decision(world.shop_a2)
    assert signed_in.get(f"/inbox/queue/case/{other.id}/").status_code == 404
    assert f"qcase-{other.id}" not in signed_in.get("/inbox/").content.decode()


def test_a_case_row_in_chinese(signed_in, world):
    Member.objects.filter(user=world.agent_a1).update(language="zh-hans")
    case = case_needing_decision(world.shop_a1, due_in=timedelta(hours=5, minutes=10))
    html = signed_in.get("/inbox/queue/?kind=cases").content.decode()
    with translation.override("zh-hans"):
        assert translation.gettext("Due in %(time)s") != "Due in %(time)s"  # translated at all
        due = translation.gettext("Due in %(time)s") % {
            "time": translation.gettext("%(n)s h") % {"n": 5}
        }
        kind = str(AfterSalesCase(kind="refund").get_kind_display())
    assert due in html and kind in html and f"qcase-{case.id}" in html
    assert "Refund only" not in html


def test_a_failed_decision_shows_its_reason_on_the_row(signed_in, world):
    from inbox.models import AfterSalesDecision, OutboxAction

    case = case_needing_decision(world.shop_a1)
    decision = AfterSalesDecision.objects.create(
        organisation=world.org_a, case=case, verb="approve", decision="APPROVE_REFUND"
    )
    OutboxAction.objects.create(
        kind="after_sales_decision",
        organisation=world.org_a,
        shop_account=world.shop_a1,
        subject_id=decision.id,
        state="failed",
        failure_reason="The return cannot be approved in its status. (code 40009)",
        next_attempt_at=dj_timezone.now(),
    )
    html = signed_in.get("/inbox/queue/").content.decode()
    assert "Decision failed: The return cannot be approved in its status. (code 40009)" in html
