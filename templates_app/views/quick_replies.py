"""The quick replies: the list with its search and filters, create, edit or read, archive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from inbox.selectors.for_apps import ActingMember, acting_member, shops_for
from scrm.api import Forbidden, NotFound, ServiceError
from templates_app import rendering, selectors, services
from templates_app.forms import PAGE_LANGUAGES, QuickReplyForm, language_name
from templates_app.models import QuickReply, Scope
from templates_app.views._pages import (
    PAGE_SIZE,
    STATUSES,
    back_to,
    choice,
    cursor_from,
    library_page,
    render_page,
    scopes_for,
    team_shops,
)


@library_page
def quick_reply_list(request: HttpRequest) -> HttpResponse:
    """The library: search and filters, most used first, 50 a page."""
    member = acting_member(request.user)
    q = request.GET
    filters = {
        "q": q.get("q", "")[:200],
        "scope": choice(q.get("scope"), Scope.values),
        "category": q.get("category", "")[:60],
        "language": choice(q.get("language"), PAGE_LANGUAGES),
        "status": choice(q.get("status"), STATUSES, "active"),
    }
    page = selectors.quick_reply_page_for(
        request.user,
        search=filters["q"],
        category=filters["category"],
        scope=filters["scope"],
        include_archived=filters["status"] == "all",
        archived_only=filters["status"] == "archived",
        language=filters["language"],
        after=cursor_from(q.get("cursor")),
        limit=PAGE_SIZE,
    )
    shop_names = {s.id: s.name for s in shops_for(request.user)}
    rows = [
        {
            "reply": entry.reply,
            "shops": [shop_names[i] for i in entry.shop_ids if i in shop_names],
            "languages": [language_name(code) for code in entry.reply.bodies],
            "uses": page.view.usage_of(entry),
            "can_manage": selectors.can_manage(member, entry.reply),
        }
        for entry in page.entries
    ]
    next_query = None
    if page.next_after:
        following = q.copy()
        following["cursor"] = "{}.{}".format(*page.next_after)
        next_query = following.urlencode()
    return render_page(
        request,
        "quick_replies.html",
        "replies",
        {
            "rows": rows,
            "filters": filters,
            "filtered": any(filters[k] for k in ("q", "scope", "category", "language"))
            or filters["status"] != "active",
            "first_page": not q.get("cursor"),
            "next_query": next_query,
            "scopes": Scope.choices,
            "categories": selectors.quick_reply_categories_for(request.user),
            "language_choices": [(code, language_name(code)) for code in PAGE_LANGUAGES],
            "statuses": [
                ("active", _("Active")),
                ("archived", _("Archived")),
                ("all", _("All")),
            ],
        },
    )


def _form(request: HttpRequest, member: ActingMember, **kwargs: Any) -> QuickReplyForm:
    materials = list(selectors.material_list_for(request.user).order_by("name", "id"))
    extra = kwargs.pop("materials", [])
    known = {m.id for m in materials}
    return QuickReplyForm(
        request.POST if request.method == "POST" else None,
        scopes=scopes_for(member),
        shops=team_shops(request, member),
        materials=materials + [m for m in extra if m.id not in known],
        **kwargs,
    )


def _form_page(
    request: HttpRequest,
    form: QuickReplyForm,
    reply: QuickReply | None = None,
    status: int = 200,
) -> HttpResponse:
    return render_page(
        request,
        "quick_reply_form.html",
        "replies",
        {
            "form": form,
            "reply": reply,
            "variables": rendering.CATALOGUE.items(),
            "example_plain": "{{ name }}",
            "example_default": '{{ name | default:"text" }}',
            "other_versions": {
                code: text
                for code, text in (reply.bodies if reply else {}).items()
                if code not in PAGE_LANGUAGES
            },
        },
        status=status,
    )


def _saved(
    request: HttpRequest, form: QuickReplyForm, save: Callable[[], QuickReply], done: str
) -> QuickReply | None:
    """Run a service with the form's fields: its refusal goes beside the form's fields (None);
    done, the page says ``done`` next (with the shortcut)."""
    try:
        reply = save()
    except (Forbidden, NotFound):
        raise
    except ServiceError as exc:
        form.add_service_error(exc)
        return None
    messages.success(request, done % {"shortcut": reply.shortcut})
    return reply


@library_page
def quick_reply_new(request: HttpRequest) -> HttpResponse:
    """Create a quick reply (agents: a personal one)."""
    member = acting_member(request.user)
    initial = {"default_language": request.LANGUAGE_CODE, "scope": scopes_for(member)[0]}
    form = _form(request, member, initial=initial)
    if request.method == "POST" and form.is_valid():
        created = _saved(
            request,
            form,
            lambda: services.quick_reply_create(actor=request.user, **form.service_fields()),
            _("Quick reply /%(shortcut)s created."),
        )
        if created is not None:
            return redirect("quick_replies:list")
    return _form_page(request, form, status=400 if form.is_bound else 200)


@library_page
def quick_reply_edit(request: HttpRequest, quick_reply_id: int) -> HttpResponse:
    """One quick reply: its form for who manages it (else read only); archive, unarchive."""
    member = acting_member(request.user)
    reply = selectors.quick_reply_get(request.user, quick_reply_id)  # 404 if not theirs to see
    shop_ids, material_ids = selectors.quick_reply_relations([reply.id])[reply.id]
    attached = list(
        selectors.material_list_for(request.user, include_archived=True).filter(id__in=material_ids)
    )
    form = _form(
        request,
        member,
        initial=QuickReplyForm.initial_for(reply, shop_ids, material_ids),
        materials=attached,
    )
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action in ("archive", "unarchive"):
            change = (
                services.quick_reply_archive
                if action == "archive"
                else services.quick_reply_unarchive
            )
            change(actor=request.user, quick_reply_id=reply.id)
            done = _("Quick reply /%(shortcut)s archived.")
            if action == "unarchive":
                done = _("Quick reply /%(shortcut)s is back in the library.")
            messages.success(request, done % {"shortcut": reply.shortcut})
            return redirect(back_to(request, "quick_replies:list"))
        if action != "save":
            raise Http404
        if not selectors.can_manage(member, reply):  # as the service would answer
            raise PermissionDenied
        saved = form.is_valid() and _saved(
            request,
            form,
            lambda: services.quick_reply_update(
                actor=request.user,
                quick_reply_id=reply.id,
                **form.service_fields(keep=reply.translations or {}),
            ),
            _("Quick reply /%(shortcut)s saved."),
        )
        if saved:
            return redirect("quick_replies:edit", quick_reply_id=reply.id)
        return _form_page(request, form, reply, status=400)
    return (
        _form_page(request, form, reply)
        if selectors.can_manage(member, reply)
        else render_page(
            request,
            "quick_reply_detail.html",
            "replies",
            {
                "reply": reply,
                "versions": [(language_name(c), text) for c, text in reply.bodies.items()],
                "shops": [s.name for s in shops_for(request.user) if s.id in shop_ids],
                "materials": attached,
            },
        )
    )
