"""Holidays imported from an iCalendar file (monitoring.sla.ical): all-day, multi-day, timed
and yearly recurring events, and the files it refuses."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from monitoring.sla.ical import MAX_ICAL_BYTES, ICalError, holidays_from_ical

TODAY = date(2026, 12, 3)


def ics(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{event.strip()}\r\nEND:VEVENT\r\n" for event in events)
    text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//scrm tests//EN\r\n{body}END:VCALENDAR\r\n"
    return text.replace("\n        ", "\n").encode()


def test_all_day_and_multi_day_events_give_each_day():
    # Given a one-day event without an end and a three-day event (DTEND exclusive)
    data = ics(
        "UID:one\r\nDTSTART;VALUE=DATE:20261225\r\nSUMMARY:Christmas Day",
        "UID:two\r\nDTSTART;VALUE=DATE:20261001\r\nDTEND;VALUE=DATE:20261004\r\nSUMMARY:国庆节",
        "UID:three\r\nDTSTART;VALUE=DATE:20260501\r\nDURATION:P2D\r\nSUMMARY:Labour Day",
    )
    # When imported, then each day once with its name, by date
    assert holidays_from_ical(data, today=TODAY) == [
        (date(2026, 5, 1), "Labour Day"),
        (date(2026, 5, 2), "Labour Day"),
        (date(2026, 10, 1), "国庆节"),
        (date(2026, 10, 2), "国庆节"),
        (date(2026, 10, 3), "国庆节"),
        (date(2026, 12, 25), "Christmas Day"),
    ]


def test_yearly_events_are_expanded_this_year_and_two_more_less_exceptions():
    # Given a yearly New Year's Day since 2015, and a yearly event with one year excepted
    data = ics(
        "UID:ny\r\nDTSTART;VALUE=DATE:20150101\r\nRRULE:FREQ=YEARLY\r\nSUMMARY:New Year",
        "UID:mid\r\nDTSTART;VALUE=DATE:20200815\r\nRRULE:FREQ=YEARLY\r\n"
        "EXDATE;VALUE=DATE:20270815\r\nSUMMARY:Merdeka",
    )
    # When imported in December 2026, then 2026, 2027 and 2028, without the excepted day
    assert holidays_from_ical(data, today=TODAY) == [
        (date(2026, 1, 1), "New Year"),
        (date(2026, 8, 15), "Merdeka"),
        (date(2027, 1, 1), "New Year"),
        (date(2028, 1, 1), "New Year"),
        (date(2028, 8, 15), "Merdeka"),
    ]


def test_moved_extra_and_multi_day_occurrences():
    # Given a yearly two-day festival, an extra date, and the 2027 one moved to 3–4 March
    data = ics(
        "UID:fest\r\nDTSTART;VALUE=DATE:20200210\r\nDTEND;VALUE=DATE:20200212\r\n"
        "RRULE:FREQ=YEARLY;UNTIL=20280101\r\nRDATE;VALUE=DATE:20260704\r\nSUMMARY:Fest",
        "UID:fest\r\nRECURRENCE-ID;VALUE=DATE:20270210\r\nDTSTART;VALUE=DATE:20270303\r\n"
        "DTEND;VALUE=DATE:20270305\r\nSUMMARY:Fest (moved)",
    )
    # When imported, then both days of each (the extra date too), the moved one where it
    # moved, none after UNTIL
    assert holidays_from_ical(data, today=TODAY) == [
        (date(2026, 2, 10), "Fest"),
        (date(2026, 2, 11), "Fest"),
        (date(2026, 7, 4), "Fest"),
        (date(2026, 7, 5), "Fest"),
        (date(2027, 3, 3), "Fest (moved)"),
        (date(2027, 3, 4), "Fest (moved)"),
    ]


def test_a_daily_rule_is_expanded_over_the_window_only():
    # Given an event every day since 2000
    data = ics("UID:d\r\nDTSTART;VALUE=DATE:20000101\r\nRRULE:FREQ=DAILY\r\nSUMMARY:Daily")
    # When imported, then every day of 2026, 2027 and 2028, nothing before or after
    days = holidays_from_ical(data, today=TODAY)
    assert (days[0][0], days[-1][0], len(days)) == (date(2026, 1, 1), date(2028, 12, 31), 1096)


def test_a_timed_event_counts_for_the_day_it_starts_in_the_shops_time_zone():
    # Given an evening party 23:00–02:00 UTC
    data = ics("UID:p\r\nDTSTART:20261224T230000Z\r\nDTEND:20261225T020000Z\r\nSUMMARY:Party")
    # When imported as is, then 24 December; for a Shanghai shop, 25 December (07:00 there)
    assert holidays_from_ical(data, today=TODAY) == [(date(2026, 12, 24), "Party")]
    assert holidays_from_ical(data, today=TODAY, time_zone="Asia/Shanghai") == [
        (date(2026, 12, 25), "Party")
    ]


def test_overlapping_events_keep_the_first_name_and_long_names_are_cut():
    data = ics(
        "UID:a\r\nDTSTART;VALUE=DATE:20261225\r\nSUMMARY:" + "x" * 250,
        "UID:b\r\nDTSTART;VALUE=DATE:20261225\r\nSUMMARY:Also Christmas",
        "UID:c\r\nDTSTART;VALUE=DATE:20261226",
    )
    assert holidays_from_ical(data, today=TODAY) == [
        (date(2026, 12, 25), "x" * 200),
        (date(2026, 12, 26), ""),
    ]


def test_a_byte_order_mark_and_unix_line_ends_are_read():
    data = b"\xef\xbb\xbf" + ics("UID:x\r\nDTSTART;VALUE=DATE:20261225\r\nSUMMARY:Xmas")
    assert holidays_from_ical(data.replace(b"\r\n", b"\n"), today=TODAY) == [
        (date(2026, 12, 25), "Xmas")
    ]


def test_a_calendar_without_events_gives_nothing():
    assert holidays_from_ical(ics(), today=TODAY) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Date,Name\n2026-12-25,Christmas\n", "not an iCalendar"),
        (b"", "not an iCalendar"),
        (b"\x89PNG\r\n\x1a\n", "not an iCalendar"),
        (b"BEGIN:VCALENDAR\r\nthis line is not a property\r\n", "not an iCalendar"),
        (b"BEGIN:VCALENDAR\r\n" + b"X" * MAX_ICAL_BYTES, "larger than 1 MB"),
        (
            ics("UID:long\r\nDTSTART;VALUE=DATE:20260101\r\nDTEND;VALUE=DATE:20400101"),
            "more holidays",
        ),
        (
            ics("UID:h\r\nDTSTART:20260101T000000Z\r\nRRULE:FREQ=HOURLY\r\nSUMMARY:Hourly"),
            "more often than daily",
        ),
        (ics("UID:bad\r\nDTSTART;VALUE=DATE:2026-13-45"), "not an iCalendar|could not be read"),
    ],
)
def test_bad_files_are_refused_with_a_clear_error(data, message):
    # Given a file that is not a holiday calendar; when imported, then an ICalError
    with pytest.raises(ICalError, match=message) as raised:
        holidays_from_ical(data, today=TODAY)
    assert isinstance(raised.value, ValueError)
    assert str(raised.value) == str(raised.value.message)


def test_the_error_speaks_the_readers_language():
    # Given a refused file; when its error is shown to a Chinese reader, then in Chinese
    with pytest.raises(ICalError) as raised:
        holidays_from_ical(b"not a calendar", today=TODAY)
    with translation.override("zh-hans"):
        assert str(raised.value) == "这不是 iCalendar（.ics）文件。"
    with translation.override("en"):
        assert str(raised.value) == "This is not an iCalendar (.ics) file."
