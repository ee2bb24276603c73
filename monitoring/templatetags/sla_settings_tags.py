"""Template filters of the SLA settings pages."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def minutes_span(minutes: object) -> str:
    """A target in minutes as people say it: ``24 h``, ``1 h 30 min``, ``45 min``."""
    try:
        total = int(str(minutes))
    except ValueError:
        return ""
    hours, rest = divmod(total, 60)
    if hours and rest:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": rest}
    if hours:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": rest}
