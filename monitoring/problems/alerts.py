"""A trend alert in words (the SLA channels' e-mail and webhooks render it through
``monitoring.sla.formats.alert_text``): the shop, what rose (an SKU or an issue type), the
figures, the days, and a link to the shop's weekly report. Never a buyer's words."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from inbox.selectors.for_apps import shop_facts
from monitoring.models.problems import IssueType, TrendKind
from monitoring.models.sla import SlaAlert
from monitoring.sla.formats import AlertText, public_url


def trend_lines(data: dict[str, Any]) -> list[str]:
    """What the trend was, in the active language (ids, SKUs, types and counts only)."""
    subject = str(data.get("subject") or "")
    if data.get("trend_kind") == TrendKind.SKU_RISING:
        daily = " → ".join(str(n) for n in data.get("daily") or [])
        return [
            _("SKU %(sku)s: problems rose %(days)s days in a row (%(daily)s)")
            % {"sku": subject, "days": data.get("days"), "daily": daily},
            _("From %(start)s to %(end)s")
            % {"start": data.get("started_on"), "end": data.get("ended_on")},
        ]
    label = str(dict(IssueType.choices).get(subject, subject))
    return [
        _(
            "%(type)s: %(share)s%% of problems in the week of %(week)s "
            "(%(before)s%% the week before)"
        )
        % {
            "type": label,
            "share": data.get("share_percent"),
            "week": data.get("started_on"),
            "before": data.get("share_before_percent"),
        },
        _("%(count)s of %(total)s problems")
        % {"count": data.get("count"), "total": data.get("total")},
    ]


def trend_text(alert: SlaAlert) -> AlertText:
    shop = shop_facts(int(alert.shop_account_id or 0))
    data = dict(alert.data or {})
    path = reverse("monitor:problems-report", args=[shop.id])
    link = public_url(f"{path}?week={data.get('started_on', '')}")
    with translation.override(shop.organisation_language):
        lines = [_("Shop: %(shop)s") % {"shop": shop.name}, *trend_lines(data)]
        title = _("Problem trend (%(shop)s)") % {"shop": shop.name}
        label = _("Open the weekly report")
    facts = {
        "alert_id": alert.id,
        "kind": alert.kind,
        "shop_account_id": alert.shop_account_id,
        "shop_name": shop.name,
        "trend": data,
        "url": link,
    }
    return AlertText(title, tuple(lines), link, label, shop.organisation_language, facts)
