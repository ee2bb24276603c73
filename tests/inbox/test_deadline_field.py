"""Every queue row, conversation and case carries its open SLA deadline ("deadline": kind, due
time in UTC and in the shop's zone, warning time, state) or null; read for a page in one
query; the pages draw it as a countdown badge."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.inbox.builders import conversation_with_messages
from tests.inbox.case_builders import case_needing_decision
from tests.inbox.sla_builders import deadline_on, deadlines_clear

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


@pytest.fixture
def rows(world):
    """Shop a2 is in London: an ok chat, a chat in its warning window, a breached case, and a
    chat with no open deadline."""
    now = timezone.now().replace(microsecond=0)
    ok = conversation_with_messages(world.shop_a2)
    deadline_on(ok, now + 10 * H, kind="first_reply")
    warning = conversation_with_messages(world.shop_a2)
    deadline_on(warning, now + 2 * H, kind="next_reply", warnings=(240, 60))
    breached = case_needing_decision(world.shop_a2)
    deadline_on(breached, now - 30 * timedelta(minutes=1), kind="after_sales")
    none = conversation_with_messages(world.shop_a2)
    deadlines_clear(none)
    return {"ok": ok, "warning": warning, "breached": breached, "none": none, "now": now}


def by_id(results, kind="conversation"):
    return {r[kind]["id"]: r[kind]["deadline"] for r in results if r["type"] == kind}


def test_queue_rows_carry_their_deadline_or_null(world, api, rows):
    body = api.as_user(world.agent_a2).get("/api/v1/queue/?sort=due").json()["results"]
    chats, cases = by_id(body), by_id(body, "case")
    london = zoneinfo.ZoneInfo("Europe/London")
    ok_due = rows["now"] + 10 * H
    assert chats[rows["ok"].id] == {
        "kind": "first_reply",
        "due_at": ok_due.astimezone(zoneinfo.ZoneInfo("UTC")).isoformat(),
        "due_local": ok_due.astimezone(london).isoformat(),
        "time_zone": "Europe/London",
        "warn_at": (ok_due - 4 * H).astimezone(zoneinfo.ZoneInfo("UTC")).isoformat(),
        "state": "ok",
    }
    assert chats[rows["warning"].id]["state"] == "warning"
    assert chats[rows["warning"].id]["kind"] == "next_reply"
    assert cases[rows["breached"].id]["state"] == "breached"
    assert chats[rows["none"].id] is None
    due_at = {(r["type"], r[r["type"]]["id"]): r["due_at"] for r in body}
    assert due_at[("case", rows["breached"].id)] == cases[rows["breached"].id]["due_at"]


def test_conversations_and_cases_endpoints_carry_it_too(world, api, rows):
    client = api.as_user(world.agent_a2)
    listed = client.get("/api/v1/conversations/").json()["results"]
    assert {r["id"]: (r["deadline"] or {}).get("state") for r in listed} == {
        rows["ok"].id: "ok",
        rows["warning"].id: "warning",
        rows["none"].id: None,
    }
    one = client.get(f"/api/v1/conversations/{rows['warning'].id}/").json()
    assert one["deadline"]["state"] == "warning"
    assert client.get(f"/api/v1/conversations/{rows['none'].id}/").json()["deadline"] is None
    patched = client.patch(
        f"/api/v1/conversations/{rows['ok'].id}/", {"priority": 2}, format="json"
    ).json()
    assert patched["deadline"]["kind"] == "first_reply"
    cases = client.get("/api/v1/after-sales/").json()["results"]
    assert [c["deadline"]["state"] for c in cases] == ["breached"]
    case = client.get(f"/api/v1/after-sales/{rows['breached'].id}/").json()
    assert case["deadline"]["kind"] == "after_sales"
    assert case["deadline"]["due_local"].endswith(("+00:00", "+01:00"))


def test_another_shops_agent_never_gets_the_rows_or_their_deadlines(world, api, rows):
    client = api.as_user(world.agent_b)
    assert client.get("/api/v1/queue/?sort=due").json()["results"] == []
    assert client.get("/api/v1/queue/?sort=due&due=today").json()["results"] == []
    assert client.get(f"/api/v1/conversations/{rows['ok'].id}/").status_code == 404
    assert client.get(f"/api/v1/after-sales/{rows['breached'].id}/").status_code == 404


def _morning_zone(now) -> str:
    """A fixed-offset zone where it is now between 9 and 10 in the morning, so deadlines in the
    next hours fall "today" for the viewer whatever time of day the test runs (Etc/GMT-N is
    UTC+N)."""
    offset = (9 - now.hour) % 24
    if offset > 14:
        offset -= 24
    return f"Etc/GMT{-offset:+d}" if offset else "UTC"


def test_a_page_of_deadlines_costs_one_query(world, api, django_assert_max_num_queries):
    now = timezone.now()
    member = world.agent_a1.member
    member.time_zone = _morning_zone(now)
    member.save(update_fields=["time_zone"])
    for i in range(30):
        deadline_on(conversation_with_messages(world.shop_a1), now + (i + 1) * H)
        deadline_on(case_needing_decision(world.shop_a1), now + (i + 1) * H)
    client = api.as_user(world.agent_a1)
    for url in ("/api/v1/queue/", "/api/v1/queue/?sort=due", "/api/v1/queue/?due=today"):
        with django_assert_max_num_queries(9):  # the queue's 8, plus the deadlines
            results = client.get(url).json()["results"]
        assert results and all(r[r["type"]]["deadline"] for r in results), url
    with django_assert_max_num_queries(9):
        listed = client.get("/api/v1/conversations/?sort=due").json()["results"]
    assert len(listed) == 30 and all(r["deadline"] for r in listed)
    with django_assert_max_num_queries(9):
        cases = client.get("/api/v1/after-sales/").json()["results"]
    assert len(cases) == 30 and all(c["deadline"] for c in cases)


def test_the_queue_page_draws_a_badge_per_row_in_its_state(world, client, rows):
    client.force_login(world.agent_a2)
    html = client.get("/inbox/queue/?sort=due").content.decode()
    assert f'data-subject="conversation" data-id="{rows["ok"].id}"' in html
    assert html.count('class="sla-badge sla-ok"') == 1
    assert html.count('class="sla-badge sla-warning"') == 1
    assert html.count('class="sla-badge sla-breached"') == 1
    assert "overdue 30m" in html or "overdue 29m" in html
    assert "Europe/London" in html  # the tooltip's shop zone
    today = client.get("/inbox/queue/?sort=due&due=today").content.decode()
    assert f'id="qrow-{rows["none"].id}"' not in today


def test_the_badge_in_chinese(world, client, rows):
    from django.utils import translation

    from inbox.models import Member

    Member.objects.filter(user=world.agent_a2).update(language="zh-hans")
    client.force_login(world.agent_a2)
    html = client.get("/inbox/queue/?sort=due").content.decode()
    with translation.override("zh-hans"):
        overdue = translation.gettext("overdue %(time)s")
        title = translation.gettext(
            "Due %(shop)s shop time (%(shop_zone)s) · %(viewer)s your time (%(viewer_zone)s)"
        )
    assert "overdue" not in overdue and "shop time" not in title  # translated at all
    assert overdue.split("%")[0] in html and title.split("%")[0] in html


def test_the_case_page_alone_shows_the_badge_and_keeps_a_socket(world, client):
    from inbox.models import AfterSalesCase

    # Given a case whose buyer has no conversation (the page shows the case alone)
    case = case_needing_decision(world.shop_a1)
    AfterSalesCase.objects.filter(pk=case.pk).update(customer=None, conversation=None)
    deadline_on(case, timezone.now() + 2 * H)
    client.force_login(world.agent_a1)
    html = client.get(f"/inbox/cases/{case.id}/").content.decode()
    assert "The case is shown on its own" in html
    # Then its card carries the badge, and the page its own socket for live changes
    assert 'class="sla-badge sla-warning"' in html
    assert 'id="sla-live"' in html and "inbox/socket.js" in html and "inbox/sla.js" in html
