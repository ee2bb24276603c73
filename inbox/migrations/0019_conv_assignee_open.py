# Issue 18: the queue's "mine" view read in order.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("inbox", "0018_after_sales_rules")]

    operations = [
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(
                condition=models.Q(("status__in", ["open", "pending"])),
                fields=["assignee", "queue_key", "id"],
                name="conv_assignee_open",
            ),
        ),
    ]
