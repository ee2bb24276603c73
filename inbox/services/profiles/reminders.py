"""Follow-up reminders: a periodic sweep (``inbox.tasks.follow_ups_remind``, every minute)
finds open follow-ups past their time and not yet reminded (the ``followup_due`` index), marks
each reminded by a conditional UPDATE (so two sweeps, or a re-run, remind once), and sends the
reminder through the SLA alert channels (``monitoring.sla.follow_ups``): an alert of kind
``followup`` in its owner's bell with a live ``sla.alert``, and the organisation's e-mail and
chat channels that take follow-ups. The owner also gets a ``follow_up.due`` event in their
language, carrying ids and a line without buyer data ("Follow-up due: customer #17, shop Sunny
Home UK") and the profile's link. An owner deactivated since, or no longer working on the shop,
is not told: the organisation's supervisors are, in the bell (escalated) and the channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from inbox.events import FOLLOW_UP_DUE
from inbox.models import FollowUp, Member, Role
from monitoring.sla.follow_ups import FollowUpDue, follow_up_alerts_record
from scrm.events import EventSpec, events_publish

BATCH = 200


@dataclass(frozen=True)
class Reminded:
    reminded: int  # follow-ups marked reminded by this sweep
    told: int  # owners told


def follow_ups_remind(*, now: datetime | None = None, batch: int = BATCH) -> Reminded:
    """Remind every due follow-up once, ``batch`` at a time; what was done."""
    now = now or timezone.now()
    reminded = told = 0
    while True:
        ids = list(
            FollowUp.objects.filter(done_at__isnull=True, reminded_at__isnull=True, due_at__lte=now)
            .order_by("due_at", "id")
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            break
        r, t = _remind(ids, now)
        reminded, told = reminded + r, told + t
        if len(ids) < batch:
            break
    return Reminded(reminded, told)


@transaction.atomic
def _remind(ids: list[int], now: datetime) -> tuple[int, int]:
    won = [
        i
        for i in ids
        if FollowUp.objects.filter(id=i, reminded_at__isnull=True, done_at__isnull=True).update(
            reminded_at=now
        )
    ]
    rows = list(
        FollowUp.objects.filter(id__in=won)
        .select_related("shop_account")
        .only("id", "organisation_id", "customer_id", "shop_account__name", "owner_id", "due_at")
    )
    owners = _owners({(f.owner_id, f.organisation_id, f.shop_account_id) for f in rows})
    specs = []
    dues = []
    for f in rows:
        language = owners.get((f.owner_id, f.organisation_id, f.shop_account_id))
        dues.append(
            FollowUpDue(
                follow_up_id=f.id,
                organisation_id=f.organisation_id,
                shop_account_id=f.shop_account_id,
                customer_id=f.customer_id,
                owner_id=f.owner_id,
                owner_may_be_told=language is not None,
                due_at=f.due_at,
            )
        )
        if language is None:
            continue
        specs.append(
            EventSpec(f.organisation_id, FOLLOW_UP_DUE, _payload(f, language), user_id=f.owner_id)
        )
    follow_up_alerts_record(dues, now=now)
    events_publish(specs)
    return len(won), len(specs)


def _owners(keys: set[tuple[int | None, int, int | None]]) -> dict[tuple, str]:
    """Each (owner, organisation, shop) whose owner may be told: active, of the organisation,
    and working on the shop (its agent, or a supervisor or admin); their language."""
    out: dict[tuple, str] = {}
    for owner_id, org_id, shop_id in keys:
        if owner_id is None:
            continue
        works = Q(role__in=[Role.ADMIN, Role.SUPERVISOR])
        if shop_id is not None:
            works |= Q(user__shop_memberships__shop_account_id=shop_id)
        member = (
            Member.objects.filter(works, user_id=owner_id, organisation_id=org_id)
            .filter(user__is_active=True)
            .select_related("organisation")
            .first()
        )
        if member is not None:
            out[(owner_id, org_id, shop_id)] = (
                member.language or member.organisation.language or "en"
            )
    return out


def _payload(f: FollowUp, language: str) -> dict:
    with translation.override(language):
        if f.shop_account is not None:
            text = _("Follow-up due: customer #%(customer)s, shop %(shop)s") % {
                "customer": f.customer_id,
                "shop": f.shop_account.name,
            }
        else:
            text = _("Follow-up due: customer #%(customer)s") % {"customer": f.customer_id}
    return {
        "id": f.id,
        "customer_id": f.customer_id,
        "shop_account_id": f.shop_account_id,
        "due_at": f.due_at.isoformat(),
        "text": text,
        "url": reverse("customers:profile", args=[f.customer_id]),
    }
