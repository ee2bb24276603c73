"""Trend alert rules: an SKU's problems rising days in a row, an issue type's share growing week
over week; each trend alerted once (however often the evaluation runs, and while the rise goes
on), to the supervisors' bells and the alert channels, with figures and never the buyers'
words; and the weekly e-mail, once per shop-week, without them either."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core import mail

from monitoring.models import AlertReceipt, SlaAlert
from monitoring.models.problems import TrendFinding, WeeklyReportMail
from monitoring.problems.mail import weekly_mails_send
from monitoring.problems.services import trend_rule_add
from monitoring.problems.trends import trends_evaluate
from monitoring.sla.formats import alert_text
from tests.monitoring.channel_receiver import channel
from tests.monitoring.problem_builders import SECRET, seed, seed_fortnight

pytestmark = pytest.mark.django_db


def _at(day: date, hour: int = 20) -> datetime:
    """``hour`` UTC on ``day``: noon in Los Angeles (shop a1) the same day."""
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


def test_an_sku_rising_three_days_in_a_row_is_alerted_once(world):
    # Given a rule (3 days, at least 2 yesterday) and MUG-7's problems 0, 1, 2, 3 on Nov 20-23
    trend_rule_add(
        actor=world.supervisor_a, kind="sku_rising", shop_account_id=None, days=3, min_count=2
    )
    seed(world.shop_a1, date(2026, 11, 21), "damaged", "MUG-7", 1, quote=SECRET)
    seed(world.shop_a1, date(2026, 11, 22), "damaged", "MUG-7", 2, quote=SECRET)
    seed(world.shop_a1, date(2026, 11, 23), "late", "MUG-7", 3, quote=SECRET)
    seed(world.shop_a1, date(2026, 11, 23), "size", "TEE-2", 3)  # no rise: 0, 0, 3
    # When the rules are evaluated on Nov 24 (twice)
    assert trends_evaluate(now=_at(date(2026, 11, 24))) == 1
    assert trends_evaluate(now=_at(date(2026, 11, 24))) == 0
    # Then one trend: MUG-7 from Nov 21, its daily counts, told to the supervisors
    (finding,) = TrendFinding.objects.all()
    assert (finding.subject, finding.started_on, finding.ended_on) == (
        "MUG-7",
        date(2026, 11, 21),
        date(2026, 11, 23),
    )
    assert finding.figures == {"daily": [0, 1, 2, 3], "days": 3}
    (alert,) = SlaAlert.objects.filter(kind="trend")
    assert alert.trend_id == finding.id and alert.shop_account_id == world.shop_a1.id
    assert set(AlertReceipt.objects.filter(alert=alert).values_list("user_id", flat=True)) == {
        world.supervisor_a.pk
    }
    # When the rise goes on the next day, it is the same trend: no second alert
    seed(world.shop_a1, date(2026, 11, 24), "damaged", "MUG-7", 4)
    assert trends_evaluate(now=_at(date(2026, 11, 25))) == 0
    assert SlaAlert.objects.filter(kind="trend").count() == 1
    # And the alert's words name the SKU and the figures, never the buyers' words
    text = alert_text(alert)
    assert "SKU MUG-7: problems rose 3 days in a row (0 → 1 → 2 → 3)" in text.lines
    assert SECRET not in repr(text) and SECRET not in str(alert.data)


def test_a_rise_longer_than_the_look_back_stays_one_trend(world):
    # Given a rule (3 days) and MUG-7's problems rising every day for 20 days, Nov 1-20
    trend_rule_add(
        actor=world.supervisor_a, kind="sku_rising", shop_account_id=None, days=3, min_count=1
    )
    for n in range(1, 21):
        seed(world.shop_a1, date(2026, 11, n), "damaged", "MUG-7", n)
    # When the rules are evaluated every day from Nov 4 to Nov 21 (the rise is longer than the
    # 15 days the evaluation looks back over from Nov 17 on)
    alerted = [trends_evaluate(now=_at(date(2026, 11, day))) for day in range(4, 22)]
    # Then it was alerted once, on Nov 4, and its finding follows the rise to Nov 20
    assert alerted == [1] + [0] * 17
    (finding,) = TrendFinding.objects.all()
    assert (finding.started_on, finding.ended_on) == (date(2026, 11, 1), date(2026, 11, 20))
    assert finding.figures["days"] == 20
    assert SlaAlert.objects.filter(kind="trend").count() == 1
    # When the rise breaks (Nov 21 lower) and starts again Nov 22-25, that is a new trend
    seed(world.shop_a1, date(2026, 11, 21), "damaged", "MUG-7", 1)
    for day, n in ((22, 2), (23, 3), (24, 4)):
        seed(world.shop_a1, date(2026, 11, day), "damaged", "MUG-7", n)
    assert trends_evaluate(now=_at(date(2026, 11, 25))) == 1
    assert SlaAlert.objects.filter(kind="trend").count() == 2


def test_a_share_doubling_week_over_week_is_alerted_once(world, settings):
    # Given the seeded fortnight (damaged: 1 of 5 the week before, 3 of 7 the week of Nov 23)
    settings.SCRM_PUBLIC_URL = "https://scrm.example.com"
    seed_fortnight(world.shop_a1)
    trend_rule_add(
        actor=world.supervisor_a,
        kind="share_growth",
        shop_account_id=world.shop_a1.id,
        factor="2",
        min_count=2,
    )
    # When evaluated on Tuesday 1 December (the last full week: Nov 23-29), twice
    assert trends_evaluate(now=_at(date(2026, 12, 1))) == 1
    assert trends_evaluate(now=_at(date(2026, 12, 1))) == 0
    # Then damaged only (size fell, late and other are under the least count)
    (finding,) = TrendFinding.objects.all()
    assert (finding.subject, finding.started_on) == ("damaged", date(2026, 11, 23))
    assert finding.figures == {
        "count": 3,
        "total": 7,
        "count_before": 1,
        "total_before": 5,
        "share_percent": 43,
        "share_before_percent": 20,
    }
    (alert,) = SlaAlert.objects.filter(kind="trend")
    text = alert_text(alert)
    assert text.lines[1] == (
        "Damaged: 43% of problems in the week of 2026-11-23 (20% the week before)"
    )
    assert text.link == (
        f"https://scrm.example.com/monitoring/problems/{world.shop_a1.id}/?week=2026-11-23"
    )
    assert SECRET not in repr(text)


def test_a_trend_goes_to_the_channels_that_take_trends(
    world, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    channel(world.shop_a1, "email", "ops@example.com")
    seed_fortnight(world.shop_a1)
    trend_rule_add(actor=world.supervisor_a, kind="share_growth", shop_account_id=None, min_count=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert trends_evaluate(now=_at(date(2026, 12, 1))) == 1
    (message,) = mail.outbox
    assert message.subject == "Problem trend (A1 US)"
    assert "Damaged: 43%" in message.body and SECRET not in message.body


def test_another_organisations_rule_finds_nothing_in_this_shop(world):
    seed_fortnight(world.shop_a1)
    trend_rule_add(actor=world.supervisor_b, kind="share_growth", shop_account_id=None, min_count=2)
    assert trends_evaluate(now=_at(date(2026, 12, 1))) == 0
    assert not SlaAlert.objects.filter(kind="trend").exists()


def test_the_weekly_email_once_per_shop_week_with_figures_and_no_words(
    world, settings, django_capture_on_commit_callbacks
):
    # Given the seeded fortnight, a supervisor with an address, mail through Django
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SCRM_PUBLIC_URL = "https://scrm.example.com"
    world.supervisor_a.email = "lead@example.com"
    world.supervisor_a.save()
    seed_fortnight(world.shop_a1)
    # When the weekly task runs on Tuesday 1 December, twice
    with django_capture_on_commit_callbacks(execute=True):
        first = weekly_mails_send(now=_at(date(2026, 12, 1)))
    with django_capture_on_commit_callbacks(execute=True):
        again = weekly_mails_send(now=_at(date(2026, 12, 1)))
    # Then each active shop's last full week was queued once
    assert first == 4 and again == 0  # shops a1, a2, a3 and b1
    assert WeeklyReportMail.objects.get(shop_account=world.shop_a1).week_start == date(2026, 11, 23)
    # and shop a1's e-mail carries the figures and the link, never the buyers' words
    (message,) = [m for m in mail.outbox if "A1 US" in m.subject]
    assert message.to == ["lead@example.com"]
    assert message.subject == "Weekly problem report: A1 US, week of 2026-11-23"
    assert "Problems: 7 (the week before: 5)" in message.body
    assert "- Damaged: 3 (43%)" in message.body
    assert "- MUG-1 / Damaged: 3 (+2)" in message.body
    assert f"https://scrm.example.com/monitoring/problems/{world.shop_a1.id}/?week=2026-11-23" in (
        message.body
    )
    assert SECRET not in message.body and "4821" not in message.body
    # org B's supervisor has no address: its mail went to nobody
    assert all(m.to == ["lead@example.com"] for m in mail.outbox)
