"""The customer profile pages, under /customers/ (names in the ``customers`` namespace)."""

from django.urls import path

from inbox.web import customers

app_name = "customers"

urlpatterns = [
    path("", customers.customer_list_page, name="list"),
    path("fields/", customers.customer_fields_page, name="fields"),
    path("<int:customer_id>/", customers.customer_profile_page, name="profile"),
]
