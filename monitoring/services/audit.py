"""The one call every service makes to record what it changed."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from monitoring.audit_chain.keys import audit_keys
from monitoring.audit_chain.mac import row_mac
from monitoring.audit_chain.sealer import seal_on_commit
from monitoring.models import AuditEvent


def ip_digest(address: str | None) -> str:
    """A keyed hash (HMAC-SHA256 under SECRET_KEY, 128 bits in hex) of a client address: equal
    addresses compare equal in the log, the address itself is not kept."""
    if not address:
        return ""
    return salted_hmac("monitoring.audit.ip", address.strip(), algorithm="sha256").hexdigest()[:32]


def actor_name(actor: Any) -> str:
    """The name a record keeps of who acted: full name, else user name ("" for nobody or an
    anonymous user), cut to the 150 characters the columns hold."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return ""
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

    Tamper-evident (docs/audit.md): the row carries an HMAC of its content under the signing
    key; after commit the sealer chains it (the periodic sweep, within seconds; with eager
    tasks at once, on commit). No lock is taken and no task published here: writers never
    wait on the chain head or the broker. Never UPDATE or DELETE an audit row: the database
    refuses it.
    """
    known = actor if actor is not None and actor.is_authenticated else None
    keys = audit_keys()
    event = AuditEvent(
        organisation_id=organisation_id,
        actor_id=known.pk if known is not None else None,
        actor_name=actor_name(known),
        shop_account_id=shop_account_id,
        ip_digest=ip_digest(ip),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        # What the database will give back (tuples become lists, keys strings), as MAC'd.
        data=json.loads(json.dumps(data or {})),
        created_at=timezone.now(),
        nonce=secrets.token_hex(8),
        key_id=keys.signing_kid,
    )
    event.row_mac = row_mac(
        keys.signing_key,
        kid=event.key_id,
        organisation_id=organisation_id,
        actor_id=event.actor_id,
        actor_name=event.actor_name,
        shop_account_id=shop_account_id,
        ip_digest=event.ip_digest,
        action=action,
        target_type=event.target_type,
        target_id=event.target_id,
        data=event.data,
        created_at=event.created_at,
        nonce=event.nonce,
    )
    event.save(force_insert=True)
    seal_on_commit(organisation_id)
    return event
