"""The quick-reply library's pages (``/quick-replies/``): quick replies, materials, import and
export, usage.

Everyone of an organisation may open them: supervisors and admins manage the organisation's
and teams' items, agents their personal ones and read the rest they may use. Each view parses
a plain form, calls one service or selector, and renders (no JavaScript). Who may do what is
decided in the selectors and services: outside one's reach is a 404, a change one may not make
a 403, a refused change the form again with the reasons (400).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from inbox.selectors.for_apps import ActingMember, ShopRef, acting_member, shops_for
from scrm.api import Forbidden, NotFound, ServiceError
from templates_app import exchange, rendering, selectors, services
from templates_app.forms import (
    PAGE_LANGUAGES,
    ImportForm,
    MaterialLinkForm,
    MaterialUploadForm,
    QuickReplyForm,
    language_name,
)
from templates_app.models import MaterialKind, QuickReply, Scope

View = Callable[..., HttpResponse]
PAGE_SIZE = 50
STATUSES = ("active", "archived", "all")
USAGE_DAYS = (7, 30, 90)


def library_page(view: View) -> View:
    """Signed in, GET or POST, never cached; the selectors' and services' NotFound and
    Forbidden become the 404 and 403 pages."""

    @login_required
    @never_cache
    @require_http_methods(["GET", "POST"])
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from None

    return wrapper


def _page(
    request: HttpRequest, template: str, tab: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    member = acting_member(request.user)
    return render(
        request,
        f"templates_app/{template}",
        {"nav": "quick-replies", "tab": tab, "member": member, **context},
        status=status,
    )


def _scopes(member: ActingMember) -> list[str]:
    if member.sees_all_shops:
        return [Scope.ORGANISATION, Scope.TEAM, Scope.PERSONAL]
    return [Scope.PERSONAL]


def _shops(request: HttpRequest, member: ActingMember) -> list[ShopRef]:
    # Only supervisors and admins give items to teams
    return shops_for(request.user) if member.sees_all_shops else []


def _choice(value: str | None, allowed: tuple[str, ...] | list[str], default: str = "") -> str:
    return value if value is not None and value in allowed else default


def _cursor(raw: str | None) -> tuple[int, int] | None:
    """``<usage>.<id>`` of the last row shown; anything else starts at the first page."""
    usage, _, last_id = (raw or "").partition(".")
    if usage.isdigit() and last_id.isdigit() and len(raw or "") <= 40:
        return int(usage), int(last_id)
    return None


# --- quick replies ---------------------------------------------------------------------------


@library_page
def quick_reply_list(request: HttpRequest) -> HttpResponse:
    """The library: search and filters, most used first, 50 a page."""
    member = acting_member(request.user)
    q = request.GET
    filters = {
        "q": q.get("q", "")[:200],
        "scope": _choice(q.get("scope"), Scope.values),
        "category": q.get("category", "")[:60],
        "language": _choice(q.get("language"), PAGE_LANGUAGES),
        "status": _choice(q.get("status"), STATUSES, "active"),
    }
    page = selectors.quick_reply_page_for(
        request.user,
        search=filters["q"],
        category=filters["category"],
        scope=filters["scope"],
        include_archived=filters["status"] == "all",
        archived_only=filters["status"] == "archived",
        language=filters["language"],
        after=_cursor(q.get("cursor")),
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
    return _page(
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
        scopes=_scopes(member),
        shops=_shops(request, member),
        materials=materials + [m for m in extra if m.id not in known],
        **kwargs,
    )


def _form_page(
    request: HttpRequest,
    form: QuickReplyForm,
    reply: QuickReply | None = None,
    status: int = 200,
) -> HttpResponse:
    return _page(
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


@library_page
def quick_reply_new(request: HttpRequest) -> HttpResponse:
    """Create a quick reply (agents: a personal one)."""
    member = acting_member(request.user)
    initial = {"default_language": request.LANGUAGE_CODE, "scope": _scopes(member)[0]}
    form = _form(request, member, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            reply = services.quick_reply_create(actor=request.user, **form.service_fields())
        except (Forbidden, NotFound):
            raise
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(
                request, _("Quick reply /%(shortcut)s created.") % {"shortcut": reply.shortcut}
            )
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
            return redirect(_back(request, "quick_replies:list"))
        if action != "save":
            raise Http404
        if not selectors.can_manage(member, reply):  # as the service would answer
            raise PermissionDenied
        if form.is_valid():
            try:
                services.quick_reply_update(
                    actor=request.user,
                    quick_reply_id=reply.id,
                    **form.service_fields(keep=reply.translations or {}),
                )
            except (Forbidden, NotFound):
                raise
            except ServiceError as exc:
                form.add_service_error(exc)
            else:
                messages.success(
                    request, _("Quick reply /%(shortcut)s saved.") % {"shortcut": reply.shortcut}
                )
                return redirect("quick_replies:edit", quick_reply_id=reply.id)
        return _form_page(request, form, reply, status=400)
    return (
        _form_page(request, form, reply)
        if selectors.can_manage(member, reply)
        else _page(
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


def _back(request: HttpRequest, default: str) -> str:
    """Where a row's button returns to: the list it was pressed in (same site paths only)."""
    back = request.POST.get("next", "")
    if back.startswith("/quick-replies/") and "//" not in back and "\\" not in back:
        return back
    return default


# --- import and export -----------------------------------------------------------------------


@library_page
def import_export(request: HttpRequest) -> HttpResponse:
    """Export the quick replies one manages (the API's files); import a file of them, all or
    nothing."""
    form = ImportForm(request.POST or None, request.FILES or None)
    result: dict[str, Any] | None = None
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows = exchange.from_upload(upload.name, upload.read())
                result = services.quick_reply_import(actor=request.user, rows=rows)
                status = 200
            except exchange.ExchangeError as exc:
                errors.append(_("The file could not be read: %(reason)s") % {"reason": exc})
            except (Forbidden, NotFound):
                raise
            except ServiceError as exc:
                errors = _import_errors(exc)
    return _page(
        request,
        "import_export.html",
        "exchange",
        {"form": form, "result": result, "errors": errors},
        status=status,
    )


def _import_errors(exc: ServiceError) -> list[str]:
    """One line per refused row (line numbers as a person counts them: the first row is 1)."""
    rows = (exc.details or {}).get("rows") or {}
    lines = []
    for index, problem in sorted(rows.items(), key=lambda item: int(item[0])):
        details = problem.get("details") or {}
        what = "; ".join(
            f"{field}: {' '.join(str(m) for m in messages)}"
            if isinstance(messages, list)
            else f"{field}: {messages}"
            for field, messages in details.items()
        )
        lines.append(_("Row %(row)s: %(problem)s") % {"row": int(index) + 1, "problem": what})
    return [_(exc.message), *lines]


# --- materials -------------------------------------------------------------------------------


@library_page
def material_list(request: HttpRequest) -> HttpResponse:
    """Materials one may use, newest first; upload a file or add a link."""
    member = acting_member(request.user)
    q = request.GET
    filters = {
        "q": q.get("q", "")[:200],
        "kind": _choice(q.get("kind"), MaterialKind.values),
        "status": _choice(q.get("status"), STATUSES, "active"),
    }
    scopes, shops = _scopes(member), _shops(request, member)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    upload = MaterialUploadForm(
        request.POST if action == "upload" else None,
        request.FILES if action == "upload" else None,
        scopes=scopes,
        shops=shops,
    )
    link = MaterialLinkForm(request.POST if action == "link" else None, scopes=scopes, shops=shops)
    status = 200
    if request.method == "POST":
        form = upload if action == "upload" else link if action == "link" else None
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                _material_create(request, action, form.cleaned_data)
                return redirect("quick_replies:materials")
            except (Forbidden, NotFound):
                raise
            except ServiceError as exc:
                form.add_error(None, _(exc.message))
        status = 400
    materials = list(
        selectors.material_list_for(
            request.user,
            search=filters["q"],
            kind=filters["kind"],
            include_archived=filters["status"] == "all",
            archived_only=filters["status"] == "archived",
        )[:200]
    )
    return _page(
        request,
        "materials.html",
        "materials",
        {
            "rows": [
                {"material": m, "can_manage": selectors.can_manage(member, m)} for m in materials
            ],
            "filters": filters,
            "kinds": MaterialKind.choices,
            "statuses": [("active", _("Active")), ("archived", _("Archived")), ("all", _("All"))],
            "upload_form": upload,
            "link_form": link,
        },
        status=status,
    )


def _material_create(request: HttpRequest, action: str, data: dict[str, Any]) -> None:
    common = {
        "actor": request.user,
        "name": data.get("name") or "",
        "scope": data["scope"],
        "shop_account_ids": list(data.get("shop_account_ids") or []),
    }
    if action == "upload":
        material, created = services.material_upload(content=data["file"], **common)
        if created:
            messages.success(request, _("“%(name)s” uploaded.") % {"name": material.name})
        else:
            messages.info(
                request, _("The same file is already here as “%(name)s”.") % {"name": material.name}
            )
    else:
        material = services.material_link_create(url=data["url"], **common)
        messages.success(request, _("Link “%(name)s” added.") % {"name": material.name})


@library_page
def material_detail(request: HttpRequest, material_id: int) -> HttpResponse:
    """One material: what it is, who may use it, the quick replies sending it; archive or
    bring it back."""
    member = acting_member(request.user)
    material = selectors.material_get(request.user, material_id)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ("archive", "unarchive"):
            raise Http404
        change = services.material_archive if action == "archive" else services.material_unarchive
        change(actor=request.user, material_id=material.id)
        done = _("“%(name)s” archived.") if action == "archive" else _("“%(name)s” is back.")
        messages.success(request, done % {"name": material.name})
        return redirect(_back(request, "quick_replies:materials"))
    shop_ids = selectors.material_shop_ids([material.id])[material.id]
    return _page(
        request,
        "material_detail.html",
        "materials",
        {
            "material": material,
            "can_manage": selectors.can_manage(member, material),
            "shops": [s.name for s in shops_for(request.user) if s.id in shop_ids],
            "replies": selectors.quick_replies_sending(request.user, material.id),
        },
    )


# --- usage -----------------------------------------------------------------------------------


@library_page
def usage(request: HttpRequest) -> HttpResponse:
    """Uses per quick reply and per person over the last days (supervisors and admins)."""
    days = int(_choice(request.GET.get("days"), [str(d) for d in USAGE_DAYS], "30"))
    stats = selectors.quick_reply_stats(request.user, days=days)  # 403 for agents
    return _page(
        request, "usage.html", "usage", {"stats": stats, "days": days, "choices": USAGE_DAYS}
    )
