from django.urls import path

from inbox.web import account

app_name = "account"

urlpatterns = [
    path("tokens/", account.tokens_page, name="tokens"),
    path("two-factor/", account.two_factor_page, name="two-factor"),
]
