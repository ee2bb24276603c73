"""The SLA settings pages in a browser, in both languages: a supervisor gives a shop its own
12-hour first reply, moves it to Singapore with a lunch break, adds a holiday, imports an .ics
file, then types an arrival time and sees when each target falls due in shop time and in their
own (Berlin) time. English runs write docs/screenshots/sla-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from inbox.models import Member
from monitoring.models import BusinessCalendar, Holiday, SlaPolicy
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_browser_hygiene import Watch
from tests.monitoring.test_sla_settings_services import ICS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {
        "nav": "SLA settings",
        "heading": "SLA policies",
        "own": "Own targets",
        "twelve": "12 hours",
        "saved": "The shop's own SLA policy is saved.",
        "calendar_link": "Working hours, holidays and when requests fall due",
        "week_saved": "Time zone and working hours saved.",
        "holiday_added": "Holiday added: 2027-05-01.",
        "imported": "Holidays imported: 3 added, 1 skipped (already there).",
        "preview": "When would it fall due?",
        "lunch_help": "Two periods give a lunch break",
    },
    "zh-hans": {
        "nav": "SLA 设置",
        "heading": "SLA 策略",
        "own": "自有目标",
        "twelve": "12 小时",
        "saved": "该店铺的自有 SLA 策略已保存。",
        "calendar_link": "工作时间、节假日以及咨询何时到期",
        "week_saved": "时区和工作时间已保存。",
        "holiday_added": "已添加节假日：2027-05-01。",
        "imported": "节假日已导入：新增 3 个，跳过 1 个（已存在）。",
        "preview": "何时到期？",
        "lunch_help": "两个时段可留出午休",
    },
}


def shot(page, name: str, lang: str) -> None:
    if lang == "en":
        page.screenshot(path=str(SCREENSHOTS / f"sla-{name}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_a_supervisor_sets_a_shops_targets_and_calendar(session, world, lang, tmp_path):
    words = TEXT[lang]
    shop = world.shop_a1
    Member.objects.filter(user=world.supervisor_a).update(time_zone="Europe/Berlin")
    page = session.page_for(world.supervisor_a, lang=lang)
    watch = Watch(page, session.base)  # console errors and CSP violations

    # When the supervisor opens "SLA settings" from the inbox
    page.goto(session.base + "/inbox/")
    page.get_by_role("link", name=words["nav"], exact=True).click()
    page.wait_for_url("**/sla/policies/")
    expect(page.locator("h1")).to_have_text(words["heading"])
    row = page.locator(f'#shop-policies tr[data-shop="{shop.id}"]')
    expect(row).to_have_attribute("data-policy", "organisation")

    # And gives shop a1 its own targets, with the 12-hour first reply
    row.locator("button.override-policy").click()
    page.wait_for_url(f"**/sla/policies/{shop.id}/")
    expect(page.locator("#policy-state")).to_have_text(words["own"])
    page.get_by_label(words["twelve"], exact=True).check()
    expect(page.locator("#id_first_reply_custom")).to_have_value("720")  # sla_settings.js
    page.locator("#policy-submit").click()

    # Then the shop's first reply is due within 12 hours
    expect(page.get_by_role("status")).to_have_text(words["saved"])
    assert SlaPolicy.objects.get(shop_account=shop).first_reply_minutes == 720
    expect(page.locator("#id_first_reply_preset_720")).to_be_checked()
    shot(page, "shop-policy", lang)

    # When they open its calendar, move it to Singapore and give Monday a lunch break
    page.get_by_role("link", name=words["calendar_link"]).click()
    page.wait_for_url(f"**/sla/calendars/{shop.id}/")
    expect(page.locator("#week-table")).to_be_visible()
    expect(page.get_by_text(words["lunch_help"])).to_be_visible()
    page.select_option("#id_time_zone", "Asia/Singapore")
    page.fill("#id_day0_1_end", "12:00")
    page.fill("#id_day0_2_start", "13:00")
    page.fill("#id_day0_2_end", "18:00")
    page.locator("#calendar-submit").click()
    expect(page.get_by_role("status")).to_have_text(words["week_saved"])
    calendar = BusinessCalendar.objects.get(shop_account=shop)
    assert calendar.working_hours["0"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    shop.refresh_from_db()
    assert shop.time_zone == "Asia/Singapore"

    # And add a holiday, then import a file holding it and three more days
    page.fill("#id_holiday_date", "2027-05-01")
    page.fill("#id_holiday_name", "Labour Day")
    page.locator("#holiday-submit").click()
    expect(page.get_by_role("status")).to_have_text(words["holiday_added"])
    expect(page.locator('#holidays-table tr[data-date="2027-05-01"]')).to_contain_text("Labour Day")
    ics = tmp_path / "holidays.ics"
    ics.write_bytes(ICS.replace(b"20270101", b"20270501").replace(b"20270102", b"20270502"))
    page.set_input_files("#id_ical", str(ics))
    page.locator("#ical-submit").click()
    expect(page.get_by_role("status")).to_have_text(words["imported"])
    expect(page.locator("#holidays-table tbody tr")).to_have_count(4)
    assert Holiday.objects.filter(calendar=calendar).count() == 4

    # When they type an arrival on Friday 5 March 2027 at 16:00 shop time
    expect(page.locator("#preview-heading")).to_have_text(words["preview"])
    page.fill("#id_arrival", "2027-03-05T16:00")
    page.locator("#preview-submit").click()

    # Then the preview (refreshed in place) shows each due time in shop and Berlin time:
    # the first reply 12 h later, the same-day target at the end of Friday's work (18:00)
    first = page.locator('#preview-table tr[data-kind="first_reply"]')
    expect(first.locator(".due-shop")).to_contain_text("2027-03-06 04:00")
    expect(first.locator(".due-viewer")).to_contain_text("2027-03-05 21:00")
    same_day = page.locator('#preview-table tr[data-kind="same_day"]')
    expect(same_day.locator(".due-shop")).to_contain_text("2027-03-05 18:00")
    expect(same_day.locator(".due-viewer")).to_contain_text("2027-03-05 11:00")
    assert "arrival=" not in page.url  # htmx swapped the preview; the page stayed
    shot(page, "calendar", lang)
    assert page.js_errors == []  # type: ignore[attr-defined]
    watch.assert_clean("sla settings")
