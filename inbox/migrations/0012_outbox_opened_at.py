"""OutboxAction.opened_at: when an action was last asked for (created, or reopened by a retry);
the give-up counts from it. Existing rows take their created_at (what the give-up went by)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0011_outbox_actions"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxaction",
            name="opened_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunSQL(
            "UPDATE inbox_outboxaction SET opened_at = created_at",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
