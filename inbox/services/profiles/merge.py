"""Merging two profiles that are one person, and undoing it exactly.

A merge moves the merged profile's conversations, orders, after-sales cases, notes and
follow-ups to the survivor, adds its tags to the survivor's, and points it at the survivor
(``merged_into``: it leaves searches and lists). What moved is recorded
(``CustomerMerge.moved``), so the undo moves exactly those rows back and removes exactly the
tags it added. Supervisors and admins only: a merge moves rows of every shop.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from inbox.models import (
    AfterSalesCase,
    Conversation,
    Customer,
    CustomerMerge,
    CustomerNote,
    CustomerSearchToken,
    FollowUp,
    Order,
)
from inbox.selectors import AnyUser
from inbox.selectors.profiles import customer_visible
from inbox.services.profiles.common import audit, supervisor_for
from inbox.services.search_tokens import customer_tokens_write
from scrm.api import Conflict, NotFound, ServiceError
from scrm.blind import org_index_for

# What a merge moves: the key in ``moved`` and the model (every one has ``customer``).
MOVED: dict[str, Any] = {
    "conversations": Conversation,
    "orders": Order,
    "cases": AfterSalesCase,
    "notes": CustomerNote,
    "follow_ups": FollowUp,
}


def _both(actor: AnyUser, survivor_id: int, merged_id: int) -> tuple[Customer, Customer]:
    supervisor_for(actor)
    ids = set(
        customer_visible(actor).filter(id__in=[survivor_id, merged_id]).values_list("id", flat=True)
    )
    if ids != {survivor_id, merged_id}:
        raise NotFound(gettext_noop("Customer not found."))
    if survivor_id == merged_id:
        raise ServiceError(
            gettext_noop("A profile cannot be merged into itself."),
            code="invalid",
            details={"merged_id": "same as the survivor"},
        )
    rows = {c.pk: c for c in Customer.objects.select_for_update().filter(id__in=ids).order_by("id")}
    survivor, merged = rows[survivor_id], rows[merged_id]
    for customer in (survivor, merged):
        if customer.erased_at is not None or customer.merged_into_id is not None:
            raise Conflict(
                gettext_noop("An erased or already merged profile cannot be merged."),
                code="not_mergeable",
                details={"customer_id": customer.pk},
            )
    return survivor, merged


@transaction.atomic
def customer_merge(*, actor: AnyUser, survivor_id: int, merged_id: int) -> CustomerMerge:
    """Merge ``merged`` into ``survivor`` (both of the actor's organisation and visible to
    them, neither erased nor merged already). Keeps: every moved id recorded; the merged
    profile's search tokens removed (it is no longer found); audited with ids and counts."""
    survivor, merged = _both(actor, survivor_id, merged_id)
    moved: dict[str, list[int]] = {}
    for key, model in MOVED.items():
        rows = model.objects.filter(customer_id=merged.pk)
        moved[key] = sorted(rows.values_list("id", flat=True))
        rows.update(customer_id=survivor.pk)
    have = set(survivor.tags.values_list("id", flat=True))
    added = sorted(set(merged.tags.values_list("id", flat=True)) - have)
    survivor.tags.add(*added)
    moved["tags_added"] = added
    merged.merged_into = survivor
    merged.save(update_fields=["merged_into", "updated_at"])
    CustomerSearchToken.objects.filter(customer_id=merged.pk).delete()
    merge = CustomerMerge.objects.create(
        organisation_id=survivor.organisation_id,
        survivor=survivor,
        merged=merged,
        moved=moved,
        merged_by_id=supervisor_for(actor).user_id,
    )
    audit(
        actor,
        organisation_id=survivor.organisation_id,
        action="customer.merged",
        target=merge,
        data={
            "survivor_id": survivor.pk,
            "merged_id": merged.pk,
            "moved": {k: len(v) for k, v in moved.items()},
        },
    )
    return merge


def _undo_refusal(merge: CustomerMerge, survivor: Customer, merged: Customer) -> str:
    """Why undoing ``merge`` is unsafe now ("" when it is safe)."""
    if merge.undone_at is not None:
        return gettext_noop("This merge was undone already.")
    if survivor.erased_at is not None or merged.erased_at is not None:
        return gettext_noop("A profile of this merge was erased since: it cannot be undone.")
    if merged.merged_into_id != survivor.pk:
        return gettext_noop("The merged profile has changed since: it cannot be undone.")
    if survivor.merged_into_id is not None:
        return gettext_noop("The surviving profile was merged since: undo that merge first.")
    for key, model in MOVED.items():
        ids = merge.moved.get(key, [])
        still = model.objects.filter(id__in=ids, customer_id=survivor.pk).count()
        if still != len(ids):
            return gettext_noop(
                "Some of what the merge moved has moved again since: it cannot be undone."
            )
    return ""


@transaction.atomic
def customer_merge_undo(*, actor: AnyUser, merge_id: int) -> CustomerMerge:
    """Undo a merge exactly: the recorded rows go back, the tags it added leave the survivor,
    the merged profile is found again. Keeps: refused (409, with the reason) once undone, when
    either profile was erased, when the survivor was merged into a third profile, or when a
    recorded row no longer belongs to the survivor; supervisors and admins only."""
    supervisor_for(actor)
    merge = (
        CustomerMerge.objects.select_for_update()
        .filter(id=merge_id, survivor__in=customer_visible(actor).values("id"))
        .first()
    )
    if merge is None:
        raise NotFound(gettext_noop("Merge not found."))
    rows = Customer.objects.select_for_update().filter(id__in=[merge.survivor_id, merge.merged_id])
    by_id = {c.pk: c for c in rows.order_by("id")}
    survivor, merged = by_id[merge.survivor_id], by_id[merge.merged_id]
    refusal = _undo_refusal(merge, survivor, merged)
    if refusal:
        raise Conflict(refusal, code="merge_not_undoable", details={"merge_id": merge.pk})
    for key, model in MOVED.items():
        model.objects.filter(id__in=merge.moved.get(key, [])).update(customer_id=merged.pk)
    survivor.tags.remove(*merge.moved.get("tags_added", []))
    merged.merged_into = None
    merged.save(update_fields=["merged_into", "updated_at"])
    customer_tokens_write(merged, org_index_for(merged.organisation_id))
    merge.undone_at, merge.undone_by_id = timezone.now(), supervisor_for(actor).user_id
    merge.save(update_fields=["undone_at", "undone_by"])
    audit(
        actor,
        organisation_id=merge.organisation_id,
        action="customer.merge_undone",
        target=merge,
        data={"survivor_id": survivor.pk, "merged_id": merged.pk},
    )
    return merge
