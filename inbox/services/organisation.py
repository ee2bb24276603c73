"""The organisation's own settings, changed by its admins on the organisation page."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_noop

from inbox.models import Member, Organisation
from inbox.selectors import AnyUser
from inbox.selectors.people import admin_member
from inbox.selectors.two_factor import two_factor_device
from inbox.services.access import access_changed_notify
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from scrm.api import ServiceError


@functools.cache
def _time_zone_set() -> frozenset[str]:
    return frozenset(time_zone_names())


NAME_MAX = Organisation._meta.get_field("name").max_length or 200


def clean_name(name: Any, *, max_length: int = NAME_MAX) -> str:
    """A name with its white space folded: 1 to ``max_length`` printable characters, or a 400
    (``invalid_name``). Organisations and shop accounts are named by this one rule."""
    name = " ".join(str(name or "").split())
    if not name or len(name) > max_length or not name.isprintable():
        raise ServiceError(gettext_noop("Give a name of 1 to 200 characters."), code="invalid_name")
    return name


def field_changes(instance: Any, wanted: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each field of ``wanted`` whose value differs from the instance's, with its before and
    after (``{"field": {"from": ..., "to": ...}}``), as the ``*.updated`` audit events carry it."""
    return {
        field: {"from": getattr(instance, field), "to": value}
        for field, value in wanted.items()
        if getattr(instance, field) != value
    }


def field_changes_save(
    *,
    instance: Any,
    changed: dict[str, dict[str, Any]],
    actor: AnyUser,
    organisation_id: int,
    action: str,
) -> None:
    """Set the changed fields' new values, save only those columns, and audit it as
    ``action`` with each changed field's before and after (``data={"changed": ...}``)."""
    for field, change in changed.items():
        setattr(instance, field, change["to"])
    instance.save(update_fields=list(changed))
    audit_record(
        organisation_id=organisation_id,
        actor=actor,
        action=action,
        ip=request_address(),
        target=instance,
        data={"changed": changed},
    )


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA time zone names this server knows, sorted (read from disk once a process)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def clean_time_zone(value: Any) -> str:
    """An IANA time zone name known to this server, or a 400."""
    value = str(value or "").strip()
    if value not in _time_zone_set():
        raise ServiceError(
            gettext_noop("Choose a time zone from the list."), code="invalid_time_zone"
        )
    return value


@transaction.atomic
def organisation_update(
    *,
    actor: AnyUser,
    name: str,
    time_zone: str,
    language: str,
    require_two_factor: bool,
    assign_on_reply: bool,
) -> Organisation:
    """Change the admin's organisation's settings.

    Keeps: admins only; a name, a known time zone and an offered language; turning two-factor
    sign-in on for supervisors and admins needs the acting admin to use it already (409
    ``two_factor_self_first``: they would otherwise be sent to set it up before anything
    else); a change of that requirement makes every open socket of the organisation re-check
    at commit (sessions that skipped the code close). Audited as ``organisation.updated``
    with each changed field's before and after; nothing changed writes nothing.
    """
    member = admin_member(actor)
    organisation = Organisation.objects.select_for_update().get(pk=member.organisation_id)
    language = str(language or "")
    if language not in dict(settings.LANGUAGES):
        raise ServiceError(
            gettext_noop("Choose a language from the list."), code="invalid_language"
        )
    wanted = {
        "name": clean_name(name),
        "time_zone": clean_time_zone(time_zone),
        "language": language,
        "require_two_factor": bool(require_two_factor),
        "assign_on_reply": bool(assign_on_reply),
    }
    changed = field_changes(organisation, wanted)
    if not changed:
        return organisation
    if changed.get("require_two_factor", {}).get("to") is True and two_factor_device(actor) is None:
        raise ServiceError(
            gettext_noop(
                "Turn on two-factor sign-in for yourself first (Two-factor sign-in page), "
                "then require it of supervisors and admins."
            ),
            code="two_factor_self_first",
            status_code=409,
        )
    field_changes_save(
        instance=organisation,
        changed=changed,
        actor=actor,
        organisation_id=organisation.pk,
        action="organisation.updated",
    )
    if "require_two_factor" in changed:
        access_changed_notify(
            user_ids=Member.objects.filter(organisation_id=organisation.pk).values_list(
                "user_id", flat=True
            )
        )
    # The acting user's remembered membership carries the organisation: keep it current.
    member.organisation = organisation
    return organisation
