"""What the profile services share: finding a customer the actor may change (locked), and
writing the audit row (ids and field names only, never a value)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_noop

from inbox.models import Customer, Member
from inbox.selectors import AnyUser, member_for
from inbox.selectors.profiles import customer_visible
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from scrm.api import Forbidden, NotFound


def customer_locked(actor: AnyUser, customer_id: int, *, merged_ok: bool = False) -> Customer:
    """The customer, row-locked, if the actor may see it (a conversation, order or case in a
    shop they work on); NotFound otherwise, and for an erased or merged-away profile unless
    ``merged_ok``."""
    visible = customer_visible(actor).filter(id=customer_id, erased_at__isnull=True)
    if not merged_ok:
        visible = visible.filter(merged_into__isnull=True)
    ids = list(visible.values_list("id", flat=True)[:1])
    if not ids:
        raise NotFound(gettext_noop("Customer not found."))
    return Customer.objects.select_for_update().get(id=ids[0])


def supervisor_for(actor: AnyUser) -> Member:
    """The actor's membership when a supervisor or admin; Forbidden for agents."""
    member = member_for(actor)
    if not member.sees_all_shops:
        raise Forbidden(gettext_noop("Only supervisors and admins may do this."))
    return member


def audit(
    actor: AnyUser,
    *,
    organisation_id: int,
    action: str,
    target: models.Model,
    data: dict[str, Any] | None = None,
) -> None:
    """One audit row in the caller's transaction: ids and field names only."""
    audit_record(
        organisation_id=organisation_id,
        actor=actor,
        action=action,
        ip=request_address(),
        target=target,
        data=data or {},
    )
