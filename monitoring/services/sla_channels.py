"""Alert channels, as supervisors and admins manage them (the /sla/channels/ page): create,
change, delete, send a test alert; and what the page and the supervisors' warnings read (each
channel with its health, the failing ones).

Keeps: an organisation's channels only (another organisation's is not found); supervisors and
admins only; every change audited, never with the channel's URL or secret (a bot's URL carries
its token); a webhook URL passes the SSRF guard (``scrm.outbound``) when it is saved, and again
at every delivery.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import EllipsisType
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from inbox.models import OutboxAction
from inbox.selectors.accounts import AnyUser, member_for
from inbox.selectors.for_apps import ActingMember, acting_member, organisation_shop_ids, shops_for
from monitoring.audit_log.address import request_address
from monitoring.models import AlertChannel, AlertChannelKind, AlertKind
from monitoring.services.audit import audit_record
from monitoring.sla.channels import test_delivery_enqueue
from monitoring.sla.formats import email_addresses
from scrm.api import Forbidden, NotFound, ServiceError, locked_or_not_found
from scrm.http import NotSent
from scrm.outbound import OutboundRefused, target_check

MAX_EMAIL_ADDRESSES = 20
# A channel is failing (shown to supervisors) after this many failed deliveries in a row, or
# when its last delivery within FAILING_WINDOW failed.
FAILING_AFTER = 3
FAILING_WINDOW = timedelta(hours=24)
TEST_WAIT_SECONDS = 15.0  # longer than one attempt (connect 3 s + read 10 s)


# --- checks ----------------------------------------------------------------------------------
def channel_target_check(kind: str, target: str) -> None:
    """A channel's address as it would be saved: e-mail addresses, or a webhook URL the SSRF
    guard calls (https, resolving to public addresses only, unless allow-listed). Raises a
    ServiceError (``invalid_target``) with a message for the person typing it."""
    if kind not in AlertChannelKind.values:
        raise ServiceError(_("Choose a kind of channel."), code="invalid_kind")
    if kind == AlertChannelKind.EMAIL:
        _emails_check(target)
        return
    try:
        target_check(target.strip())
    except OutboundRefused as exc:
        raise ServiceError(_refusal_message(exc), code="invalid_target") from None
    except NotSent:
        raise ServiceError(
            _("The address's host name could not be found."), code="invalid_target"
        ) from None


def _emails_check(target: str) -> None:
    addresses = email_addresses(target)
    if not addresses or len(addresses) > MAX_EMAIL_ADDRESSES:
        raise ServiceError(
            _("Enter between 1 and %(max)d e-mail addresses.") % {"max": MAX_EMAIL_ADDRESSES},
            code="invalid_target",
        )
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ServiceError(
                _("%(address)s is not an e-mail address.") % {"address": address},
                code="invalid_target",
            ) from None


def _refusal_message(error: OutboundRefused) -> str:
    if error.why == "scheme":
        return _("Use an https:// address.")
    if error.why == "address":
        return _(
            "This address leads to a private or local network; alerts go only to public "
            "addresses (%(reason)s)."
        ) % {"reason": error.reason}
    return _("Enter a valid URL.")


def _alert_kinds_check(alert_kinds: list[str]) -> list[str]:
    kinds = [k for k in AlertKind.values if k in set(alert_kinds)]
    if not kinds or len(kinds) != len(set(alert_kinds)):
        raise ServiceError(_("Choose which alerts the channel receives."), code="invalid_kinds")
    return kinds


def _manager(actor: AnyUser) -> ActingMember:
    member = acting_member(actor)
    if not member.sees_all_shops:
        raise Forbidden(_("Only supervisors and admins may manage alert channels."))
    return member


def _shop_check(member: ActingMember, shop_account_id: int | None) -> None:
    if shop_account_id is not None and not organisation_shop_ids(member, [shop_account_id]):
        raise NotFound(_("Shop account not found."))


def _name_check(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise ServiceError(_("Give the channel a name (up to 100 characters)."), code="invalid")
    return name


# --- changes ---------------------------------------------------------------------------------
@transaction.atomic
def alert_channel_create(
    *,
    actor: AnyUser,
    kind: str,
    name: str,
    target: str,
    secret: str = "",
    shop_account_id: int | None = None,
    alert_kinds: list[str] | None = None,
    is_active: bool = True,
) -> AlertChannel:
    """A new channel of the actor's organisation. Keeps: supervisors/admins; the shop (if
    any) is the organisation's (404 else); the address passes ``channel_target_check``; the
    secret only for the kinds that sign (not Slack, not e-mail); audited."""
    member = _manager(actor)
    _shop_check(member, shop_account_id)
    channel_target_check(kind, target)
    channel = AlertChannel.objects.create(
        organisation_id=member.organisation_id,
        shop_account_id=shop_account_id,
        kind=kind,
        name=_name_check(name),
        target=target.strip(),
        secret=secret.strip() if _signs(kind) else "",
        alert_kinds=_alert_kinds_check(alert_kinds or list(AlertKind.values)),
        is_active=is_active,
    )
    _audit(actor, member, "sla_channel.created", channel)
    return channel


def _signs(kind: str) -> bool:
    return kind in (AlertChannelKind.FEISHU, AlertChannelKind.DINGTALK, AlertChannelKind.WEBHOOK)


@transaction.atomic
def alert_channel_update(
    *,
    actor: AnyUser,
    channel_id: int,
    name: str | None = None,
    target: str | None = None,
    secret: str | None = None,
    shop_account_id: int | EllipsisType | None = ...,
    alert_kinds: list[str] | None = None,
    is_active: bool | None = None,
) -> AlertChannel:
    """Change what is given (None: unchanged; ``shop_account_id=None`` means all shops, left
    out means unchanged; ``secret=""`` clears it). Keeps: as ``alert_channel_create``; a channel
    turned on again, or given a new address, starts its failure count afresh; audited with the
    names of the fields changed."""
    member = _manager(actor)
    channel = locked_or_not_found(
        AlertChannel, _("Channel not found."), id=channel_id, organisation_id=member.organisation_id
    )
    changed: list[str] = []
    if name is not None:
        channel.name = _name_check(name)
        changed.append("name")
    if target is not None and target.strip() != channel.target:
        channel_target_check(channel.kind, target)
        channel.target = target.strip()
        changed.append("target")
    if secret is not None and _signs(channel.kind):
        channel.secret = secret.strip()
        changed.append("secret")
    if shop_account_id is not ...:
        shop_id = shop_account_id if isinstance(shop_account_id, int) else None
        _shop_check(member, shop_id)
        channel.shop_account_id = shop_id
        changed.append("shop_account")
    if alert_kinds is not None:
        channel.alert_kinds = _alert_kinds_check(alert_kinds)
        changed.append("alert_kinds")
    if is_active is not None and is_active != channel.is_active:
        channel.is_active = is_active
        changed.append("is_active")
    if "target" in changed or ("is_active" in changed and channel.is_active):
        channel.consecutive_failures = 0
    channel.save()
    _audit(actor, member, "sla_channel.updated", channel, fields=changed)
    return channel


@transaction.atomic
def alert_channel_delete(*, actor: AnyUser, channel_id: int) -> None:
    """Delete a channel of the actor's organisation (its deliveries go with it; one still
    waiting fails as "channel deleted"). Keeps: supervisors/admins; audited."""
    member = _manager(actor)
    channel = locked_or_not_found(
        AlertChannel, _("Channel not found."), id=channel_id, organisation_id=member.organisation_id
    )
    _audit(actor, member, "sla_channel.deleted", channel)
    channel.delete()


def _audit(
    actor: AnyUser, member: ActingMember, action: str, channel: AlertChannel, **extra: Any
) -> None:
    data = {
        "kind": channel.kind,
        "shop_account_id": channel.shop_account_id,
        "alert_kinds": list(channel.alert_kinds),
        "is_active": channel.is_active,
        **extra,
    }
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action=action,
        ip=request_address(),
        target=channel,
        data=data,
    )


@dataclass(frozen=True)
class TestSendOutcome:
    """``sent``, ``failed`` (with the reason) or ``pending`` (no answer yet within the wait:
    the channel's health will show it)."""

    state: str
    reason: str
    action_id: int


@transaction.atomic
def _test_send_enqueue(*, actor: AnyUser, channel_id: int) -> int:
    member = _manager(actor)
    channel = locked_or_not_found(
        AlertChannel, _("Channel not found."), id=channel_id, organisation_id=member.organisation_id
    )
    language = member_for(actor).organisation.language
    action = test_delivery_enqueue(channel=channel, language=language)
    _audit(actor, member, "sla_channel.test_sent", channel)
    return action.id


def alert_channel_test_send(
    *, actor: AnyUser, channel_id: int, wait_seconds: float = TEST_WAIT_SECONDS
) -> TestSendOutcome:
    """Send a test alert through the channel now (the same formats, guard and outbox as real
    alerts; one attempt, not retried) and report how it went, waiting up to ``wait_seconds``
    for the worker's answer. Not one transaction: the action must be committed for a worker
    to send it while this waits. Keeps: supervisors/admins; audited; the channel's health
    moves with the outcome as with a real alert."""
    action_id = _test_send_enqueue(actor=actor, channel_id=channel_id)
    give_up = time.monotonic() + wait_seconds
    while True:
        state, reason = OutboxAction.objects.values_list("state", "failure_reason").get(
            id=action_id
        )
        if state in ("sent", "failed") or time.monotonic() >= give_up:
            break
        time.sleep(0.2)
    return TestSendOutcome(state if state in ("sent", "failed") else "pending", reason, action_id)


# --- reads -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelRow:
    """A channel as the page lists it: never its secret, and for a URL only its host (the
    rest carries the bot's token)."""

    id: int
    name: str
    kind: str
    kind_label: str
    shop_account_id: int | None
    shop_name: str | None  # None: every shop
    target_hint: str
    has_secret: bool
    alert_kinds: list[str]
    is_active: bool
    consecutive_failures: int
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_failure_reason: str
    failing: bool


def failing_q(now: datetime) -> Q:
    """Active channels with ``FAILING_AFTER`` failures in a row, or whose last delivery within
    ``FAILING_WINDOW`` failed."""
    recent_failure = Q(last_failure_at__gte=now - FAILING_WINDOW) & (
        Q(last_success_at__isnull=True) | Q(last_failure_at__gt=F("last_success_at"))
    )
    return Q(is_active=True) & (Q(consecutive_failures__gte=FAILING_AFTER) | recent_failure)


def _hint(channel: AlertChannel) -> str:
    if channel.kind == AlertChannelKind.EMAIL:
        return ", ".join(email_addresses(channel.target))
    parts = urlsplit(channel.target)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


def alert_channels_for(user: AnyUser, *, now: datetime | None = None) -> list[ChannelRow]:
    """The organisation's channels with their health, by name (supervisors and admins)."""
    member = _manager(user)
    now = now or timezone.now()
    shops = {shop.id: shop.name for shop in shops_for(user)}
    failing = set(
        AlertChannel.objects.filter(
            failing_q(now), organisation_id=member.organisation_id
        ).values_list("id", flat=True)
    )
    channels = AlertChannel.objects.filter(organisation_id=member.organisation_id).order_by(
        "name", "id"
    )
    return [
        ChannelRow(
            id=c.id,
            name=c.name,
            kind=c.kind,
            kind_label=str(AlertChannelKind(c.kind).label),
            shop_account_id=c.shop_account_id,
            shop_name=shops.get(c.shop_account_id) if c.shop_account_id else None,
            target_hint=_hint(c),
            has_secret=bool(c.secret),
            alert_kinds=list(c.alert_kinds),
            is_active=c.is_active,
            consecutive_failures=c.consecutive_failures,
            last_success_at=c.last_success_at,
            last_failure_at=c.last_failure_at,
            last_failure_reason=c.last_failure_reason,
            failing=c.id in failing,
        )
        for c in channels
    ]


def channels_failing(organisation_id: int, *, now: datetime | None = None) -> list[AlertChannel]:
    """The organisation's failing channels (``failing_q``), for the supervisors' warning; the
    caller has checked the person may see them (supervisors and admins of that organisation)."""
    now = now or timezone.now()
    return list(
        AlertChannel.objects.filter(failing_q(now), organisation_id=organisation_id).order_by(
            "name", "id"
        )
    )
