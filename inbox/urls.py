from django.urls import path

from inbox import api

app_name = "inbox_api"

urlpatterns = [
    path("auth/token/", api.AuthTokenView.as_view(), name="auth-token"),
    path("me/", api.MeView.as_view(), name="me"),
    path("shop-accounts/", api.ShopAccountList.as_view(), name="shop-account-list"),
    path("shop-accounts/<int:pk>/", api.ShopAccountDetail.as_view(), name="shop-account-detail"),
    path("memberships/", api.MembershipList.as_view(), name="membership-list"),
    path("memberships/<int:pk>/", api.MembershipDetail.as_view(), name="membership-detail"),
]
