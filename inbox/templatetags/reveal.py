"""Masked personal values in pages, with a "Reveal" button for people who may reveal them.

``{% masked subject id field value %}`` renders ``value`` masked (``inbox.masking``), e.g.
``{% masked "order" o.id "recipient_phone" o.recipient_phone %}`` or
``{% masked "customer" c.id "phone" c.phone %}``; ``addresses`` takes a list of stored
addresses. When the viewer may reveal in a shop the subject concerns
(``inbox.selectors.reveal``), a "Reveal" button follows: it opens the reason dialog, which
``{% reveal_dialog %}`` renders once in the page (with ``inbox/reveal.js``), and the value
the API answers replaces the masked text in place, for that view only (nothing is stored).

Pass ``shop=<shop account id>`` when the page knows the subject's shop (an order's): the
permission is then decided without a query. A viewer who may reveal nowhere costs one query
a request, whatever the number of values.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from inbox.masking import REVEALABLE, mask
from inbox.selectors.reveal import may_reveal, reveal_shop_ids
from scrm.api import ServiceError

register = template.Library()


def masked_text(subject: str, field: str, value: Any) -> str:
    """The value of a subject's field as shown before any reveal (``***`` for a field that is
    not a known personal one: never the value)."""
    kind = REVEALABLE.get(subject, {}).get(field, "")
    if isinstance(value, list | tuple):
        shown = (mask(kind, v) for v in value)
        return "; ".join(dict.fromkeys(s for s in shown if s))
    return mask(kind, value)


def _may_reveal(context: template.Context, subject: str, subject_id: Any, shop: Any) -> bool:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    try:
        allowed = reveal_shop_ids(user)
        if not allowed:
            return False
        if shop not in (None, ""):
            return int(shop) in allowed
        # remembered on the user object, which lives for one request
        cache: dict[tuple[str, int], bool] = user.__dict__.setdefault("_scrm_may_reveal", {})
        key = (subject, int(subject_id))
        if key not in cache:
            cache[key] = may_reveal(user, subject, int(subject_id))
        return cache[key]
    except (ServiceError, TypeError, ValueError):
        return False


@register.simple_tag(takes_context=True)
def masked(
    context: template.Context,
    subject: str,
    subject_id: Any,
    field: str,
    value: Any,
    shop: Any = None,
) -> SafeString:
    """The masked value, and a Reveal button for a viewer who may reveal it."""
    text = masked_text(subject, field, value)
    if not text:  # nothing stored: nothing to show or reveal
        return format_html('<span class="masked" data-masked-field="{}"></span>', field)
    if field not in REVEALABLE.get(subject, {}) or not _may_reveal(
        context, subject, subject_id, shop
    ):
        return format_html(
            '<span class="masked" data-masked-field="{}">'
            '<span class="masked-value">{}</span></span>',
            field,
            text,
        )
    return format_html(
        '<span class="masked" data-masked-field="{field}" data-reveal-subject="{subject}"'
        ' data-reveal-id="{id}" data-reveal-field="{field}">'
        '<span class="masked-value">{text}</span> <button type="button" class="reveal-button"'
        ' data-reveal aria-label="{label}">{button}</button></span>',
        field=field,
        subject=subject,
        id=subject_id,
        text=text,
        label=_("Reveal this value (audited)"),
        button=_("Reveal"),
    )


@register.simple_tag(takes_context=True)
def reveal_dialog(context: template.Context) -> SafeString:
    """The reason dialog and its script, once per page that shows masked values (rendered
    for everyone: a page swapped in later may bring a Reveal button)."""
    request = context.get("request")
    return render_to_string("inbox/_reveal_dialog.html", {}, request=request)
