"""The ``tags`` many-to-many's table becomes the model ``ConversationTag`` (same table, same
rows), with the conversation's queue position and shop copied onto each link by triggers
(inbox/tag_links.py), for the queue's tag view (issue 18)."""

import django.db.models.deletion
from django.db import migrations, models


def create_triggers(apps, schema_editor):
    from inbox import tag_links

    if schema_editor.connection.vendor == "sqlite":
        # Made after the whole migrate (post_migrate): a later migration's table rebuild
        # would fail on them (inbox/tag_links.py).
        return
    tag_links.triggers_create(schema_editor.connection)
    tag_links.resync(schema_editor.connection)


def drop_triggers(apps, schema_editor):
    from inbox import tag_links

    tag_links.triggers_drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0023_sync_cursor_rest"),
    ]

    operations = [
        # The table Django made for the many-to-many is kept as it is: only the state moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ConversationTag",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "conversation",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="tag_links",
                                to="inbox.conversation",
                            ),
                        ),
                        (
                            "tag",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="conversation_links",
                                to="inbox.tag",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "inbox_conversation_tags",
                        "unique_together": {("conversation", "tag")},
                    },
                ),
                migrations.AlterField(
                    model_name="conversation",
                    name="tags",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="conversations",
                        through="inbox.ConversationTag",
                        to="inbox.tag",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="conversationtag",
            name="queue_key",
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="conversationtag",
            name="shop_account",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="inbox.shopaccount",
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.AddIndex(
            model_name="conversationtag",
            index=models.Index(
                condition=models.Q(("queue_key__isnull", False)),
                fields=["tag", "queue_key", "conversation", "shop_account"],
                name="conv_tag_queue_open",
            ),
        ),
    ]
