"""The one call every service makes to record what it changed."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from monitoring.models import AuditEvent


def audit_record(
    *,
    organisation_id: int,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event; call it inside the service's transaction.

    ``data`` is for ids and enumerated values only, never personal fields or message text.
    """
    return AuditEvent.objects.create(
        organisation_id=organisation_id,
        actor_id=actor.pk if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data or {},
    )
