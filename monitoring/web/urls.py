"""monitoring's pages, under /sla/ (namespace ``sla``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring.web import bell, channels, insights, risk
from monitoring.web import settings as sla_settings

app_name = "sla"

urlpatterns: list[URLPattern | URLResolver] = [
    path("risk/", risk.risk_page, name="risk"),
    path("bell/", bell.bell_list, name="bell"),
    path("bell/read/", bell.bell_read, name="bell-read"),
    path("channels/", channels.channels_page, name="channels"),
    path("channels/add/", channels.channel_add, name="channel-add"),
    path("channels/<int:channel_id>/", channels.channel_edit, name="channel-edit"),
    path("channels/<int:channel_id>/delete/", channels.channel_delete, name="channel-delete"),
    path("channels/<int:channel_id>/test/", channels.channel_test, name="channel-test"),
    path("policies/", sla_settings.policies_page, name="policies"),
    path("policies/<int:shop_account_id>/", sla_settings.shop_policy_page, name="shop-policy"),
    path("calendars/", sla_settings.calendars_page, name="calendars"),
    path("calendars/<int:shop_account_id>/", sla_settings.calendar_page, name="calendar"),
    # The shop-score metrics and readiness panel (issue 17)
    path("insights/", insights.insights_overview, name="insights"),
    path("insights/<int:shop_account_id>/", insights.insights_shop, name="insights-shop"),
    path("insights/<int:shop_account_id>/daily.csv", insights.insights_csv, name="insights-csv"),
]
