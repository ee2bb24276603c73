"""The management pages, under /inbox/manage/ (names in the ``inbox`` namespace)."""

from django.urls import path

from inbox.web import manage

urlpatterns = [
    path("", manage.manage_home, name="manage"),
    path("shops/", manage.shops_page, name="manage-shops"),
    path("shops/connect/", manage.shop_connect, name="manage-shop-connect"),
    path("shops/<int:shop_account_id>/", manage.shop_page, name="manage-shop"),
    path(
        "shops/<int:shop_account_id>/disconnect/",
        manage.shop_disconnect,
        name="manage-shop-disconnect",
    ),
    path("people/", manage.people_page, name="manage-people"),
    path("people/<int:user_id>/", manage.person_page, name="manage-person"),
    path("organisation/", manage.organisation_page, name="manage-organisation"),
]
