"""Sync cursors per (shop account, stream); webhook events keep the ids they are about.

Data: every existing cursor becomes its shop's ``messages`` cursor (the only stream there was),
and every stored webhook event gets its id columns from its body, parsed as a delivery is
parsed on arrival. An event still waiting to be processed whose body names an object by an id
no platform uses is marked failed with the reason, as it would be on arrival today.
"""

import json
import re

import django.db.models.deletion
from django.db import migrations, models

STREAM_CHOICES = [
    ("messages", "Messages"),
    ("returns", "Returns"),
    ("cancellations", "Cancellations"),
]
# column -> key of a TikTok notification's ``data``. The parsing below is a frozen copy of what
# the adapter did when this migration was written (a migration must not change when the
# adapter does later).
ID_COLUMNS = {
    "conversation_platform_id": "conversation_id",
    "message_platform_id": "message_id",
    "return_platform_id": "return_id",
    "cancellation_platform_id": "cancel_id",
    "order_platform_id": "order_id",
}
PLATFORM_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.:=-]{0,127}")


def _ids_from_body(body: str) -> tuple[dict[str, str], str] | None:
    """(column -> id, problem) from a stored TikTok body; None if it is not one."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    data = payload.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            data = {}
    if not isinstance(data, dict):
        data = {}
    ids: dict[str, str] = {}
    for column, key in ID_COLUMNS.items():
        value = data.get(key)
        if value in (None, ""):
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            value = str(value)
        if not (isinstance(value, str) and PLATFORM_ID.fullmatch(value)):
            return {}, f"{key} is not a valid platform id"
        ids[column] = value
    return ids, ""


def cursors_to_messages_stream(apps, schema_editor):
    SyncCursor = apps.get_model("inbox", "SyncCursor")
    SyncCursor.objects.filter(stream__isnull=True).update(stream="messages")


def cursors_back_to_one_per_shop(apps, schema_editor):
    # Going back to one cursor per shop: the messages stream's is that cursor; the others
    # would break its one-to-one (the streams they followed did not exist before).
    SyncCursor = apps.get_model("inbox", "SyncCursor")
    SyncCursor.objects.exclude(stream="messages").delete()


def webhook_event_ids_fill(apps, schema_editor):
    """Id columns from the stored bodies, a thousand rows at a time (bodies decrypted one by
    one, never all in memory)."""
    WebhookEvent = apps.get_model("inbox", "WebhookEvent")
    fields = [*ID_COLUMNS, "status", "error"]
    batch = []
    for event in WebhookEvent.objects.order_by("id").iterator(chunk_size=1000):
        parsed = _ids_from_body(event.body) if event.platform == "tiktok_shop" else None
        if parsed is None:
            continue  # not a body this platform's notifications have: left as it is
        ids, problem = parsed
        for column in ID_COLUMNS:
            setattr(event, column, ids.get(column, ""))
        if problem and event.status == "received":
            event.status, event.error = "failed", problem[:300]
        batch.append(event)
        if len(batch) >= 1000:
            WebhookEvent.objects.bulk_update(batch, fields)
            batch = []
    if batch:
        WebhookEvent.objects.bulk_update(batch, fields)


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0009_organisation_settings_and_invitations"),
    ]

    operations = [
        # --- sync cursors: one per (shop account, stream) ------------------------------------
        migrations.AlterField(
            model_name="synccursor",
            name="shop_account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="sync_cursors",
                to="inbox.shopaccount",
            ),
        ),
        migrations.AddField(
            model_name="synccursor",
            name="stream",
            field=models.CharField(
                choices=STREAM_CHOICES,
                max_length=16,
                null=True,
            ),
        ),
        migrations.RunPython(cursors_to_messages_stream, cursors_back_to_one_per_shop),
        migrations.AlterField(
            model_name="synccursor",
            name="stream",
            field=models.CharField(
                choices=STREAM_CHOICES,
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="synccursor",
            constraint=models.UniqueConstraint(
                fields=("shop_account", "stream"), name="uniq_sync_cursor_stream"
            ),
        ),
        # --- webhook events: the ids they are about, as columns ------------------------------
        *(
            migrations.AddField(
                model_name="webhookevent",
                name=column,
                field=models.CharField(blank=True, default="", max_length=128),
            )
            for column in ID_COLUMNS
        ),
        migrations.AlterField(
            model_name="webhookevent",
            name="shop_account",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="inbox.shopaccount",
            ),
        ),
        migrations.AddIndex(
            model_name="webhookevent",
            index=models.Index(
                fields=["shop_account", "-received_at"], name="webhook_shop_received"
            ),
        ),
        *(
            migrations.AddIndex(
                model_name="webhookevent",
                index=models.Index(
                    condition=~models.Q(**{column: ""}),
                    fields=[column],
                    name=f"webhook_{column.removesuffix('_platform_id')}",
                ),
            )
            for column in (
                "conversation_platform_id",
                "return_platform_id",
                "cancellation_platform_id",
                "order_platform_id",
            )
        ),
        migrations.RunPython(webhook_event_ids_fill, migrations.RunPython.noop),
    ]
