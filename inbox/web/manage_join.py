"""The page where an invited person joins: anyone holding an invitation's link chooses a
username, a name and a password, becomes a member and is signed in (no JavaScript)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from inbox.models import Invitation, Role
from inbox.selectors.people import invitation_for_token
from inbox.services.invitations import invitation_accept, invitation_usable
from inbox.services.signin import signin_success_record
from scrm.api import NotFound, ServiceError

# The backend a person who just accepted an invitation is signed in with (they typed their
# password a moment ago, on this page).
MODEL_BACKEND = "scrm.auth.ModelBackend"


@sensitive_post_parameters("password", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept_page(request: HttpRequest, token: str) -> HttpResponse:
    """Anyone holding an invitation's link: choose a username, a name and a password, and join.
    An unknown link is a 404; a used, withdrawn or expired one says so (410)."""
    invitation = invitation_for_token(token)
    try:
        invitation_usable(invitation)
    except NotFound:
        raise Http404("Invitation not found.") from None
    except ServiceError as exc:
        return _accept_render(request, None, error=_(exc.message), status=exc.status_code)
    assert invitation is not None  # noqa: S101 - narrowed by invitation_usable
    if request.user.is_authenticated:
        return _accept_render(request, invitation, signed_in=True)
    if request.method == "GET":
        return _accept_render(request, invitation)
    error, status = "", 400
    if request.POST.get("password", "") != request.POST.get("password2", ""):
        error = _("The two passwords differ.")
    else:
        try:
            user = invitation_accept(
                token=token,
                username=request.POST.get("username", ""),
                display_name=request.POST.get("display_name", ""),
                password=request.POST.get("password", ""),
            )
        except ServiceError as exc:
            error, status = _(exc.message), exc.status_code
        else:
            login(request, user, backend=MODEL_BACKEND)
            signin_success_record(user=user, via="invitation", second_factor=False)
            messages.success(request, _("Welcome! You are now a member."))
            return redirect("home")
    return _accept_render(request, invitation, error=error, status=status)


def _accept_render(
    request: HttpRequest,
    invitation: Invitation | None,
    *,
    error: str = "",
    status: int = 200,
    signed_in: bool = False,
) -> HttpResponse:
    context = {
        "invitation": invitation,
        "role_label": dict(Role.choices).get(invitation.role, "") if invitation else "",
        "error": error,
        "signed_in": signed_in,
        "form": {
            "username": request.POST.get("username", "")[:150],
            "display_name": request.POST.get("display_name", "")[:100],
        },
    }
    # never_cache marks it no-store. The token in its URL never leaves as a referrer: the site's
    # policy is same-origin (SECURE_REFERRER_POLICY). Not no-referrer: Chromium then posts the
    # form with "Origin: null", which CSRF protection rightly refuses.
    return render(request, "inbox/manage/invitation_accept.html", context, status=status)
