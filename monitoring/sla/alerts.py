"""Who is told of an SLA alert, and telling them: a bell receipt and a live ``sla.alert`` per
person, then the organisation's channels (``monitoring.sla.channels``).

Who (docs/sla.md, "Alerts"):

* the subject's assignee (a conversation's; a case's linked conversation's), while still an
  active agent of the shop or supervisor of its organisation;
* nobody assigned (or a case without a conversation): every agent of the shop;
* a breach: the shop's organisation's supervisors and admins too (``escalated``);
* a warning with nobody assigned: the conversation is first auto-assigned by the shop's rule
  (``inbox.services.assignment.conversation_auto_assign``) and its new assignee told; when the
  rule is manual or no agent is online, the shop's agents and the supervisors are told
  (``escalated``).

Nothing here writes an alert: the sweep and the digest record them (the unique constraints are
the de-duplication) and call :func:`alert_tell` only for the alerts they inserted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Case, CharField, F, Value, When

from monitoring.models.sla import AlertKind, AlertReceipt, Deadline, SlaAlert


@dataclass(frozen=True)
class Subject:
    """A deadline's subject as the alerts need it: which conversation holds it (if any) and
    whom that conversation is assigned to."""

    conversation_id: int | None
    assignee_id: int | None


@dataclass(frozen=True)
class Audience:
    """Whom one alert goes to."""

    user_ids: tuple[int, ...]
    assignee_id: int | None
    escalated: bool


def subjects_for(deadlines: Iterable[Deadline]) -> dict[int, Subject]:
    """The subject of each deadline (by deadline id), in two queries whatever their number: a
    case's conversation, then each conversation's assignee."""
    from inbox.models import AfterSalesCase, Conversation

    deadlines = list(deadlines)
    case_ids = {d.case_id for d in deadlines if d.case_id}
    case_conversation = dict(
        AfterSalesCase.objects.filter(id__in=case_ids).values_list("id", "conversation_id")
    )
    conversation_of: dict[int, int | None] = {
        d.id: d.conversation_id or (case_conversation.get(d.case_id) if d.case_id else None)
        for d in deadlines
    }
    wanted = {c for c in conversation_of.values() if c}
    assignee_of = dict(Conversation.objects.filter(id__in=wanted).values_list("id", "assignee_id"))
    return {
        deadline_id: Subject(
            conversation_id, assignee_of.get(conversation_id) if conversation_id else None
        )
        for deadline_id, conversation_id in conversation_of.items()
    }


class People:
    """Who an alert can go to, read for many shops at once and kept for one sweep: the agents
    of each shop, the supervisors and admins of each organisation (active users only; an
    agent counts for a shop of their own organisation), whether a shop assigns automatically,
    and whether an organisation has an active alert channel.

    :meth:`load` reads all of it for the shops and organisations not yet known in one query
    (the sweep calls it once per batch); a shop or organisation asked for without a load is
    read then, in one query. A sweep lasts under a minute: a person deactivated meanwhile may
    still be told by that sweep, as by one that had started a moment earlier.
    """

    def __init__(self) -> None:
        self._agents: dict[int, tuple[int, ...]] = {}
        self._supervisors: dict[int, tuple[int, ...]] = {}
        self._assigns: dict[int, bool] = {}
        self._channels: dict[int, bool] = {}

    def load(self, *, shop_account_ids: Iterable[int], organisation_ids: Iterable[int]) -> None:
        """Read the shops' and organisations' people not read yet, in one query."""
        shops = {s for s in shop_account_ids if s not in self._assigns}
        orgs = {o for o in organisation_ids if o not in self._supervisors}
        if not shops and not orgs:
            return
        found: dict[tuple[str, int], list[int]] = {}
        for what, key, value in _people_rows(shops, orgs):
            found.setdefault((what, key), []).append(value)
        for shop in shops:
            self._agents[shop] = tuple(sorted(set(found.get((_AGENT, shop), ()))))
            self._assigns[shop] = bool(found.get((_AUTO, shop), [0])[0])
        for org in orgs:
            self._supervisors[org] = tuple(sorted(set(found.get((_SUPERVISOR, org), ()))))
            self._channels[org] = (_CHANNEL, org) in found

    def agents(self, shop_account_id: int) -> tuple[int, ...]:
        self.load(shop_account_ids=[shop_account_id], organisation_ids=[])
        return self._agents[shop_account_id]

    def auto_assigns(self, shop_account_id: int) -> bool:
        """Whether the shop assigns automatically (its rule is not manual)."""
        self.load(shop_account_ids=[shop_account_id], organisation_ids=[])
        return self._assigns[shop_account_id]

    def has_channels(self, organisation_id: int) -> bool:
        """Whether the organisation has an active alert channel (e-mail, webhook)."""
        self.load(shop_account_ids=[], organisation_ids=[organisation_id])
        return self._channels[organisation_id]

    def works_on(self, user_id: int, deadline: Deadline) -> bool:
        """Whether an active agent of the deadline's shop or supervisor of its organisation."""
        return user_id in self.agents(deadline.shop_account_id) or user_id in self.supervisors(
            deadline.organisation_id
        )

    def supervisors(self, organisation_id: int) -> tuple[int, ...]:
        self.load(shop_account_ids=[], organisation_ids=[organisation_id])
        return self._supervisors[organisation_id]


_AGENT, _SUPERVISOR, _AUTO, _CHANNEL = "agent", "supervisor", "auto", "channel"


def _people_rows(shops: set[int], orgs: set[int]) -> list[tuple[str, int, int]]:
    """(what, shop or organisation id, value) rows: each shop's agents' user ids and whether
    it assigns automatically (1/0), each organisation's supervisors' and admins' user ids and
    its active channels' ids; one query (a UNION ALL; a part with no ids is left out)."""
    from inbox.models import AssignmentMode, Role, ShopAccount
    from monitoring.models.sla import AlertChannel

    User = get_user_model()
    active = User.objects.filter(is_active=True).order_by()
    agents = active.filter(
        member__role=Role.AGENT,
        shop_memberships__shop_account_id__in=shops,
        shop_memberships__shop_account__organisation_id=F("member__organisation_id"),
    ).values_list(_label(_AGENT), "shop_memberships__shop_account_id", "id")
    supervisors = active.filter(
        member__organisation_id__in=orgs, member__role__in=[Role.SUPERVISOR, Role.ADMIN]
    ).values_list(_label(_SUPERVISOR), "member__organisation_id", "id")
    auto = Case(When(assignment_mode=AssignmentMode.MANUAL, then=Value(0)), default=Value(1))
    modes = (
        ShopAccount.objects.filter(id__in=shops).order_by().values_list(_label(_AUTO), "id", auto)
    )
    channels = (
        AlertChannel.objects.filter(organisation_id__in=orgs, is_active=True)
        .order_by()
        .values_list(_label(_CHANNEL), "organisation_id", "id")
    )
    return list(agents.union(supervisors, modes, channels, all=True))


def _label(what: str) -> Value:
    return Value(what, output_field=CharField())


def audience_for(*, deadline: Deadline, kind: str, subject: Subject, people: People) -> Audience:
    """Whom an alert of ``kind`` about ``deadline`` goes to, before any automatic assignment
    (the module's docstring says who): the assignee, else the shop's agents; the supervisors
    too for a breach and for a warning with nobody assigned. People of another shop or
    organisation are never in the answer."""
    assignee_id = subject.assignee_id
    if assignee_id and not people.works_on(assignee_id, deadline):
        assignee_id = None  # deactivated or off the shop since: as if nobody held it
    escalated = kind == AlertKind.BREACH or (kind == AlertKind.WARNING and assignee_id is None)
    users = [assignee_id] if assignee_id else list(people.agents(deadline.shop_account_id))
    if escalated:
        users += people.supervisors(deadline.organisation_id)
    return Audience(tuple(dict.fromkeys(users)), assignee_id, escalated)


def warning_escalate(
    *, alert: SlaAlert, subject: Subject, fallback: Audience, people: People
) -> Audience:
    """A warning about an unassigned conversation: assign it by the shop's rule and tell the
    new assignee only (the alert records them, not escalated); when the rule is manual or no
    agent is online, ``fallback`` (the agents and the supervisors).

    Keeps: runs inside the sweep's transaction and only for an alert this sweep inserted, so a
    rolled-back or duplicate sweep assigns nobody.
    """
    if alert.kind != AlertKind.WARNING or subject.assignee_id or not subject.conversation_id:
        return fallback
    if alert.shop_account_id is None or not people.auto_assigns(alert.shop_account_id):
        return fallback  # manual: nothing to try (the assignment would say the same)
    chosen = _auto_assign(subject.conversation_id)
    if chosen is None:
        return fallback
    SlaAlert.objects.filter(id=alert.id).update(assignee_id=chosen, escalated=False)
    alert.assignee_id, alert.escalated = chosen, False
    return Audience((chosen,), chosen, False)


def _auto_assign(conversation_id: int) -> int | None:
    """The shop's automatic assignment for an unassigned conversation near its deadline; the
    new assignee's id, or None (manual rule, nobody online). The queue hears of it."""
    from inbox.events import CONVERSATION_UPDATED
    from inbox.models import Conversation
    from inbox.payloads import conversation_payload
    from inbox.services.assignment import conversation_auto_assign
    from inbox.services.events import conversation_event_publish

    # Never wait for the conversation: whoever holds it (a message being stored) may be
    # waiting for this sweep's locked deadlines. Held: escalate now, as with nobody online.
    rows = Conversation.objects.filter(id=conversation_id)
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    conversation = rows.first()
    if conversation is None:
        return None
    chosen = conversation_auto_assign(conversation=conversation)
    if chosen is not None:
        fresh = Conversation.objects.select_related(
            "shop_account", "customer", "assignee__member"
        ).get(id=conversation_id)
        conversation_event_publish(fresh, CONVERSATION_UPDATED, conversation_payload(fresh))
    return chosen


def alert_payload(alert: SlaAlert, deadline: Deadline | None) -> dict[str, Any]:
    """The ``sla.alert`` event's payload and the bell API's item: ids, kinds and times only."""
    subject = None
    subject_id = None
    due_at = _iso(deadline.due_at) if deadline is not None else None
    if deadline is not None:
        subject = "conversation" if deadline.conversation_id else "case"
        subject_id = deadline.conversation_id or deadline.case_id
    elif alert.kind == AlertKind.FOLLOW_UP:
        subject, subject_id = "customer", alert.data.get("customer_id")
        due_at = alert.data.get("due_at")
    return {
        "id": alert.id,
        "kind": alert.kind,
        "shop_account_id": alert.shop_account_id,
        "subject": subject,
        "subject_id": subject_id,
        "follow_up_id": alert.follow_up_id,
        "deadline_kind": deadline.kind if deadline is not None else None,
        "due_at": due_at,
        "threshold_minutes": alert.threshold_minutes,
        "escalated": alert.escalated,
        "assignee_id": alert.assignee_id,
        "digest_date": alert.digest_date.isoformat() if alert.digest_date else None,
        "open_count": alert.data.get("open_count") if alert.kind == AlertKind.DIGEST else None,
        "created_at": _iso(alert.created_at),
    }


@dataclass(frozen=True)
class Telling:
    """One recorded alert, whom to tell, and its deadline (None: a digest)."""

    alert: SlaAlert
    user_ids: tuple[int, ...]
    deadline: Deadline | None


def alerts_tell(tellings: list[Telling], *, now: datetime, people: People | None = None) -> int:
    """Put each recorded alert in its people's bells, publish ``sla.alert`` to each person,
    and hand each alert to the organisation's channels; returns how many receipts were made.

    Keeps: call it inside the transaction that inserted the alerts, once per inserted alert
    (a receipt is unique per alert and person, so a second call tells nobody twice); the
    events and channel deliveries go out on commit, so a rolled-back sweep tells nobody. One
    INSERT for every receipt, the events (one payload per alert, whoever receives it), and
    whether each organisation has channels (from ``people`` when loaded, else one query).
    """
    from monitoring.events import SLA_ALERT
    from scrm.events import EventSpec, events_publish

    receipts = [
        AlertReceipt(alert=t.alert, user_id=u, created_at=now)
        for t in tellings
        for u in dict.fromkeys(t.user_ids)
    ]
    AlertReceipt.objects.bulk_create(receipts, ignore_conflicts=True, batch_size=1000)
    with_channels: dict[int, bool] = {}
    events = []
    for t in tellings:
        payload = alert_payload(t.alert, t.deadline)
        events += [
            EventSpec(t.alert.organisation_id, SLA_ALERT, payload, user_id=user_id)
            for user_id in dict.fromkeys(t.user_ids)
        ]
        organisation = t.alert.organisation_id
        if organisation not in with_channels:
            with_channels[organisation] = (
                people.has_channels(organisation) if people else _has_channels(organisation)
            )
        if with_channels[organisation]:
            _channels_enqueue(t.alert)
    # Each person's alerts in a row (their order kept): they travel to that person's sockets
    # as one channel-layer message per 50 (scrm.events.bundled), not one each.
    events.sort(key=lambda spec: spec.user_id or 0)
    events_publish(events)  # one feed INSERT and one push call for the whole batch
    return len(receipts)


def alert_tell(
    *, alert: SlaAlert, user_ids: Iterable[int], deadline: Deadline | None, now: datetime
) -> int:
    """:func:`alerts_tell` for one alert."""
    return alerts_tell([Telling(alert, tuple(user_ids), deadline)], now=now)


def _has_channels(organisation_id: int) -> bool:
    from monitoring.models.sla import AlertChannel

    return AlertChannel.objects.filter(organisation_id=organisation_id, is_active=True).exists()


def _channels_enqueue(alert: SlaAlert) -> None:
    """The organisation's e-mail and webhook channels: one delivery per matching active
    channel, in this transaction, sent by the outbox once it commits."""
    from monitoring.sla.channels import alert_deliveries_enqueue

    alert_deliveries_enqueue(alert=alert)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
