# Issue 17, part 3: the problem log (docs/problem-log.md). Written from makemigrations'
# output, holding only this part's operations (the other parts of the issue have their own
# migration files).

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import scrm.fields


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0017_customer_data"),
        ("monitoring", "0009_metrics"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TrendRule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("sku_rising", "An SKU's problems rise several days in a row"),
                            ("share_growth", "An issue type's share grows week over week"),
                        ],
                        max_length=16,
                    ),
                ),
                ("days", models.PositiveSmallIntegerField(default=3)),
                ("factor", models.DecimalField(decimal_places=2, default=2, max_digits=4)),
                ("min_count", models.PositiveSmallIntegerField(default=3)),
                ("is_active", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name": "trend alert rule",
                "verbose_name_plural": "trend alert rules",
            },
        ),
        migrations.CreateModel(
            name="WeeklyReportMail",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("week_start", models.DateField()),
                ("recipients", models.PositiveIntegerField(default=0)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name": "weekly problem e-mail",
                "verbose_name_plural": "weekly problem e-mails",
            },
        ),
        migrations.AlterField(
            model_name="slaalert",
            name="kind",
            field=models.CharField(
                choices=[
                    ("warning", "Warning"),
                    ("breach", "Breach"),
                    ("digest", "Same-day digest"),
                    ("followup", "Follow-up due"),
                    ("trend", "Problem trend"),
                ],
                max_length=8,
            ),
        ),
        migrations.CreateModel(
            name="ProblemRecord",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("row_uid", models.UUIDField(default=uuid.uuid4, editable=False)),
                (
                    "source",
                    models.CharField(
                        choices=[("conversation", "Conversation"), ("case", "After-sales case")],
                        max_length=12,
                    ),
                ),
                (
                    "issue_type",
                    models.CharField(
                        choices=[
                            ("size", "Size"),
                            ("colour", "Colour"),
                            ("damaged", "Damaged"),
                            ("late", "Late"),
                            ("missing_part", "Missing part"),
                            ("not_as_described", "Not as described"),
                            ("other", "Other"),
                        ],
                        max_length=20,
                    ),
                ),
                ("sku", models.CharField(blank=True, max_length=128)),
                (
                    "suggested_type",
                    models.CharField(
                        choices=[
                            ("size", "Size"),
                            ("colour", "Colour"),
                            ("damaged", "Damaged"),
                            ("late", "Late"),
                            ("missing_part", "Missing part"),
                            ("not_as_described", "Not as described"),
                            ("other", "Other"),
                        ],
                        max_length=20,
                    ),
                ),
                ("suggested_sku", models.CharField(blank=True, max_length=128)),
                (
                    "quote",
                    scrm.fields.EncryptedTextField(
                        blank=True, default="", verbose_name="buyer's words"
                    ),
                ),
                ("recorded_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("local_date", models.DateField()),
                (
                    "case",
                    models.ForeignKey(
                        blank=True,
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
                    "set_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
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
                "verbose_name": "problem record",
                "verbose_name_plural": "problem records",
            },
        ),
        migrations.CreateModel(
            name="ProblemSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("require_issue_type", models.BooleanField(default=False)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "organisation",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.organisation",
                    ),
                ),
            ],
            options={
                "verbose_name": "problem-log settings",
                "verbose_name_plural": "problem-log settings",
            },
        ),
        migrations.CreateModel(
            name="TrendFinding",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("subject", models.CharField(max_length=128)),
                ("started_on", models.DateField()),
                ("ended_on", models.DateField()),
                ("figures", models.JSONField(default=dict)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "shop_account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.shopaccount",
                    ),
                ),
            ],
            options={
                "verbose_name": "trend",
                "verbose_name_plural": "trends",
            },
        ),
        migrations.AddField(
            model_name="slaalert",
            name="trend",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="monitoring.trendfinding",
            ),
        ),
        migrations.AddConstraint(
            model_name="slaalert",
            constraint=models.UniqueConstraint(
                condition=models.Q(("trend__isnull", False)),
                fields=("trend",),
                name="uniq_alert_per_trend",
            ),
        ),
        migrations.AddField(
            model_name="trendrule",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="trendrule",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="inbox.organisation",
            ),
        ),
        migrations.AddField(
            model_name="trendrule",
            name="shop_account",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="inbox.shopaccount",
            ),
        ),
        migrations.AddField(
            model_name="trendfinding",
            name="rule",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="findings",
                to="monitoring.trendrule",
            ),
        ),
        migrations.AddField(
            model_name="weeklyreportmail",
            name="shop_account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="inbox.shopaccount",
            ),
        ),
        migrations.AddIndex(
            model_name="problemrecord",
            index=models.Index(fields=["shop_account", "local_date"], name="problem_shop_day"),
        ),
        migrations.AddConstraint(
            model_name="problemrecord",
            constraint=models.UniqueConstraint(
                condition=models.Q(("conversation__isnull", False)),
                fields=("conversation",),
                name="uniq_problem_conversation",
            ),
        ),
        migrations.AddConstraint(
            model_name="problemrecord",
            constraint=models.UniqueConstraint(
                condition=models.Q(("case__isnull", False)),
                fields=("case",),
                name="uniq_problem_case",
            ),
        ),
        migrations.AddConstraint(
            model_name="problemrecord",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("conversation__isnull", False), ("source", "conversation")),
                    models.Q(("case__isnull", False), ("source", "case")),
                    _connector="OR",
                ),
                name="problem_has_subject",
            ),
        ),
        migrations.AddIndex(
            model_name="trendrule",
            index=models.Index(fields=["organisation", "is_active"], name="trend_rule_org"),
        ),
        migrations.AddConstraint(
            model_name="trendfinding",
            constraint=models.UniqueConstraint(
                fields=("rule", "shop_account", "subject", "started_on"), name="uniq_trend_finding"
            ),
        ),
        migrations.AddConstraint(
            model_name="weeklyreportmail",
            constraint=models.UniqueConstraint(
                fields=("shop_account", "week_start"), name="uniq_weekly_problem_mail"
            ),
        ),
    ]
