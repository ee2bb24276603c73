"""The buyer panel's after-sales and orders parts, and the case page.

- ``GET /inbox/c/<id>/cases/``: the buyer's cases in the conversation's shop (``?case=`` keeps
  one focused even when closed), each card with its approve/reject form;
- ``GET /inbox/c/<id>/orders/``: the buyer's orders, read through the orders service first
  (the cases' orders and the chat's order cards), the recipient masked;
- ``GET /inbox/cases/<id>/card/``: one card, for the live refresh on ``case.updated``;
- ``POST /inbox/cases/<id>/decide/``: the form, to ``after_sales_decide``; answers the card
  (200), or the card with the error shown in the form: 409 naming the state the case moved
  to, 400 naming the field;
- ``GET /inbox/cases/<id>/``: the case's conversation (found or opened through the platform)
  with the panel focused on the case; when no conversation can be opened, the case alone with
  a message saying why.

Each view parses input, calls selectors and services, and renders; the panel's script is
``static/inbox/panel.js``.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from inbox import selectors
from inbox.models import AfterSalesCase, Conversation, Order
from inbox.platforms.base import PlatformError
from inbox.selectors.aftersales import case_decisions, case_get
from inbox.selectors.deadlines import row_deadlines
from inbox.selectors.panel import (
    buyer_cases,
    buyer_orders,
    case_view,
    decisions_by_case,
    member_zone,
    order_card_ids,
    order_view,
    orders_by_id,
)
from inbox.services.aftersales_decisions import after_sales_decide, case_reject_reasons
from inbox.services.aftersales_links import case_conversation_ensure
from inbox.services.aftersales_options import MOVED_ON_MESSAGES, case_decision_options
from inbox.services.orders import orders_for
from scrm.api import NotFound, ServiceError
from scrm.pages import signed_in_page
from scrm.params import int_param

logger = logging.getLogger(__name__)

page = signed_in_page("GET")
form = signed_in_page("GET", "POST")

MAX_TEXT = 2000  # comment and message fields: longer is refused here, before the services


def _reasons(request: HttpRequest, case: AfterSalesCase) -> tuple[list[tuple[str, str]], bool]:
    """The platform's reject reasons for the case in the viewer's language: (name, label)
    pairs, and whether they could not be read (the form says so; the platform is asked
    again on the next render)."""
    try:
        found = case_reject_reasons(user=request.user, case_id=case.id, language=get_language())
    except (PlatformError, ServiceError) as exc:
        logger.info("reject reasons of case %s not read: %s", case.id, type(exc).__name__)
        return [], True
    pairs = []
    for item in found or []:
        if isinstance(item, dict):
            name, label = item.get("name", ""), item.get("label") or item.get("text", "")
        elif isinstance(item, (tuple, list)):
            name, label = item[0], item[1]
        else:
            name, label = getattr(item, "name", ""), getattr(item, "label", "")
        if name:
            pairs.append((str(name), str(label or name)))
    return pairs, False


def _card_context(
    request: HttpRequest,
    case: AfterSalesCase,
    *,
    zone: str,
    focus: int | None = None,
    error: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
    orders: dict[str, Order] | None = None,
    decisions: dict[int, list[tuple[Any, Any]]] | None = None,
    deadlines: dict[tuple[str, int], Any] | None = None,
) -> dict[str, Any]:
    """One card's context; ``orders``, ``decisions`` and ``deadlines``, when given, are the
    cards' batch (``orders_by_id``, ``decisions_by_case``, ``row_deadlines``), else this
    case's are read."""
    if orders is None:
        orders = orders_by_id(case.shop_account_id, [case.order_platform_id])
    view = case_view(case, viewer_zone=zone, order=orders.get(case.order_platform_id))
    view.options = case_decision_options(case)
    if any(o.takes_reason for o in view.options):
        view.reasons, view.reasons_error = _reasons(request, case)
    view.decisions = decisions.get(case.id, []) if decisions is not None else case_decisions(case)
    if deadlines is None:
        deadlines = row_deadlines(cases=[case], time_zone=case.shop_account.time_zone)
    case.deadline = deadlines.get(("case", case.id))  # type: ignore[attr-defined]
    return {
        "v": view,
        "case": case,
        "focused": focus == case.id,
        "moved_on": MOVED_ON_MESSAGES.get(error.get("state", "")) if error else None,
        "error": error,
        "values": values or {},
        "idempotency_key": (values or {}).get("idempotency_key") or uuid.uuid4().hex,
    }


def _fetch_orders(conversation: Conversation, cases: list[AfterSalesCase]) -> None:
    """Read the orders the panel needs (stale or missing only; failures show stored ones)."""
    ids = [c.order_platform_id for c in cases if c.order_platform_id]
    ids += order_card_ids(conversation)
    if ids:
        orders_for(
            shop=conversation.shop_account, order_ids=ids, chat_customer=conversation.customer
        )


def _learn_buyer(conversation: Conversation) -> None:
    """A chat buyer not yet known by their order-side id is learnt from the orders their
    order cards name (their cases name them by that id alone)."""
    if conversation.customer.platform_user_id:
        return
    ids = order_card_ids(conversation)
    if ids:
        orders_for(
            shop=conversation.shop_account, order_ids=ids, chat_customer=conversation.customer
        )


@page
def buyer_cases_fragment(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = selectors.conversation_get(request.user, conversation_id)
    _learn_buyer(conversation)
    focus = int_param(request.GET.get("case"), minimum=1)
    zone = member_zone(request.user)
    cases = list(buyer_cases(conversation, focus=focus))
    orders = orders_by_id(conversation.shop_account_id, [c.order_platform_id for c in cases])
    decisions = decisions_by_case([c.id for c in cases])
    deadlines = row_deadlines(cases=cases, time_zone=conversation.shop_account.time_zone)
    cards = [
        _card_context(
            request,
            c,
            zone=zone,
            focus=focus,
            orders=orders,
            decisions=decisions,
            deadlines=deadlines,
        )
        for c in cases
    ]
    return render(
        request, "inbox/_panel_cases.html", {"cards": cards, "conversation": conversation}
    )


@page
def buyer_orders_fragment(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = selectors.conversation_get(request.user, conversation_id)
    cases = list(buyer_cases(conversation))
    _fetch_orders(conversation, cases)
    ids = order_card_ids(conversation) + [c.order_platform_id for c in cases]
    orders = [order_view(o) for o in buyer_orders(conversation, ids)]
    return render(request, "inbox/_panel_orders.html", {"orders": orders})


def _case(request: HttpRequest, case_id: int) -> AfterSalesCase:
    return case_get(request.user, case_id)


@page
def case_card(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    focus = int_param(request.GET.get("focus"), minimum=1)
    context = _card_context(request, case, zone=member_zone(request.user), focus=focus)
    return render(request, "inbox/_case_card.html", context)


def _amount(raw: str) -> Decimal | None:
    raw = raw.strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ServiceError(
            _("Enter the amount as a number, for example 12.50."),
            code="invalid_amount",
            details={"field": "partial_refund_amount"},
        ) from None
    if not value.is_finite():
        raise ServiceError(
            _("Enter the amount as a number, for example 12.50."),
            code="invalid_amount",
            details={"field": "partial_refund_amount"},
        )
    return value


def _too_long(values: dict[str, str]) -> None:
    for name in ("comment", "message_text"):
        if len(values[name]) > MAX_TEXT:
            raise ServiceError(
                _("At most %(n)d characters.") % {"n": MAX_TEXT},
                code="too_long",
                details={"field": name},
            )


def _decide(request: HttpRequest, case: AfterSalesCase, values: dict[str, str]) -> None:
    _too_long(values)
    option = next((o for o in case_decision_options(case) if o.name == values["decision"]), None)
    after_sales_decide(
        user=request.user,
        case_id=case.id,
        verb=option.verb if option else values["verb"] or "approve",
        decision=values["decision"],
        reject_reason=values["reject_reason"],
        comment=values["comment"],
        partial_refund_amount=_amount(values["partial_refund_amount"]),
        images=[],
        message_text=values["message_text"],
        idempotency_key=values["idempotency_key"][:100],
        # the quick reply the picker put in the message: counted as used if it is sent
        quick_reply=(
            int_param(values["quick_reply_id"], minimum=1),
            values["quick_reply_language"],
        ),
    )


def _error(exc: ServiceError | PlatformError) -> dict[str, Any]:
    """What the form shows of a refusal. The platform failing to open the conversation for
    the buyer message (before anything is decided) is a 409 saying so, never a 5xx page."""
    if isinstance(exc, PlatformError):
        logger.info("decision not taken, platform: %s code %s", type(exc).__name__, exc.code)
        return {
            "status": 409,
            "code": "platform_unavailable",
            "message": _("The platform did not answer; nothing was decided. Try again."),
            "field": "",
            "state": "",
        }
    return {
        "status": exc.status_code,
        "code": exc.code,
        "message": exc.message,
        "field": str(exc.details.get("field", "")),
        "state": str(exc.details.get("state", "")),
    }


FIELDS = (
    "decision",
    "verb",
    "reject_reason",
    "comment",
    "partial_refund_amount",
    "message_text",
    "idempotency_key",
    "quick_reply_id",
    "quick_reply_language",
)


@form
def case_decide(request: HttpRequest, case_id: int) -> HttpResponse:
    """The card's approve/reject form. A script posts it (``X-Requested-With``) and swaps in
    the card answered; a plain form post goes back to the case page on success. A GET shows
    the card (its form)."""
    case = _case(request, case_id)
    if request.method == "GET":
        context = _card_context(request, case, zone=member_zone(request.user), focus=case.id)
        return render(request, "inbox/_case_card.html", context)
    values = {name: str(request.POST.get(name, ""))[: MAX_TEXT + 1] for name in FIELDS}
    by_script = request.headers.get("X-Requested-With") == "fetch"
    try:
        _decide(request, case, values)
    except (ServiceError, PlatformError) as exc:
        if isinstance(exc, ServiceError) and exc.status_code == 404:
            raise
        error = _error(exc)
        case = _case(request, case_id)  # what the service saw, e.g. moved on
        context = _card_context(
            request,
            case,
            zone=member_zone(request.user),
            focus=case.id,
            error=error,
            values=values,
        )
        template = "inbox/_case_card.html" if by_script else "inbox/case.html"
        return render(request, template, context, status=error["status"])
    if not by_script:
        return HttpResponseRedirect(reverse("panel:case", args=[case_id]), status=303)
    case = _case(request, case_id)
    context = _card_context(request, case, zone=member_zone(request.user), focus=case.id)
    return render(request, "inbox/_case_card.html", context)


@page
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    """The case's conversation with the panel on the case; the case alone when the platform
    cannot open a conversation with the buyer."""
    case = _case(request, case_id)
    problem = ""
    try:
        conversation = case_conversation_ensure(user=request.user, case_id=case.id)
    except NotFound:
        raise
    except ServiceError as exc:
        logger.info("no conversation for case %s: %s", case.id, exc.code)
        conversation, problem = None, exc.message
    except PlatformError as exc:  # its text is the platform's, not for agents
        logger.info("no conversation for case %s: %s", case.id, type(exc).__name__)
        conversation = None
    if conversation is not None:
        url = reverse("inbox:conversation", args=[conversation.id])
        return HttpResponseRedirect(f"{url}?case={case.id}")
    context = _card_context(request, case, zone=member_zone(request.user), focus=case.id)
    context["no_conversation"] = problem or _(
        "The platform could not open a conversation with this buyer."
    )
    # The page keeps a socket of its own (static/inbox/sla.js): the card and its SLA badge
    # follow the case live, as in the inbox.
    context["live_config"] = {
        "wsPath": "/ws/inbox/",
        "lastEventId": selectors.event_last_id(request.user),
    }
    return render(request, "inbox/case.html", context)
