"""The profile page's forms: each ``action`` parses its form and calls one service; it returns
what to tell the person (in their language) or raises the service's refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from inbox.selectors import profiles as read
from inbox.services import profiles as work
from scrm.api import ServiceError
from scrm.params import int_param

Action = Callable[[HttpRequest, int], str]


def field_choices(raw: str) -> list[str]:
    """A choice field's choices as typed: one a line (or comma separated)."""
    parts = raw.replace(",", "\n").splitlines()
    return [p.strip() for p in parts if p.strip()]


def local_time(raw: str, field: str) -> datetime:
    """A ``datetime-local`` input, read in the viewer's time zone (the middleware's)."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ServiceError(
            gettext_noop("Give a date and time."), code="invalid", details={field: "required"}
        ) from None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    return value


def _id(request: HttpRequest, name: str) -> int:
    value = int_param(request.POST.get(name), minimum=1)
    if value is None:
        raise ServiceError(gettext_noop("Not found."), code="invalid", details={name: "required"})
    return value


def _update(request: HttpRequest, customer_id: int) -> str:
    post = request.POST
    # Phone and e-mail are shown masked, so their inputs start empty: empty keeps them.
    changes: dict[str, Any] = {
        k: post.get(k, "").strip() for k in ("phone", "email") if post.get(k, "").strip()
    }
    changes.update({k: post.get(k, "") for k in ("language", "country") if k in post})
    if "tags" in post:
        changes["tags"] = [t.strip() for t in post.get("tags", "").split(",") if t.strip()]
    custom = {
        key.removeprefix("cf_"): value for key, value in post.items() if key.startswith("cf_")
    }
    if custom:
        changes["custom_fields"] = custom
    work.customer_update(actor=request.user, customer_id=customer_id, changes=changes)
    return _("Profile saved.")


def _note_add(request: HttpRequest, customer_id: int) -> str:
    work.customer_note_add(
        actor=request.user, customer_id=customer_id, text=request.POST.get("text", "")
    )
    return _("Note added.")


def _note_delete(request: HttpRequest, customer_id: int) -> str:
    work.customer_note_delete(
        actor=request.user, customer_id=customer_id, note_id=_id(request, "note_id")
    )
    return _("Note deleted.")


def _follow_up_add(request: HttpRequest, customer_id: int) -> str:
    work.follow_up_create(
        actor=request.user,
        customer_id=customer_id,
        promise=request.POST.get("promise", ""),
        due_at=local_time(request.POST.get("due_at", ""), "due_at"),
    )
    return _("Follow-up added.")


def _follow_up_done(request: HttpRequest, customer_id: int) -> str:
    work.follow_up_complete(
        actor=request.user, customer_id=customer_id, follow_up_id=_id(request, "follow_up_id")
    )
    return _("Follow-up done.")


def _follow_up_reopen(request: HttpRequest, customer_id: int) -> str:
    work.follow_up_reopen(
        actor=request.user, customer_id=customer_id, follow_up_id=_id(request, "follow_up_id")
    )
    return _("Follow-up reopened.")


def _merge(request: HttpRequest, customer_id: int) -> str:
    work.customer_merge(
        actor=request.user, survivor_id=customer_id, merged_id=_id(request, "merged_id")
    )
    return _("Profiles merged.")


def _merge_undo(request: HttpRequest, customer_id: int) -> str:
    read.profile_customer(request.user, customer_id)
    work.customer_merge_undo(actor=request.user, merge_id=_id(request, "merge_id"))
    return _("Merge undone.")


PROFILE_ACTIONS: dict[str, Action] = {
    "update": _update,
    "note_add": _note_add,
    "note_delete": _note_delete,
    "follow_up_add": _follow_up_add,
    "follow_up_done": _follow_up_done,
    "follow_up_reopen": _follow_up_reopen,
    "merge": _merge,
    "merge_undo": _merge_undo,
}
