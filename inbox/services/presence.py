"""Who has the inbox open: counted per user from open websockets (feeds auto-assignment)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from inbox.models import AgentPresence


@transaction.atomic
def presence_connect(*, user_id: int) -> None:
    presence, _ = AgentPresence.objects.select_for_update().get_or_create(user_id=user_id)
    presence.connections = F("connections") + 1
    presence.last_seen_at = timezone.now()
    presence.save(update_fields=["connections", "last_seen_at"])


def presence_touch(*, user_id: int) -> None:
    AgentPresence.objects.filter(user_id=user_id).update(last_seen_at=timezone.now())


def presence_disconnect(*, user_id: int) -> None:
    AgentPresence.objects.filter(user_id=user_id).update(
        connections=Greatest(F("connections") - 1, 0), last_seen_at=timezone.now()
    )
