"""Revealing one masked personal value, with a reason, audited; and giving people the right to.

Everyone sees customers' phones, e-mails, addresses and real names masked (``inbox.masking``)
until an admin gives them the reveal permission for a shop (``ShopMembership.can_reveal``,
supervisors and admins included). Then they may reveal one value at a time: the value is
answered for that view only (nothing is stored), and the reveal is audited
(``customer.revealed``: who, which subject and field, and the reason, the actor's own words).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_noop

from inbox.masking import REVEALABLE
from inbox.models import Customer, Order, ShopMembership
from inbox.selectors.accounts import AnyUser, member_for
from inbox.selectors.reveal import reveal_shop_ids, subject_shop_ids
from inbox.services.people import lock_organisation, person_for_update
from monitoring.audit_log.address import request_address
from monitoring.services.audit import audit_record
from scrm.api import Forbidden, NotFound, ServiceError

REASON_MIN = 3
REASON_MAX = 200


def address_text(stored: str) -> str:
    """A stored address (``services.orders.recipient_json``) as people read it: the full
    address, or its parts when the platform gave no full one."""
    try:
        data = json.loads(stored)
    except ValueError:
        return stored
    if not isinstance(data, dict):
        return stored
    if isinstance(data.get("full_address"), str) and data["full_address"].strip():
        return data["full_address"].strip()
    keys = ("city", "region", "postal_code", "region_code")
    return ", ".join(str(data[k]) for k in keys if isinstance(data.get(k), str) and data[k])


def _check(subject: str, field: str, reason: str) -> str:
    if field not in REVEALABLE.get(subject, {}):
        raise ServiceError(
            "Unknown subject or field.",
            code="invalid_field",
            details={"subject": list(REVEALABLE), "field": sorted(REVEALABLE.get(subject, {}))},
        )
    reason = " ".join(str(reason or "").split())
    if len(reason) < REASON_MIN:
        raise ServiceError(
            "Say why you reveal this value (at least 3 characters).", code="reason_required"
        )
    return reason[:REASON_MAX]


def _value(subject: str, subject_id: int, field: str, shops: set[int]) -> tuple[object, str]:
    """The subject (for the audit row) and the field's plaintext."""
    if subject == "order":
        order = Order.objects.get(pk=subject_id)
        value = getattr(order, field)
        return order, address_text(value) if field == "recipient_address" and value else value
    customer = Customer.objects.get(pk=subject_id)
    if field != "addresses":
        return customer, getattr(customer, field) or ""
    mine = Q(customer_id=customer.pk) | Q(customer__merged_into_id=customer.pk)
    orders = Order.objects.filter(mine, shop_account_id__in=shops).order_by("-id")[:50]
    texts = (address_text(o.recipient_address) for o in orders if o.recipient_address)
    return customer, "; ".join(dict.fromkeys(t for t in texts if t))


@transaction.atomic
def customer_data_reveal(
    *, actor: AnyUser, subject: str, subject_id: int, field: str, reason: str
) -> str:
    """The plaintext of one personal field of a customer (``real_name``, ``phone``,
    ``email``, ``addresses``) or an order (``recipient_name``, ``recipient_phone``,
    ``recipient_email``, ``recipient_address``), for the actor to see once.

    Keeps: a subject outside the actor's shops is a 404 (as one that does not exist); without
    the reveal permission in a shop the subject concerns, a 403 ``reveal_forbidden``; without
    a reason (3 characters at least), a 400; the reveal is audited in the same transaction,
    with ids, the field and the reason, never the value.
    """
    reason = _check(subject, field, reason)
    member = member_for(actor)
    shops = subject_shop_ids(actor, subject, subject_id)
    if not shops:
        raise NotFound("Not found.")
    allowed = shops & reveal_shop_ids(actor)
    if not allowed:
        raise Forbidden(
            "You may not reveal customer data in this shop: an admin gives the permission.",
            code="reveal_forbidden",
        )
    target, value = _value(subject, subject_id, field, allowed)
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="customer.revealed",
        target=target,  # type: ignore[arg-type]
        shop_account_id=min(allowed),
        ip=request_address(),
        data={
            "subject": subject,
            "subject_id": subject_id,
            "field": field,
            "reason": reason,
            "shop_account_ids": sorted(allowed),
        },
    )
    return str(value or "")


@transaction.atomic
def person_reveal_set(*, actor: AnyUser, user_id: int, shop_account_ids: Iterable[int]) -> int:
    """Give a person the reveal permission in exactly ``shop_account_ids`` (among the shops
    they have access to); the number of memberships changed.

    Keeps: admins only; a shop the person has no access to is a 404 (nothing written); each
    grant and withdrawal is audited (``membership.reveal_granted`` /
    ``membership.reveal_revoked``).
    """
    manager = lock_organisation(actor)
    target = person_for_update(manager, user_id)
    wanted = {int(i) for i in shop_account_ids}
    memberships = {
        m.shop_account_id: m
        for m in ShopMembership.objects.select_for_update().filter(
            user_id=target.user_id, shop_account__organisation_id=manager.organisation_id
        )
    }
    if wanted - set(memberships):
        raise NotFound(gettext_noop("Shop account not found."))
    changed = 0
    for shop_id, membership in sorted(memberships.items()):
        grant = shop_id in wanted
        if membership.can_reveal == grant:
            continue
        membership.can_reveal = grant
        membership.save(update_fields=["can_reveal"])
        changed += 1
        audit_record(
            organisation_id=manager.organisation_id,
            actor=actor,
            action="membership.reveal_granted" if grant else "membership.reveal_revoked",
            target=membership,
            shop_account_id=shop_id,
            ip=request_address(),
            data={"user_id": target.user_id, "shop_account_id": shop_id},
        )
    return changed
