"""The supervisors' word-list page, /monitoring/words/ (``?shop=<id>``: that shop's override):
words grouped by category with their action, each category's action, the allow-lists, CSV
import and export, and a "try a text" box (static/monitoring/words.js, which asks the screen
API and highlights what matched).

Supervisors and admins only: for anyone else, and for a shop outside reach, the page does not
exist (404). Each POST names its ``action``, calls one service and redirects back with what it
did; a refusal is the page again with the reason (and a CSV import's errors line by line).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET

from monitoring.models import AllowKind, WordAction, WordCategory
from monitoring.services.words import (
    WORD_CATEGORIES,
    allow_entry_add,
    allow_entry_remove,
    category_action_set,
    word_entry_add,
    word_entry_remove,
    word_entry_update,
)
from monitoring.services.words_csv import MAX_BYTES, entries_csv, word_list_import_csv
from monitoring.words.selectors import MAX_SCREEN_TEXT, word_list_entries, words_page
from scrm.api import Forbidden, NotFound, ServiceError
from scrm.pages import signed_in_page
from scrm.params import int_param

words_view = signed_in_page("GET", "POST", never_cached=True)


def _shop_param(request: HttpRequest) -> int | None:
    return int_param(request.GET.get("shop"), minimum=1)


def _back(shop_id: int | None) -> str:
    url = reverse("monitor:words")
    return f"{url}?shop={shop_id}" if shop_id else url


def say(exc: ServiceError) -> str:
    """A refusal's message in the reader's language, its placeholders filled."""
    text = _(exc.message)
    try:
        return text % exc.details if "%(" in text else text
    except (KeyError, TypeError, ValueError):
        return text


def _id(request: HttpRequest, name: str) -> int:
    return int_param(request.POST.get(name), minimum=1) or 0


def _act(request: HttpRequest, shop_id: int | None, organisation_id: int) -> str:
    """Do the POST's ``action``; the sentence that says it was done."""
    post, actor = request.POST, request.user
    action = post.get("action", "")
    if action == "add":
        word_entry_add(
            actor=actor,
            shop_account_id=shop_id,
            word=post.get("word", ""),
            category=post.get("category", ""),
            action=post.get("word_action", ""),
        )
        return _("Word added.")
    if action == "update":
        word_entry_update(
            actor=actor,
            shop_account_id=shop_id,
            entry_id=_id(request, "entry"),
            word=post.get("word", ""),
            category=post.get("category", ""),
            action=post.get("word_action", ""),
        )
        return _("Word saved.")
    if action == "remove":
        word_entry_remove(actor=actor, shop_account_id=shop_id, entry_id=_id(request, "entry"))
        return _("Word removed.")
    if action == "category":
        category_action_set(
            actor=actor,
            shop_account_id=shop_id,
            category=post.get("category", ""),
            action=post.get("category_action", ""),
        )
        return _("Category action saved.")
    if action == "allow_add":
        allow_entry_add(
            actor=actor,
            organisation_id=organisation_id,
            shop_account_id=shop_id,
            kind=post.get("kind", ""),
            value=post.get("value", ""),
        )
        return _("Added to the allow-list.")
    if action == "allow_remove":
        allow_entry_remove(
            actor=actor, shop_account_id=shop_id, allow_entry_id=_id(request, "allow")
        )
        return _("Removed from the allow-list.")
    if action == "import":
        upload = request.FILES.get("file")
        data = upload.read(MAX_BYTES + 1) if upload is not None else b""
        result = word_list_import_csv(actor=actor, shop_account_id=shop_id, data=data)
        return _("Imported: %(added)d added, %(updated)d changed, %(unchanged)d already there.") % {
            "added": result.added,
            "updated": result.updated,
            "unchanged": result.unchanged,
        }
    raise ServiceError(gettext_noop("Unknown action."), details={"field": "action"})


def _posted(
    request: HttpRequest, shop_id: int | None, act: Callable[[], str]
) -> tuple[HttpResponse | None, dict[str, Any]]:
    if request.method != "POST":
        return None, {"status": 200}
    try:
        done = act()
    except ServiceError as exc:
        if isinstance(exc, NotFound | Forbidden):
            raise
        errors = [
            {**e, "message": say(ServiceError(e["message"], details=e))}
            for e in exc.details.get("errors", [])
        ]
        return None, {
            "error": say(exc),
            "error_field": exc.details.get("field", ""),
            "import_errors": errors,
            "status": exc.status_code,
        }
    messages.success(request, done)
    return redirect(_back(shop_id)), {}


@words_view
def words_list_page(request: HttpRequest) -> HttpResponse:
    """The organisation's word list, or a shop's override (``?shop=``)."""
    shop_id = _shop_param(request)
    page = words_page(request.user, shop_id)  # 404 for agents and shops out of reach
    done, state = _posted(
        request, shop_id, lambda: _act(request, shop_id, page.member.organisation_id)
    )
    if done is not None:
        return done
    if request.method == "POST":
        page = words_page(request.user, shop_id)
    actions = [WordAction.BLOCK, WordAction.MASK, WordAction.FLAG]
    if shop_id is not None:
        actions.append(WordAction.ALLOW)
    context = {
        "member": page.member,
        "nav": "words",
        "page": page,
        "shop_id": shop_id,
        "actions": [(a.value, a.label) for a in actions],
        "word_categories": [c for c in page.categories if c.category in WORD_CATEGORIES],
        "allow_kinds": AllowKind.choices,
        "form": request.POST if state.get("error") else {},
        "max_text": MAX_SCREEN_TEXT,
        "try_shops": [row.shop for row in page.shops],
        "category_labels": {c.value: str(c.label) for c in WordCategory},
        **state,
    }
    return render(request, "monitoring/words/list.html", context, status=state["status"])


@signed_in_page("GET")
@require_GET
def words_export(request: HttpRequest) -> HttpResponse:
    """The list's words as CSV (word,category,action), cells safe for spreadsheets."""
    shop_id = _shop_param(request)
    text = entries_csv(word_list_entries(request.user, shop_id))
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    name = f"word-list-shop-{shop_id}.csv" if shop_id else "word-list.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
