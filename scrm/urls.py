from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from inbox import views as inbox_views
from inbox.web import account as account_views
from inbox.web import manage_join
from inbox.web import views as web_views
from scrm import views

urlpatterns = [
    path("", views.home, name="home"),
    # The buyer panel's after-sales and orders parts, and the case page (/inbox/cases/<id>/).
    path("inbox/", include("inbox.web.panel_urls")),
    path("inbox/", include("inbox.web.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    # Password, then the two-factor code when the person has it on (docs/security.md); the
    # admin signs in through the same page, so no path skips the code.
    path("login/", account_views.SignInView.as_view(), name="login"),
    path("login/verify/", account_views.signin_verify, name="login-verify"),
    path("admin/login/", account_views.SignInView.as_view(), name="admin-login"),
    path("account/", include("inbox.web.account_urls")),
    # An invited person joins here (no sign-in: the link is the credential).
    path("invitation/<str:token>/", manage_join.invitation_accept_page, name="invitation-accept"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The language menu: keeps a signed-in person's choice on their profile, then does what
    # Django's set_language (below, unused by our pages) does.
    path("i18n/language/", web_views.language_set, name="language-set"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("quick-replies/", include("templates_app.page_urls")),
    path("api/v1/templates/", include("templates_app.urls")),
    # The SLA tracker: settings pages, the bell, the at-risk view; and their API.
    path("sla/", include("monitoring.web.urls")),
    path("api/v1/sla/", include("monitoring.api_urls")),
    # The sensitive-word monitor, violations and the audit log: pages and API.
    path("monitoring/", include("monitoring.web.monitor_urls")),
    path("api/v1/monitoring/", include("monitoring.apis.urls")),
    # Customer profiles: pages and API (docs/customers.md).
    path("customers/", include("inbox.web.customers_urls")),
    path("api/v1/customers/", include("inbox.api.customers_urls")),
    # A buyer's data on request: the export and erasure (docs/customer-data.md).
    path("customers/", include("inbox.web.buyer_data")),
    path("api/v1/customers/", include("inbox.api.buyer_data")),
    path("api/v1/", include("inbox.urls")),
    # With or without the slash, as the ASGI ingress (inbox/ingress.py): APPEND_SLASH cannot
    # redirect a POST.
    re_path(r"^webhooks/(?P<platform>[-a-zA-Z0-9_]+)/?$", inbox_views.webhook, name="webhook"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script as a file (?script): no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

handler400 = "scrm.views.bad_request"
handler403 = "scrm.views.permission_denied"
handler404 = "scrm.views.page_not_found"
handler500 = "scrm.views.server_error"
