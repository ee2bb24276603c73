"""The SLA settings pages over HTTP (Django's test client): supervisors and admins see and change
the policies and calendars, agents and other organisations get a 404, a deactivated person is
sent to sign in; refused forms say why beside what was typed; both languages."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from inbox.models import Member, Role
from monitoring.models import AuditEvent, BusinessCalendar, Holiday, SlaPolicy
from monitoring.services.sla_settings import holiday_add
from tests.factories import make_person
from tests.monitoring.test_sla_settings_services import ICS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


POLICY = {
    "action": "save",
    "first_reply_preset": "720",
    "first_reply_custom": "1440",
    "next_reply_minutes": "1440",
    "after_sales_minutes": "1440",
    "same_day_enabled": "on",
    "same_day_cutoff": "17:00",
    "warning_minutes": "240, 60",
}


def signed_in(user, lang: str = "en") -> Client:
    Member.objects.filter(user=user).update(language=lang)
    client = Client()
    client.force_login(user)
    return client


def html(response) -> str:
    return response.content.decode()


def week_post(**changes) -> dict[str, str]:
    body = {"action": "save", "time_zone": "America/New_York"}
    for day in range(5):
        body[f"day{day}_1_start"], body[f"day{day}_1_end"] = "09:00", "12:00"
        body[f"day{day}_2_start"], body[f"day{day}_2_end"] = "13:00", "18:00"
    return {**body, **changes}


def urls(world) -> dict[str, str]:
    shop = world.shop_a1.id
    return {
        "policies": "/sla/policies/",
        "shop-policy": f"/sla/policies/{shop}/",
        "calendars": "/sla/calendars/",
        "calendar": f"/sla/calendars/{shop}/",
    }


# --- who sees what -----------------------------------------------------------------------------
def test_supervisors_and_admins_see_the_pages_agents_do_not(world):
    admin = make_person(world.org_a, Role.ADMIN, username="admin_a")
    for user, expected in [(world.supervisor_a, 200), (admin, 200), (world.agent_a1, 404)]:
        client = signed_in(user)
        got = {name: client.get(url).status_code for name, url in urls(world).items()}
        assert got == dict.fromkeys(got, expected), user
        assert client.post("/sla/policies/", POLICY).status_code in (302, 404)
    assert (
        not SlaPolicy.objects.exclude(updated_by=world.supervisor_a)
        .exclude(updated_by=admin)
        .exists()
    )
    nav = html(signed_in(world.supervisor_a).get("/inbox/manage/shops/"))
    assert 'href="/sla/policies/"' in nav
    assert 'href="/sla/policies/"' not in html(signed_in(world.agent_a1).get("/inbox/"))


def test_another_organisations_shop_is_not_found(world):
    client = signed_in(world.supervisor_b)
    shop = world.shop_a1.id
    for url in (f"/sla/policies/{shop}/", f"/sla/calendars/{shop}/", "/sla/calendars/999999999/"):
        assert client.get(url).status_code == 404
        assert client.post(url, {"action": "override"}).status_code == 404
    assert (
        client.post(
            f"/sla/calendars/{shop}/", {"action": "holiday_add", "date": "2027-01-01"}
        ).status_code
        == 404
    )
    listing = html(client.get("/sla/calendars/"))
    assert world.shop_a1.name not in listing and world.shop_b1.name in listing
    assert not Holiday.objects.exists() and not SlaPolicy.objects.exists()


def test_a_deactivated_supervisor_is_sent_to_sign_in(world):
    client = signed_in(world.supervisor_a)
    world.supervisor_a.is_active = False
    world.supervisor_a.save(update_fields=["is_active"])
    for url in urls(world).values():
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    assert client.post("/sla/policies/", POLICY).status_code == 302
    assert not SlaPolicy.objects.exists()


# --- policies ----------------------------------------------------------------------------------
def test_the_organisation_policy_form_saves_with_the_12_hour_preset(world):
    client = signed_in(world.supervisor_a)
    page = html(client.get("/sla/policies/"))
    assert 'id="id_first_reply_preset_1440" checked' in page.replace('"\n', '"')
    response = client.post("/sla/policies/", POLICY)
    assert response.status_code == 302 and response["Location"] == "/sla/policies/"
    policy = SlaPolicy.objects.get(organisation=world.org_a, shop_account=None)
    assert policy.first_reply_minutes == 720
    page = html(client.get("/sla/policies/"))
    assert "The organisation&#x27;s SLA policy is saved." in page
    assert 'value="720" id="id_first_reply_preset_720" checked' in page
    # A custom target
    client.post(
        "/sla/policies/", {**POLICY, "first_reply_preset": "custom", "first_reply_custom": "90"}
    )
    policy.refresh_from_db()
    assert policy.first_reply_minutes == 90


def test_a_refused_policy_says_why_and_keeps_what_was_typed(world):
    client = signed_in(world.supervisor_a)
    response = client.post(
        "/sla/policies/", {**POLICY, "warning_minutes": "240, soon", "same_day_cutoff": "16:45"}
    )
    assert response.status_code == 400
    page = html(response)
    assert "Warnings: up to six numbers of minutes" in page
    assert 'value="240, soon" placeholder="240, 60" aria-invalid="true"' in page
    assert 'value="16:45"' in page
    assert not SlaPolicy.objects.exists()


def test_a_shop_gets_its_own_targets_and_follows_the_organisation_again(world):
    client = signed_in(world.supervisor_a)
    shop = world.shop_a1
    page = html(client.get("/sla/policies/"))
    assert f'data-shop="{shop.id}" data-policy="organisation"' in page
    # When the supervisor sets own targets for the shop
    response = client.post(f"/sla/policies/{shop.id}/", {"action": "override"})
    assert response.status_code == 302
    own = SlaPolicy.objects.get(shop_account=shop)
    assert own.first_reply_minutes == 1440  # copied from the organisation's (the defaults)
    # And gives it the 12-hour first reply
    client.post(f"/sla/policies/{shop.id}/", POLICY)
    own.refresh_from_db()
    assert own.first_reply_minutes == 720
    page = html(client.get("/sla/policies/"))
    assert f'data-shop="{shop.id}" data-policy="own"' in page and "First reply 12 h" in page
    # When it follows the organisation again
    client.post(f"/sla/policies/{shop.id}/", {"action": "revert"})
    assert not SlaPolicy.objects.filter(shop_account=shop).exists()
    assert [e for e in AuditEvent.objects.order_by("id").values_list("action", flat=True)] == [
        "sla_policy.created",
        "sla_policy.updated",
        "sla_policy.reverted",
    ]


# --- calendars ---------------------------------------------------------------------------------
def test_calendars_list_each_shop_with_its_zone_and_week(world):
    page = html(signed_in(world.supervisor_a).get("/sla/calendars/"))
    assert "Europe/London" in page and "Mon–Fri 09:00–18:00" in page
    assert world.shop_b1.name not in page


def test_the_week_and_time_zone_save_and_a_refusal_keeps_the_form(world):
    client = signed_in(world.supervisor_a)
    shop = world.shop_a1
    response = client.post(f"/sla/calendars/{shop.id}/", week_post())
    assert response.status_code == 302
    calendar = BusinessCalendar.objects.get(shop_account=shop)
    assert calendar.working_hours["0"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert calendar.working_hours["5"] == []
    shop.refresh_from_db()
    assert shop.time_zone == "America/New_York"
    assert "Mon–Fri 09:00–12:00, 13:00–18:00" in html(client.get("/sla/calendars/"))
    # Overlapping periods: refused, the typed values shown again, nothing saved
    response = client.post(
        f"/sla/calendars/{shop.id}/",
        week_post(
            day2_2_start="11:00", time_zone="Asia/Tokyo", day6_1_start="10:00", day6_1_end="14:00"
        ),
    )
    assert response.status_code == 400
    page = html(response)
    assert "must not overlap" in page
    assert 'name="day2_2_start" id="id_day2_2_start" value="11:00"' in page
    assert 'name="day6_1_end" id="id_day6_1_end" value="14:00"' in page
    assert '<option value="Asia/Tokyo" selected>' in page
    calendar.refresh_from_db()
    assert calendar.working_hours["6"] == []


def test_holidays_add_remove_and_import_on_the_page(world):
    client = signed_in(world.supervisor_a)
    url = f"/sla/calendars/{world.shop_a1.id}/"
    assert (
        client.post(
            url, {"action": "holiday_add", "date": "2027-05-01", "name": "Labour Day"}
        ).status_code
        == 302
    )
    page = html(client.get(url))
    assert "Labour Day" in page and 'data-date="2027-05-01"' in page
    again = client.post(url, {"action": "holiday_add", "date": "2027-05-01", "name": "Twice"})
    assert again.status_code == 409 and "already a holiday" in html(again)
    assert 'value="Twice"' in html(again)
    bad = client.post(url, {"action": "holiday_add", "date": "01/05/2027"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in html(bad)
    from django.core.files.uploadedfile import SimpleUploadedFile

    done = client.post(
        url,
        {"action": "ical", "ical": SimpleUploadedFile("h.ics", ICS, "text/calendar")},
        follow=True,
    )
    assert "Holidays imported: 4 added, 0 skipped (already there)." in html(done)
    holiday = Holiday.objects.get(date=date(2027, 5, 1))
    client.post(url, {"action": "holiday_remove", "holiday": str(holiday.id)})
    assert not Holiday.objects.filter(pk=holiday.pk).exists()
    # Another shop's holiday through this shop's page: not found
    other = holiday_add(
        actor=world.supervisor_a, shop_account_id=world.shop_a2.id, day=date(2027, 6, 1)
    )
    assert (
        client.post(url, {"action": "holiday_remove", "holiday": str(other.id)}).status_code == 404
    )


def test_the_preview_shows_due_times_in_shop_and_viewer_time(world):
    # Given shop a1 in Singapore, a supervisor in Berlin, the default Mon–Fri 09–18 week
    shop = world.shop_a1
    shop.time_zone = "Asia/Singapore"
    shop.save()
    Member.objects.filter(user=world.supervisor_a).update(time_zone="Europe/Berlin")
    client = signed_in(world.supervisor_a)
    # When they ask about a request on Friday 2027-03-05 at 16:00 shop time
    page = html(client.get(f"/sla/calendars/{shop.id}/?arrival=2027-03-05T16:00"))
    # Then the first reply is due 24 h later (Sat 16:00 SGT = 09:00 CET); same-day at 18:00
    assert 'data-kind="first_reply"' in page
    assert "Sat 2027-03-06 16:00" in page and "Sat 2027-03-06 09:00" in page
    assert "Fri 2027-03-05 18:00" in page and "Fri 2027-03-05 11:00" in page
    # An htmx request gets the preview alone
    part = html(
        client.get(f"/sla/calendars/{shop.id}/?arrival=2027-03-05T16:00", HTTP_HX_REQUEST="true")
    )
    assert part.startswith('<div id="sla-preview"') and "<html" not in part
    # Nonsense is a message, not an error page
    for bad in ("yesterday", "0001-01-01T00:00", "9999-12-31T23:59", "2027-03-05T16:00+08:00"):
        response = client.get(f"/sla/calendars/{shop.id}/", {"arrival": bad})
        assert response.status_code == 200 and "Give the arrival as a date and a time" in html(
            response
        )


def test_the_pages_speak_chinese(world):
    client = signed_in(world.supervisor_a, "zh-hans")
    policies = html(client.get("/sla/policies/"))
    calendar = html(client.get(f"/sla/calendars/{world.shop_a1.id}/"))
    assert "SLA 策略" in policies and "12 小时" in policies
    assert "节假日" in calendar and "工作时间" in calendar


def test_the_lists_cost_the_same_queries_for_one_shop_or_many(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import ShopAccountFactory

    client = signed_in(world.supervisor_a)

    def queries(url: str) -> int:
        client.get(url)  # warm: the session, the member
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = {url: queries(url) for url in ("/sla/policies/", "/sla/calendars/")}
    # Given five more shops, each with its own policy, calendar and holidays
    for n in range(5):
        shop = ShopAccountFactory(organisation=world.org_a, name=f"More {n}")
        SlaPolicy.objects.create(organisation=world.org_a, shop_account=shop)
        calendar = BusinessCalendar.objects.create(organisation=world.org_a, shop_account=shop)
        Holiday.objects.create(calendar=calendar, date=date(2027, 1, 1 + n))
    after = {url: queries(url) for url in before}
    assert after == before
    assert max(after.values()) <= 12
