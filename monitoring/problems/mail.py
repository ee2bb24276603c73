"""The weekly problem e-mail: once per shop and shop-local week (``WeeklyReportMail``, unique
per shop and Monday), after the week ended, to the organisation's active supervisors and admins
who have an address; through the outbox (kind ``problem_weekly_mail``: retried while the mail
server fails, never lost in a broker).

What it says, in the organisation's language: the shop, the week, the number of problems
against the week before, each issue type's count and share, the SKUs with most problems, and a
link to the report page. Never a buyer's words (the quotes stay on the page, behind sign-in).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from inbox.models import OutboxAction
from inbox.services.outbox import Handler, outbox_enqueue, required_id
from monitoring.models.problems import WeeklyReportMail
from monitoring.problems.report import WeeklyReport, report_for_shop, week_start_of
from monitoring.sla.alerts import People
from monitoring.sla.calendar import time_zone_or_utc
from monitoring.sla.formats import public_url

PROBLEM_WEEKLY_MAIL = "problem_weekly_mail"
TOP_SKUS = 10


class MailError(Exception):
    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


@dataclass(frozen=True)
class WeeklyMail:
    subject: str
    body: str
    to: tuple[str, ...]


def mail_text(report: WeeklyReport, language: str) -> tuple[str, str]:
    """The e-mail's subject and body for one shop's week (figures and a link only)."""
    path = reverse("monitor:problems-report", args=[report.shop_account_id])
    link = public_url(f"{path}?week={report.week_start.isoformat()}")
    before = report.earlier_totals[0] if report.earlier_totals else 0
    with translation.override(language):
        subject = _("Weekly problem report: %(shop)s, week of %(week)s") % {
            "shop": report.shop_name,
            "week": report.week_start.isoformat(),
        }
        lines = [
            _("Shop: %(shop)s") % {"shop": report.shop_name},
            _("Week: %(start)s to %(end)s (%(tz)s)")
            % {
                "start": report.week_start.isoformat(),
                "end": report.week_end.isoformat(),
                "tz": report.time_zone,
            },
            _("Problems: %(count)d (the week before: %(before)d)")
            % {"count": report.total, "before": before},
            "",
            _("By issue type:"),
        ]
        lines += [f"- {t.label}: {t.count} ({t.share}%)" for t in report.types if t.count] or [
            _("- none")
        ]
        lines += ["", _("SKUs with most problems:")]
        lines += [
            f"- {r.sku or _('(no SKU)')} / {r.label}: {r.count} ({r.change:+d})"
            for r in report.rows[:TOP_SKUS]
        ] or [_("- none")]
        lines += ["", _("The report, with the buyers' words: %(link)s") % {"link": link}, ""]
    return subject, "\n".join(lines)


def _recipients(organisation_id: int) -> tuple[str, ...]:
    ids = People().supervisors(organisation_id)
    User = get_user_model()
    found = User.objects.filter(id__in=ids, is_active=True).exclude(email="")
    return tuple(sorted(set(found.values_list("email", flat=True))))


class WeeklyMailHandler(Handler):
    """One shop-week's e-mail to the supervisors."""

    kind = PROBLEM_WEEKLY_MAIL
    idempotent = True  # a report read twice is harmless
    max_age = timedelta(days=2)
    stale_reason = "Not sent within two days."

    def prepare(self, action: OutboxAction) -> WeeklyMail:
        from inbox.selectors.for_apps import shop_facts

        sent = WeeklyReportMail.objects.filter(id=required_id(action.subject_id, "mail")).first()
        if sent is None:
            raise MailError("The shop was deleted.", retryable=False)
        shop = shop_facts(sent.shop_account_id)
        report = report_for_shop(
            shop_account_id=shop.id,
            shop_name=shop.name,
            time_zone=shop.time_zone,
            week=sent.week_start,
            quotes=False,
        )
        subject, body = mail_text(report, shop.organisation_language)
        return WeeklyMail(subject, body, _recipients(shop.organisation_id))

    def perform(self, action: OutboxAction, prepared: Any) -> str:
        mail: WeeklyMail = prepared
        if not mail.to:
            return ""  # nobody with an address: nothing to send
        if settings.EMAIL_BACKEND.endswith("smtp.EmailBackend") and not settings.EMAIL_HOST:
            raise MailError(
                "This server sends no e-mail (SCRM_EMAIL_HOST is not set).", retryable=False
            )
        try:
            EmailMessage(subject=mail.subject, body=mail.body, to=list(mail.to)).send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailError("The mail server refused the addresses.", retryable=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"Mail not sent ({type(exc).__name__}).", retryable=True) from exc
        return ""


def _last_full_week(now: datetime, time_zone: str) -> date:
    today = now.astimezone(ZoneInfo(time_zone_or_utc(time_zone))).date()
    return week_start_of(today) - timedelta(weeks=1)


def weekly_mails_send(*, now: datetime | None = None) -> int:
    """Queue the e-mail of every active shop's last full local week not mailed yet (once per
    shop-week whatever runs at once or again); returns how many were queued."""
    from inbox.models import ShopAccount

    now = now or timezone.now()
    queued = 0
    shops = ShopAccount.objects.filter(is_active=True).values_list(
        "id", "organisation_id", "time_zone"
    )
    for shop_id, organisation_id, time_zone in shops:
        week = _last_full_week(now, time_zone)
        if WeeklyReportMail.objects.filter(shop_account_id=shop_id, week_start=week).exists():
            continue
        queued += weekly_mail_queue(
            shop_id=shop_id, organisation_id=organisation_id, week=week, now=now
        )
    return queued


@transaction.atomic
def weekly_mail_queue(*, shop_id: int, organisation_id: int, week: date, now: datetime) -> int:
    """Record one shop-week's e-mail and queue it; 0 if it was recorded before."""
    try:
        with transaction.atomic():
            sent = WeeklyReportMail.objects.create(
                shop_account_id=shop_id,
                week_start=week,
                recipients=len(_recipients(organisation_id)),
                created_at=now,
            )
    except IntegrityError:
        return 0
    outbox_enqueue(
        kind=PROBLEM_WEEKLY_MAIL,
        organisation_id=organisation_id,
        shop_account_id=shop_id,
        subject_id=sent.id,
    )
    return 1


def register_kinds() -> None:
    from inbox.services.outbox import outbox_handler_register

    outbox_handler_register(WeeklyMailHandler())
