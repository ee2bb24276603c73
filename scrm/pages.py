"""What every app's server-rendered pages share: the sign-in and error wrapper."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from scrm.api import Forbidden, NotFound

View = Callable[..., HttpResponse]


def signed_in_page(*methods: str, never_cached: bool = False) -> Callable[[View], View]:
    """A page for signed-in people (others go to sign in) answering ``methods`` (405 to the
    rest); the selectors' and services' NotFound and Forbidden become the 404 and 403 pages.
    ``never_cached``: for pages that show settings or forms that change."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(str(exc)) from None
            except Forbidden as exc:
                raise PermissionDenied(str(exc)) from None

        checked = require_http_methods(list(methods))(wrapped)
        return login_required(never_cache(checked) if never_cached else checked)

    return decorate
