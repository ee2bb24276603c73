# Issue 17. Written by hand: holds only this part's operations (other parts of the issue are
# built beside it in their own migration files): after-sales rules, their dry runs and
# applications, and the compensation suggestions.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0017_customer_data"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AfterSalesRule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=120, verbose_name="name")),
                ("position", models.PositiveIntegerField(default=0, verbose_name="order")),
                ("is_enabled", models.BooleanField(default=False, verbose_name="enabled")),
                ("version", models.PositiveIntegerField(default=1)),
                ("shop_account_ids", models.JSONField(blank=True, default=list)),
                ("kinds", models.JSONField(blank=True, default=list)),
                ("reason_codes", models.JSONField(blank=True, default=list)),
                ("reason_words", models.JSONField(blank=True, default=list)),
                (
                    "amount_min",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True),
                ),
                (
                    "amount_max",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True),
                ),
                ("currency", models.CharField(blank=True, max_length=8)),
                ("skus", models.JSONField(blank=True, default=list)),
                ("refunds_month_min", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("refunds_ever_min", models.PositiveSmallIntegerField(blank=True, null=True)),
                (
                    "decision",
                    models.CharField(
                        blank=True,
                        choices=[("", "No decision"), ("approve", "Approve"), ("reject", "Reject")],
                        max_length=8,
                    ),
                ),
                ("reject_reason", models.CharField(blank=True, max_length=128)),
                ("tag", models.CharField(blank=True, max_length=50)),
                ("quick_reply_id", models.PositiveIntegerField(blank=True, null=True)),
                ("note", models.TextField(blank=True)),
                ("enabled_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "assign_to",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
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
            ],
            options={
                "verbose_name": "after-sales rule",
                "verbose_name_plural": "after-sales rules",
            },
        ),
        migrations.CreateModel(
            name="CompensationSuggestion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "issue_type",
                    models.CharField(
                        choices=[
                            ("size", "Size"),
                            ("colour", "Colour"),
                            ("damaged", "Damaged"),
                            ("late", "Late or not received"),
                            ("missing_part", "Missing part"),
                            ("not_as_described", "Not as described"),
                            ("other", "Other"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("coupon", "Coupon"),
                            ("partial_refund", "Partial refund"),
                            ("resend", "Resend"),
                        ],
                        max_length=16,
                    ),
                ),
                ("title", models.CharField(max_length=120, verbose_name="title")),
                ("cost", models.DecimalField(decimal_places=2, max_digits=14)),
                ("currency", models.CharField(max_length=8)),
                ("position", models.PositiveIntegerField(default=0)),
                ("is_active", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inbox.organisation",
                    ),
                ),
            ],
            options={
                "verbose_name": "compensation suggestion",
                "verbose_name_plural": "compensation suggestions",
            },
        ),
        migrations.CreateModel(
            name="RuleApplication",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("rule_version", models.PositiveIntegerField()),
                (
                    "outcome",
                    models.CharField(
                        choices=[("applied", "Applied"), ("to_person", "Left to a person")],
                        max_length=16,
                    ),
                ),
                ("actions", models.JSONField(default=list)),
                ("reason", models.CharField(blank=True, max_length=40)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rule_applications",
                        to="inbox.aftersalescase",
                    ),
                ),
                (
                    "decision",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="inbox.aftersalesdecision",
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
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="applications",
                        to="inbox.aftersalesrule",
                    ),
                ),
            ],
            options={
                "verbose_name": "rule application",
                "verbose_name_plural": "rule applications",
            },
        ),
        migrations.CreateModel(
            name="RuleDryRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("rule_version", models.PositiveIntegerField()),
                ("window_start", models.DateTimeField()),
                ("window_end", models.DateTimeField()),
                ("matched", models.PositiveIntegerField(default=0)),
                ("scanned", models.PositiveIntegerField(default=0)),
                ("totals", models.JSONField(default=dict)),
                ("rows", models.JSONField(default=list)),
                ("elapsed_ms", models.PositiveIntegerField(default=0)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
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
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="dry_runs",
                        to="inbox.aftersalesrule",
                    ),
                ),
            ],
            options={
                "verbose_name": "rule dry run",
                "verbose_name_plural": "rule dry runs",
            },
        ),
        migrations.AddIndex(
            model_name="aftersalesrule",
            index=models.Index(fields=["organisation", "position", "id"], name="rule_order"),
        ),
        migrations.AddIndex(
            model_name="compensationsuggestion",
            index=models.Index(
                fields=["organisation", "issue_type", "position"], name="compensation_by_type"
            ),
        ),
        migrations.AddIndex(
            model_name="ruleapplication",
            index=models.Index(fields=["rule", "-created_at"], name="rule_application_recent"),
        ),
        migrations.AddConstraint(
            model_name="ruleapplication",
            constraint=models.UniqueConstraint(
                fields=("rule", "case"), name="uniq_rule_application"
            ),
        ),
        migrations.AddIndex(
            model_name="ruledryrun",
            index=models.Index(fields=["rule", "-created_at"], name="rule_dry_run_recent"),
        ),
    ]
