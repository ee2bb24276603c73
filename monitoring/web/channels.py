"""The alert channels page, ``/sla/channels/`` (supervisors and admins): where the
organisation's SLA alerts go besides the inbox (e-mail, Feishu, DingTalk, Slack, a JSON
webhook), how each has been going (last success, last failure and why, failures in a row; a
failing channel highlighted), and add, edit, delete, send a test alert.

The services and reads are ``monitoring.services.sla_channels``'s. A channel's URL carries its
bot's token and its secret signs: neither is shown again once saved — the URL only as its
scheme and host (``https://open.feishu.cn/…``), the secret as "set" — and an edit keeps them
unless a new one is typed.
Agents get the 404 page, as anything outside their reach.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from inbox.selectors.accounts import member_for
from inbox.selectors.for_apps import shops_for
from monitoring.models.sla import AlertChannelKind, AlertKind
from monitoring.services.sla_channels import (
    ChannelRow,
    alert_channel_create,
    alert_channel_delete,
    alert_channel_test_send,
    alert_channel_update,
    alert_channels_for,
)
from scrm.api import Forbidden, NotFound, ServiceError
from scrm.pages import signed_in_page
from scrm.params import int_param

page = signed_in_page("GET", "POST", never_cached=True)


def _supervisor(request: HttpRequest) -> None:
    if not member_for(request.user).sees_all_shops:
        raise NotFound("Page not found.")


def _channel(request: HttpRequest, channel_id: int) -> ChannelRow:
    for channel in alert_channels_for(request.user):
        if channel.id == channel_id:
            return channel
    raise NotFound("Alert channel not found.")


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    base = {"member": member_for(request.user), "tab": "channels", "nav": "sla-risk"}
    return render(request, f"monitoring/{template}", {**base, **context}, status=status)


def _form_values(request: HttpRequest) -> dict[str, Any]:
    """The form's fields as the services take them; an empty URL or secret is None (keep);
    a shop id that is no number names no shop (0: the service's 404)."""
    post = request.POST
    shop = post.get("shop_account", "")
    return {
        "name": post.get("name", ""),
        "shop_account_id": (int_param(shop, minimum=1) or 0) if shop else None,
        "target": post.get("target", "").strip() or None,
        "secret": post.get("secret", "").strip() or None,
        "alert_kinds": post.getlist("alert_kinds"),
        "is_active": post.get("is_active") in ("on", "1", "true"),
    }


def _form_context(request: HttpRequest, channel: ChannelRow | None) -> dict[str, Any]:
    posted = request.POST if request.method == "POST" else None
    if posted is not None:
        kinds = posted.getlist("alert_kinds")
    else:
        kinds = channel.alert_kinds if channel else list(AlertKind.values)
    return {
        "channel": channel,
        "kinds": AlertChannelKind.choices,
        "alert_kind_choices": AlertKind.choices,
        "checked_kinds": [str(k) for k in kinds],
        "shops": shops_for(request.user),
        "form": posted,
    }


def _refused(exc: ServiceError) -> tuple[str, int]:
    if isinstance(exc, NotFound | Forbidden):
        raise exc
    return _(exc.message), exc.status_code


@page
def channels_page(request: HttpRequest) -> HttpResponse:
    """Every alert channel with its health, the failing ones highlighted."""
    _supervisor(request)
    return _render(request, "channels.html", {"rows": alert_channels_for(request.user)})


@sensitive_post_parameters("target", "secret")
@page
def channel_add(request: HttpRequest) -> HttpResponse:
    """A new channel: its kind, name, shop (or all), address, secret, which alerts it gets."""
    _supervisor(request)
    error, status = "", 200
    if request.method == "POST":
        values = _form_values(request)
        try:
            alert_channel_create(
                actor=request.user,
                kind=request.POST.get("kind", ""),
                name=values["name"],
                target=values["target"] or "",
                secret=values["secret"] or "",
                shop_account_id=values["shop_account_id"],
                alert_kinds=values["alert_kinds"] or [""],
                is_active=values["is_active"],
            )
        except ServiceError as exc:
            error, status = _refused(exc)
        else:
            messages.success(request, _("Alert channel added."))
            return redirect("sla:channels")
    context = {**_form_context(request, None), "error": error}
    return _render(request, "channel_form.html", context, status)


@sensitive_post_parameters("target", "secret")
@page
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    """One channel's settings; its URL and secret are replaced only when new ones are typed."""
    _supervisor(request)
    channel = _channel(request, channel_id)
    error, status = "", 200
    if request.method == "POST":
        values = _form_values(request)
        values["alert_kinds"] = values["alert_kinds"] or [""]
        try:
            alert_channel_update(actor=request.user, channel_id=channel.id, **values)
        except ServiceError as exc:
            error, status = _refused(exc)
        else:
            messages.success(request, _("Alert channel saved."))
            return redirect("sla:channels")
    context = {**_form_context(request, channel), "error": error}
    return _render(request, "channel_form.html", context, status)


@page
def channel_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Confirm, then delete a channel (its delivery records go with it)."""
    _supervisor(request)
    channel = _channel(request, channel_id)
    if request.method == "POST":
        alert_channel_delete(actor=request.user, channel_id=channel.id)
        messages.success(request, _("%(name)s is deleted.") % {"name": channel.name})
        return redirect("sla:channels")
    return _render(request, "channel_delete.html", {"channel": channel})


@page
def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Send a test alert now (POST) and say how it went (after the redirect to the list);
    a GET goes back to the list."""
    _supervisor(request)
    channel = _channel(request, channel_id)
    if request.method != "POST":
        return redirect("sla:channels")
    outcome = alert_channel_test_send(actor=request.user, channel_id=channel.id)
    names = {"name": channel.name, "reason": outcome.reason}
    if outcome.state == "sent":
        messages.success(request, _("Test alert sent to %(name)s.") % names)
    elif outcome.state == "failed":
        messages.error(request, _("Test alert to %(name)s failed: %(reason)s") % names)
    else:
        messages.warning(
            request,
            _("No answer yet from %(name)s: its health will show how the test alert went.") % names,
        )
    return redirect("sla:channels")
