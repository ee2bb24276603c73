"""Materials: the list, upload, link, one material, archive."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from inbox.selectors.for_apps import acting_member, shops_for
from scrm.api import Forbidden, NotFound, ServiceError
from templates_app import selectors, services
from templates_app.forms import MaterialLinkForm, MaterialUploadForm
from templates_app.models import MaterialKind
from templates_app.views._pages import (
    STATUSES,
    back_to,
    choice,
    library_page,
    render_page,
    scopes_for,
    team_shops,
)


@library_page
def material_list(request: HttpRequest) -> HttpResponse:
    """Materials one may use, newest first; upload a file or add a link."""
    member = acting_member(request.user)
    q = request.GET
    filters = {
        "q": q.get("q", "")[:200],
        "kind": choice(q.get("kind"), MaterialKind.values),
        "status": choice(q.get("status"), STATUSES, "active"),
    }
    scopes, shops = scopes_for(member), team_shops(request, member)
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
    return render_page(
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
        return redirect(back_to(request, "quick_replies:materials"))
    shop_ids = selectors.material_shop_ids([material.id])[material.id]
    return render_page(
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
