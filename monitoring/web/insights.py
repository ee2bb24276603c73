"""The shop-score pages, under /sla/insights/ (docs/insights.md): the overview of the viewer's
shops, one shop's readiness panel (figures against the levels, trend, days at risk, what
would move the score most, charts of the daily series, each agent's figures) and its daily
series as CSV (audited). Agents see the shops they work on; another shop is the 404 page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from inbox.selectors.accounts import member_for
from monitoring.metrics.charts import LineChart, line_chart
from monitoring.metrics.export import daily_series_csv, insights_export_record
from monitoring.metrics.readiness import THRESHOLDS, Readiness, overview_gauges, readiness
from monitoring.metrics.selectors import shop_metrics, shops_overview
from scrm.pages import signed_in_page

page = signed_in_page("GET", never_cached=True)


@page
def insights_overview(request: HttpRequest) -> HttpResponse:
    """Every shop the viewer works on, each figure against its levels."""
    shops = [(m, overview_gauges(m.figures)) for m in shops_overview(request.user)]
    return render(
        request,
        "monitoring/insights/overview.html",
        {
            "shops": shops,
            "thresholds": THRESHOLDS,
            "member": member_for(request.user),
            "nav": "insights",
        },
    )


def _charts(panel: Readiness) -> list[tuple[LineChart, object]]:
    series = panel.metrics.series
    levels = {t.key: t for t in THRESHOLDS}
    chat = [f.chat.share_within_24h for _, f in series]
    sales = [f.after_sales.share_within_24h for _, f in series]
    hours = [
        None if f.after_sales.average_seconds is None else f.after_sales.average_seconds / 3600
        for _, f in series
    ]
    top_hours = max([48.0, *[h for h in hours if h is not None]])
    return [
        (
            line_chart("first_response_rate", chat, top=1.0, level=0.9, top_label="100%"),
            levels["first_response_rate"].label,
        ),
        (
            line_chart("after_sales_within_24h", sales, top=1.0, level=0.9, top_label="100%"),
            levels["after_sales_within_24h"].label,
        ),
        (
            line_chart(
                "after_sales_average",
                hours,
                top=top_hours,
                level=24.0,
                top_label=f"{top_hours:.0f} h",
            ),
            levels["after_sales_average"].label,
        ),
    ]


@page
def insights_shop(request: HttpRequest, shop_account_id: int) -> HttpResponse:
    """One shop's readiness panel over the 60 days ending yesterday (shop-local)."""
    panel = readiness(shop_metrics(request.user, shop_account_id))
    return render(
        request,
        "monitoring/insights/shop.html",
        {
            "panel": panel,
            "metrics": panel.metrics,
            "charts": _charts(panel),
            "member": member_for(request.user),
            "nav": "insights",
        },
    )


@page
def insights_csv(request: HttpRequest, shop_account_id: int) -> HttpResponse:
    """The shop's daily series as CSV (audited as ``insights.exported`` first)."""
    insights_export_record(actor=request.user, shop_account_id=shop_account_id, via="page")
    metrics = shop_metrics(request.user, shop_account_id)
    stamp = timezone.now().strftime("%Y%m%d")
    response = HttpResponse(daily_series_csv(metrics), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="shop-{metrics.shop.id}-daily-{stamp}.csv"'
    )
    return response
