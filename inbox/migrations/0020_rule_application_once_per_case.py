"""Rules act on a case once, whichever rule: the unique constraint moves from (rule, case) to
the case. A case two rules acted on before keeps its first application (the later rows' acts
stay in the audit log as ``after_sales_rule.applied``/``left_to_person``)."""

from django.db import migrations, models


def keep_the_first_application(apps, schema_editor):
    RuleApplication = apps.get_model("inbox", "RuleApplication")
    seen: set[int] = set()
    later: list[int] = []
    for pk, case_id in RuleApplication.objects.order_by("case_id", "id").values_list(
        "id", "case_id"
    ):
        if case_id in seen:
            later.append(pk)
        seen.add(case_id)
    RuleApplication.objects.filter(pk__in=later).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0019_conv_assignee_open"),
    ]

    operations = [
        migrations.RunPython(keep_the_first_application, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="ruleapplication",
            name="uniq_rule_application",
        ),
        migrations.AddConstraint(
            model_name="ruleapplication",
            constraint=models.UniqueConstraint(fields=("case",), name="uniq_case_rule_application"),
        ),
    ]
