"""An SLA alert in words, and as each channel's request: Feishu/Lark and DingTalk bots (with
their signing), a Slack incoming webhook, a plain JSON webhook (HMAC-signed) and e-mail.

What an alert says, in the organisation's language: the shop, what happened (a warning N hours
before the due time, a breach, the same-day digest's counts), the due time in the shop's local
time with its zone, whom it is assigned to (or "unassigned") and a link to the conversation or
case; a follow-up reminder names the customer by number and links the profile. Never the
buyer's name, a message's text, what was promised or any other personal data: the alert's row
holds ids, kinds, times and counts only, and only those are read here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from inbox.selectors.for_apps import (
    ShopFacts,
    organisation_clock,
    organisation_member_names,
    shop_facts,
)
from monitoring.models import AlertChannel, AlertChannelKind, AlertKind, DeadlineKind, SlaAlert
from monitoring.sla.calendar import time_zone_or_utc

JSON_SIGNATURE_HEADER = "X-SCRM-Signature"
DELIVERY_HEADER = "X-SCRM-Delivery"


@dataclass(frozen=True)
class AlertText:
    """An alert in words (one language) and its facts for machines (``data``: ids, kinds,
    times, counts; the JSON webhook's ``data``)."""

    title: str
    lines: tuple[str, ...]
    link: str
    link_label: str
    language: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    body: bytes
    headers: dict[str, str]


# --- the words -------------------------------------------------------------------------------
def public_url(path: str) -> str:
    return f"{settings.SCRM_PUBLIC_URL.rstrip('/')}{path}"


def duration_text(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def local_time_text(at: datetime, time_zone: str) -> str:
    """``2026-12-03 17:00 Asia/Shanghai (UTC+08:00)``: the shop's wall clock and its zone."""
    time_zone = time_zone_or_utc(time_zone)  # a stale stored name never fails a delivery
    local = at.astimezone(ZoneInfo(time_zone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {time_zone} (UTC{offset[:3]}:{offset[3:]})"


def _what(alert: SlaAlert, target: str) -> str:
    if alert.kind == AlertKind.WARNING:
        return _("%(target)s due in %(duration)s") % {
            "target": target,
            "duration": duration_text(alert.threshold_minutes),
        }
    if alert.kind == AlertKind.BREACH:
        return _("%(target)s breached: the answer is overdue") % {"target": target}
    count = int(alert.data.get("open_count") or 0)
    return ngettext(
        "Same-day digest: %(count)d request still open at the end of the working day",
        "Same-day digest: %(count)d requests still open at the end of the working day",
        count,
    ) % {"count": count}


def _subject_link(alert: SlaAlert) -> tuple[str, str, dict[str, Any]]:
    """The link, its label and the subject's ids (conversation, case, or none: a digest)."""
    deadline = alert.deadline
    if deadline is not None and deadline.conversation_id is not None:
        path = reverse("inbox:conversation", args=[deadline.conversation_id])
        ids = {"subject": "conversation", "subject_id": deadline.conversation_id}
        return public_url(path), _("Open the conversation"), ids
    if deadline is not None and deadline.case_id is not None:
        path = reverse("panel:case", args=[deadline.case_id])
        ids = {"subject": "case", "subject_id": deadline.case_id}
        return public_url(path), _("Open the after-sales case"), ids
    return public_url(reverse("inbox:workspace")), _("Open the inbox"), {"subject": None}


def alert_text(alert: SlaAlert) -> AlertText:
    """The alert in its organisation's language (no personal data: see the module's doc)."""
    if alert.kind == AlertKind.FOLLOW_UP:
        return follow_up_text(alert)
    if alert.kind == AlertKind.TREND:
        from monitoring.problems.alerts import trend_text

        return trend_text(alert)
    shop = shop_facts(int(alert.shop_account_id or 0))  # only a follow-up may be of no shop
    names = (
        organisation_member_names(shop.organisation_id, {alert.assignee_id})
        if alert.assignee_id
        else {}
    )
    deadline = alert.deadline
    holders: list[dict[str, Any]] = []
    with translation.override(shop.organisation_language):
        target = str(DeadlineKind(deadline.kind).label) if deadline is not None else ""
        what = _what(alert, target)
        lines = [_("Shop: %(shop)s") % {"shop": shop.name}, what]
        if deadline is not None:
            due = local_time_text(deadline.due_at, shop.time_zone)
            lines.append(_("Due: %(due)s") % {"due": due})
            assignee = names.get(alert.assignee_id or 0) or _("unassigned")
            lines.append(_("Assigned to: %(name)s") % {"name": assignee})
        else:
            if alert.digest_date:
                lines.append(_("Day: %(date)s") % {"date": alert.digest_date.isoformat()})
            holders = _digest_holders(alert, shop.organisation_id)
            lines += [_("%(name)s: %(count)d open") % h for h in holders]
            overdue = int(alert.data.get("overdue_deadlines") or 0)
            if overdue:
                lines.append(_("Overdue: %(count)d") % {"count": overdue})
        if alert.escalated:
            lines.append(_("The shop's supervisors were told."))
        link, label, ids = _subject_link(alert)
        title = _("SLA: %(what)s (%(shop)s)") % {"what": _kind_label(alert.kind), "shop": shop.name}
    data = {
        **_facts(alert, shop, names.get(alert.assignee_id or 0)),
        **ids,
        "holders": holders if deadline is None else None,
        "url": link,
    }
    return AlertText(title, tuple(lines), link, label, shop.organisation_language, data)


def follow_up_text(alert: SlaAlert) -> AlertText:
    """A follow-up reminder: the shop (if any), the customer's number (never a name or what
    was promised), when it was due in the shop's time, its owner, and the profile's link."""
    customer_id = int(alert.data.get("customer_id") or 0)
    due_at = datetime.fromisoformat(str(alert.data["due_at"])) if alert.data.get("due_at") else None
    shop = shop_facts(alert.shop_account_id) if alert.shop_account_id is not None else None
    organisation_id = alert.organisation_id
    if shop is not None:
        language, time_zone = shop.organisation_language, shop.time_zone
    else:
        language, time_zone = organisation_clock(organisation_id)
    names = (
        organisation_member_names(organisation_id, {alert.assignee_id}) if alert.assignee_id else {}
    )
    owner = names.get(alert.assignee_id or 0)
    with translation.override(language):
        lines = [_("Shop: %(shop)s") % {"shop": shop.name}] if shop is not None else []
        lines.append(_("Follow-up due: customer #%(customer)s") % {"customer": customer_id})
        if due_at is not None:
            lines.append(_("Due: %(due)s") % {"due": local_time_text(due_at, time_zone)})
        if owner:
            lines.append(_("Owner: %(name)s") % {"name": owner})
        if alert.escalated:
            lines.append(_("Its owner can no longer be told: the supervisors were."))
        link = public_url(reverse("customers:profile", args=[customer_id]))
        label = _("Open the customer")
        where = shop.name if shop is not None else _("all shops")
        title = _("Follow-up due (%(shop)s)") % {"shop": where}
    data = {
        "alert_id": alert.id,
        "kind": alert.kind,
        "shop_account_id": alert.shop_account_id,
        "shop_name": shop.name if shop is not None else None,
        "subject": "customer",
        "subject_id": customer_id,
        "follow_up_id": alert.follow_up_id,
        "due_at": due_at.isoformat() if due_at is not None else None,
        "time_zone": time_zone,
        "escalated": alert.escalated,
        "assignee": owner,
        "url": link,
    }
    return AlertText(title, tuple(lines), link, label, language, data)


def _facts(alert: SlaAlert, shop: ShopFacts, assignee: str | None) -> dict[str, Any]:
    """The alert for machines (the JSON webhook): ids, kinds, times, counts."""
    deadline = alert.deadline
    return {
        "alert_id": alert.id,
        "kind": alert.kind,
        "shop_account_id": alert.shop_account_id,
        "shop_name": shop.name,
        "deadline_kind": deadline.kind if deadline is not None else None,
        "due_at": deadline.due_at.isoformat() if deadline is not None else None,
        "time_zone": shop.time_zone,
        "threshold_minutes": alert.threshold_minutes,
        "escalated": alert.escalated,
        "assignee": assignee,
        "digest_date": alert.digest_date.isoformat() if alert.digest_date else None,
        "open_count": alert.data.get("open_count") if alert.kind == AlertKind.DIGEST else None,
    }


def _digest_holders(alert: SlaAlert, organisation_id: int) -> list[dict[str, Any]]:
    """Who holds a digest's open requests (``data["by_holder"]``: user id or "unassigned" →
    count), by display name, most first; call inside the language's override."""
    counts = {str(k): int(v) for k, v in (alert.data.get("by_holder") or {}).items()}
    ids = {int(k) for k in counts if k.isdigit()}
    names = organisation_member_names(organisation_id, ids) if ids else {}
    holders = []
    for key, count in counts.items():
        known = names.get(int(key)) if key.isdigit() else _("unassigned")
        name = known or _("a former member")
        holders.append({"name": name, "count": count})
    return sorted(holders, key=lambda h: (-h["count"], h["name"]))


def _kind_label(kind: str) -> str:
    return {
        AlertKind.WARNING: _("Warning"),
        AlertKind.BREACH: _("Breached"),
        AlertKind.DIGEST: _("Same-day digest"),
        AlertKind.FOLLOW_UP: _("Follow-up due"),
        AlertKind.TREND: _("Problem trend"),
    }.get(AlertKind(kind), kind)


def test_alert_text(channel: AlertChannel, *, language: str) -> AlertText:
    """What "send a test alert" sends: says it is a test, names the channel, links the inbox."""
    with translation.override(language):
        title = _("SLA: test alert (%(channel)s)") % {"channel": channel.name}
        lines = (
            _("This is a test from the SCRM inbox: SLA alerts will arrive here."),
            _("Channel: %(channel)s") % {"channel": channel.name},
        )
        link, label = public_url(reverse("inbox:workspace")), _("Open the inbox")
    data = {"test": True, "channel_id": channel.id, "url": link}
    return AlertText(title, lines, link, label, language, data)


# --- signatures ------------------------------------------------------------------------------
def feishu_sign(timestamp: int, secret: str) -> str:
    """Feishu/Lark custom bot signing ("签名校验", https://open.feishu.cn/document/client-docs/
    bot-v3/add-custom-bot, "Signature verification"): ``timestamp + "\\n" + secret`` is the
    HMAC-SHA256 *key* over an empty message, Base64-encoded; the timestamp in seconds, within an
    hour of Feishu's clock. Both go in the JSON body as ``"timestamp"`` (a string) and
    ``"sign"``."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk custom robot signing ("加签", https://open.dingtalk.com/document/robots/
    customize-robot-security-settings): HMAC-SHA256 keyed by the secret (the ``SEC...`` string)
    over ``timestamp + "\\n" + secret``, Base64-encoded; the timestamp in milliseconds, within
    an hour. Both go in the URL's query as ``timestamp`` and ``sign`` (URL-encoded there)."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def json_signature(timestamp: int, body: bytes, secret: str) -> str:
    """Our JSON webhook's header value: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of
    "<t>.<body>" keyed by the channel's secret>`` (Stripe's scheme: the receiver recomputes it
    and rejects an old ``t``, so a captured request cannot be replayed later)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


# --- the channels' requests ------------------------------------------------------------------
def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def feishu_request(url: str, secret: str, text: AlertText, *, now: float) -> WebhookRequest:
    """A rich-text ("post") message with a link; signed when the bot has a secret."""
    language = "zh_cn" if text.language.startswith("zh") else "en_us"
    rows: list[list[dict[str, str]]] = [[{"tag": "text", "text": line}] for line in text.lines]
    rows.append([{"tag": "a", "text": text.link_label, "href": text.link}])
    payload: dict[str, Any] = {
        "msg_type": "post",
        "content": {"post": {language: {"title": text.title, "content": rows}}},
    }
    if secret:
        timestamp = int(now)
        payload = {"timestamp": str(timestamp), "sign": feishu_sign(timestamp, secret), **payload}
    return WebhookRequest(url, _dumps(payload), {})


def _markdown_escape(value: str) -> str:
    return re.sub(r"([\\`*_\[\]#>])", r"\\\1", value)


def dingtalk_request(url: str, secret: str, text: AlertText, *, now: float) -> WebhookRequest:
    """A markdown message with a link; signed in the query when the robot has a secret."""
    body = "\n\n".join(
        [f"#### {_markdown_escape(text.title)}"]
        + [f"- {_markdown_escape(line)}" for line in text.lines]
        + [f"[{_markdown_escape(text.link_label)}]({text.link})"]
    )
    payload = {"msgtype": "markdown", "markdown": {"title": text.title, "text": body}}
    if secret:
        timestamp_ms = int(now * 1000)
        extra = urlencode({"timestamp": timestamp_ms, "sign": dingtalk_sign(timestamp_ms, secret)})
        parts = urlsplit(url)
        query = f"{parts.query}&{extra}" if parts.query else extra
        url = urlunsplit(parts._replace(query=query))
    return WebhookRequest(url, _dumps(payload), {})


def _slack_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_request(url: str, text: AlertText) -> WebhookRequest:
    """An incoming-webhook message: ``text`` (the notification's fallback) and ``blocks``."""
    lines = "\n".join(_slack_escape(line) for line in text.lines)
    link = f"<{text.link}|{_slack_escape(text.link_label)}>"
    payload = {
        "text": f"{text.title}: {' / '.join(text.lines)}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": text.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{lines}\n{link}"}},
        ],
    }
    return WebhookRequest(url, _dumps(payload), {})


def json_request(
    url: str, secret: str, text: AlertText, *, delivery: str, now: float
) -> WebhookRequest:
    """``{"type": "sla.alert", "data": {...}}``; with a secret, signed in ``X-SCRM-Signature``.
    ``X-SCRM-Delivery`` names the delivery, the same on every attempt, so a receiver can drop
    a repeat (a timeout after it acted makes us try again)."""
    data = {**text.data, "title": text.title, "text": "\n".join(text.lines)}
    body = _dumps({"type": "sla.alert", "data": data})
    headers = {DELIVERY_HEADER: delivery}
    if secret:
        headers[JSON_SIGNATURE_HEADER] = json_signature(int(now), body, secret)
    return WebhookRequest(url, body, headers)


def email_addresses(target: str) -> list[str]:
    return [a for a in re.split(r"[\s,;]+", target) if a]


def email_message(target: str, text: AlertText) -> EmailMessage:
    """A plain-text e-mail in the organisation's language to the channel's addresses."""
    body = "\n".join([*text.lines, "", f"{text.link_label}: {text.link}", ""])
    return EmailMessage(subject=text.title, body=body, to=email_addresses(target))


def webhook_request(
    channel: AlertChannel, text: AlertText, *, delivery: str, now: float | None = None
) -> WebhookRequest:
    """The request a webhook channel's kind sends for ``text`` (not for e-mail)."""
    now = time.time() if now is None else now
    kind = channel.kind
    if kind == AlertChannelKind.FEISHU:
        return feishu_request(channel.target, channel.secret, text, now=now)
    if kind == AlertChannelKind.DINGTALK:
        return dingtalk_request(channel.target, channel.secret, text, now=now)
    if kind == AlertChannelKind.SLACK:
        return slack_request(channel.target, text)
    if kind == AlertChannelKind.WEBHOOK:
        return json_request(channel.target, channel.secret, text, delivery=delivery, now=now)
    raise ValueError(f"not a webhook channel: {kind}")


# --- what the bots answer --------------------------------------------------------------------
# Rate limits (worth a later attempt): Feishu's custom bot 11232 (frequency limited), DingTalk's
# 130101 (sending too fast). Any other non-zero code is definitive (a bad signature: Feishu
# 19021, DingTalk 310000; keyword or IP not allowed; a removed bot).
RETRYABLE_CODES = {AlertChannelKind.FEISHU: {11232}, AlertChannelKind.DINGTALK: {130101}}


def vendor_refusal(kind: str, body: bytes) -> tuple[str, bool] | None:
    """A bot's error in a 200 answer, as (reason, retryable), or None when it accepted.

    Feishu answers ``{"code": 0, "msg": "success"}`` (older bots ``{"StatusCode": 0}``) and a
    non-zero ``code`` on errors; DingTalk ``{"errcode": 0, "errmsg": "ok"}``."""
    if kind not in (AlertChannelKind.FEISHU, AlertChannelKind.DINGTALK):
        return None
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    if kind == AlertChannelKind.FEISHU:
        code, message, vendor = answer.get("code", answer.get("StatusCode", 0)), "msg", "Feishu"
    else:
        code, message, vendor = answer.get("errcode", 0), "errmsg", "DingTalk"
    if not code:
        return None
    text = str(answer.get(message) or answer.get("StatusMessage") or "")[:200]
    reason = f"{vendor} refused the message (code {code}): {text}".strip()
    return reason, code in RETRYABLE_CODES.get(AlertChannelKind(kind), set())
