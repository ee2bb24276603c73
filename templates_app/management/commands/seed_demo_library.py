"""Seed (idempotently) the demo organisation's quick-reply library (``templates_app.demo``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from templates_app.demo import demo_library_seed


class Command(BaseCommand):
    help = "Create or refresh the demo quick replies and materials (safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--username", default="supervisor", help="the supervisor who makes them"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user {options['username']!r}: run seed_demo first.")
        result = demo_library_seed(actor=user)
        self.stdout.write(
            self.style.SUCCESS(
                "Demo quick replies ready: "
                f"{len(result['created'])} new, {len(result['updated'])} changed, "
                f"{len(result['unchanged'])} unchanged."
            )
        )
