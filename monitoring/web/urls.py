"""monitoring's pages, under /sla/ (namespace ``sla``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring.web import bell, risk
from monitoring.web import settings as sla_settings

app_name = "sla"

urlpatterns: list[URLPattern | URLResolver] = [
    path("risk/", risk.risk_page, name="risk"),
    path("bell/", bell.bell_list, name="bell"),
    path("bell/read/", bell.bell_read, name="bell-read"),
    path("policies/", sla_settings.policies_page, name="policies"),
    path("policies/<int:shop_account_id>/", sla_settings.shop_policy_page, name="shop-policy"),
    path("calendars/", sla_settings.calendars_page, name="calendars"),
    path("calendars/<int:shop_account_id>/", sla_settings.calendar_page, name="calendar"),
]
