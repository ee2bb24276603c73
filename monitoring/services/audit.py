"""The one call every service makes to record what it changed."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.utils.crypto import salted_hmac

from monitoring.models import AuditEvent


def ip_digest(address: str | None) -> str:
    """A keyed hash (HMAC-SHA256 under SECRET_KEY, 128 bits in hex) of a client address: equal
    addresses compare equal in the log, the address itself is not kept."""
    if not address:
        return ""
    return salted_hmac("monitoring.audit.ip", address.strip(), algorithm="sha256").hexdigest()[:32]


def _actor_name(actor: Any) -> str:
    full = (actor.get_full_name() or "").strip() if hasattr(actor, "get_full_name") else ""
    return (full or actor.get_username())[:150]


def audit_record(
    *,
    organisation_id: int,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
    shop_account_id: int | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one audit event; call it inside the service's transaction.

    ``data`` is for ids and enumerated values only, never personal fields or message text. The
    actor's id and name are copied onto the row (deleting the user later changes nothing);
    ``ip`` is kept only as a keyed hash (``ip_digest``).
    """
    known = actor is not None and actor.is_authenticated
    return AuditEvent.objects.create(
        organisation_id=organisation_id,
        actor_id=actor.pk if known else None,
        actor_name=_actor_name(actor) if known else "",
        shop_account_id=shop_account_id,
        ip_digest=ip_digest(ip),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data or {},
    )
