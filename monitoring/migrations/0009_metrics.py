# Issue 17. Written by hand: holds only this part's operations (other parts of the issue are
# built beside it in their own migration files). The shop-score metrics: response facts, the
# daily rollup, chat ratings and the days to rebuild (monitoring/models/metrics.py).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import monitoring.models.metrics


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0017_customer_data"),
        ("monitoring", "0008_follow_up_alerts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PlatformPerformance",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("start", models.DateField()),
                ("end", models.DateField()),
                ("sessions", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "response_percentage",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=6, null=True),
                ),
                (
                    "response_minutes",
                    models.DecimalField(blank=True, decimal_places=1, max_digits=10, null=True),
                ),
                (
                    "satisfaction_percentage",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=6, null=True),
                ),
                ("fetched_at", models.DateTimeField()),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.organisation",
                    ),
                ),
                (
                    "shop_account",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.shopaccount",
                    ),
                ),
            ],
            options={
                "verbose_name": "platform performance",
                "verbose_name_plural": "platform performance",
            },
        ),
        migrations.CreateModel(
            name="ChatRating",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("message_id", models.BigIntegerField(unique=True)),
                ("stars", models.PositiveSmallIntegerField()),
                ("rated_at", models.DateTimeField()),
                ("local_date", models.DateField()),
                (
                    "agent",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "conversation",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.conversation",
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.organisation",
                    ),
                ),
                (
                    "shop_account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.shopaccount",
                    ),
                ),
            ],
            options={
                "verbose_name": "chat rating",
                "verbose_name_plural": "chat ratings",
                "indexes": [
                    models.Index(fields=["shop_account", "local_date"], name="rating_shop_day")
                ],
            },
        ),
        migrations.CreateModel(
            name="MetricDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("agent_key", models.PositiveIntegerField(default=0)),
                ("date", models.DateField()),
                (
                    "subject",
                    models.CharField(
                        choices=[("chat", "Chat"), ("after_sales", "After-sales")], max_length=12
                    ),
                ),
                ("requests", models.PositiveIntegerField(default=0)),
                ("answered", models.PositiveIntegerField(default=0)),
                ("within_24h", models.PositiveIntegerField(default=0)),
                ("automated", models.PositiveIntegerField(default=0)),
                ("seconds_sum", models.BigIntegerField(default=0)),
                ("seconds_max", models.PositiveIntegerField(default=0)),
                ("histogram", models.JSONField(default=monitoring.models.metrics.empty_histogram)),
                ("ratings", models.PositiveIntegerField(default=0)),
                ("ratings_low", models.PositiveIntegerField(default=0)),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.organisation",
                    ),
                ),
                (
                    "shop_account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.shopaccount",
                    ),
                ),
            ],
            options={
                "verbose_name": "metric day",
                "verbose_name_plural": "metric days",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("shop_account", "date", "subject", "agent_key"),
                        name="uniq_metric_day",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="MetricDirtyDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("date", models.DateField()),
                (
                    "shop_account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.shopaccount",
                    ),
                ),
            ],
            options={
                "verbose_name": "metric day to rebuild",
                "verbose_name_plural": "metric days to rebuild",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("shop_account", "date"), name="uniq_metric_dirty"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ResponseFact",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "subject",
                    models.CharField(
                        choices=[("chat", "Chat"), ("after_sales", "After-sales")], max_length=12
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("open", "Waiting"),
                            ("answered", "Answered"),
                            ("ended", "Ended without an answer"),
                        ],
                        default="open",
                        max_length=8,
                    ),
                ),
                ("received_at", models.DateTimeField()),
                ("local_date", models.DateField()),
                ("answered_at", models.DateTimeField(blank=True, null=True)),
                ("seconds", models.PositiveIntegerField(blank=True, null=True)),
                ("automated", models.BooleanField(default=False)),
                (
                    "agent",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "case",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.aftersalescase",
                    ),
                ),
                (
                    "conversation",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.conversation",
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.organisation",
                    ),
                ),
                (
                    "shop_account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.shopaccount",
                    ),
                ),
            ],
            options={
                "verbose_name": "response fact",
                "verbose_name_plural": "response facts",
                "indexes": [
                    models.Index(fields=["shop_account", "local_date"], name="fact_shop_day"),
                    models.Index(
                        condition=models.Q(("state", "open")),
                        fields=["shop_account", "received_at"],
                        name="fact_shop_open",
                    ),
                    models.Index(fields=["case"], name="fact_case"),
                    models.Index(fields=["conversation"], name="fact_conversation"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("case__isnull", True), ("conversation__isnull", False)),
                            models.Q(("case__isnull", False), ("conversation__isnull", True)),
                            _connector="OR",
                        ),
                        name="fact_one_subject",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("conversation__isnull", False), ("state", "open")),
                        fields=("conversation",),
                        name="uniq_open_fact_conversation",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("case__isnull", False), ("state", "open")),
                        fields=("case",),
                        name="uniq_open_fact_case",
                    ),
                ],
            },
        ),
    ]
