"""``manage.py metrics_backfill [--shop ID]``

Derive the shop-score facts of the history stored before the metrics existed (issue 17), for
every shop account (or one), and rebuild their days (docs/insights.md, "History before the
upgrade"). Safe to run again: it only adds what came before a shop's first fact.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from inbox.models import ShopAccount
from monitoring.metrics.backfill import metrics_backfill
from monitoring.metrics.rollup import dirty_days_rebuild


class Command(BaseCommand):
    help = "Derive the shop-score facts of history stored before the metrics existed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--shop", type=int, help="only this shop account")

    def handle(self, *args: Any, **options: Any) -> None:
        shops = ShopAccount.objects.order_by("id").values_list("id", flat=True)
        if options["shop"]:
            shops = shops.filter(pk=options["shop"])
        for shop_id in shops:
            added = metrics_backfill(shop_account_id=shop_id)
            self.stdout.write(f"shop {shop_id}: {added} facts")
        days = 0
        while rebuilt := dirty_days_rebuild(limit=200):
            days += rebuilt
        self.stdout.write(f"{days} days rebuilt")
