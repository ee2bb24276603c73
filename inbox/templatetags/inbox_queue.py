"""Display helpers for after-sales rows of the queue: when the answer is due."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from inbox.templatetags.inbox_ui import short_duration

register = template.Library()


@register.filter
def is_overdue(due: datetime | None) -> bool:
    return due is not None and due <= timezone.now()


@register.filter
def due_label(due: datetime | None) -> str:
    """The label: "Due in 3 h" or "Overdue 2 h" (static/inbox/inbox.js refreshes it)."""
    if due is None:
        return ""
    left = (due - timezone.now()).total_seconds()
    if left <= 0:
        return _("Overdue %(time)s") % {"time": short_duration(-left)}
    return _("Due in %(time)s") % {"time": short_duration(left)}
