from django.urls import path

from inbox.api import accounts, aftersales, conversations, messages_search, queue, reveal, tokens
from inbox.api.rules_urls import urlpatterns as rules_urlpatterns

app_name = "inbox_api"

urlpatterns = [
    path("auth/token/", accounts.AuthTokenView.as_view(), name="auth-token"),
    path(
        "auth/logout-everywhere/",
        tokens.LogoutEverywhere.as_view(),
        name="auth-logout-everywhere",
    ),
    path("tokens/", tokens.TokenList.as_view(), name="token-list"),
    path("tokens/<int:pk>/", tokens.TokenDetail.as_view(), name="token-detail"),
    path("tokens/<int:pk>/rotate/", tokens.TokenRotate.as_view(), name="token-rotate"),
    path("me/", accounts.MeView.as_view(), name="me"),
    path("shop-accounts/", accounts.ShopAccountList.as_view(), name="shop-account-list"),
    path(
        "shop-accounts/<int:pk>/", accounts.ShopAccountDetail.as_view(), name="shop-account-detail"
    ),
    path("memberships/", accounts.MembershipList.as_view(), name="membership-list"),
    path("memberships/<int:pk>/", accounts.MembershipDetail.as_view(), name="membership-detail"),
    path("conversations/", conversations.ConversationList.as_view(), name="conversation-list"),
    path("conversations/bulk/", conversations.Bulk.as_view(), name="conversation-bulk"),
    path(
        "conversations/<int:pk>/",
        conversations.ConversationDetail.as_view(),
        name="conversation-detail",
    ),
    path(
        "conversations/<int:pk>/messages/",
        conversations.MessageList.as_view(),
        name="conversation-messages",
    ),
    path(
        "conversations/<int:pk>/messages/<int:message_id>/retry/",
        conversations.MessageRetry.as_view(),
        name="message-retry",
    ),
    path("conversations/<int:pk>/notes/", conversations.NoteCreate.as_view(), name="note-create"),
    path("conversations/<int:pk>/read/", conversations.MarkRead.as_view(), name="mark-read"),
    path("events/", conversations.EventList.as_view(), name="event-list"),
    path("messages/search/", messages_search.MessageSearch.as_view(), name="message-search"),
    path("queue/", queue.QueueList.as_view(), name="queue-list"),
    path("after-sales/", aftersales.CaseList.as_view(), name="case-list"),
    path("after-sales/<int:pk>/", aftersales.CaseDetail.as_view(), name="case-detail"),
    path(
        "after-sales/<int:pk>/reject-reasons/",
        aftersales.CaseRejectReasons.as_view(),
        name="case-reject-reasons",
    ),
    path("after-sales/<int:pk>/approve/", aftersales.CaseApprove.as_view(), name="case-approve"),
    path("after-sales/<int:pk>/reject/", aftersales.CaseReject.as_view(), name="case-reject"),
    path("reveal/", reveal.RevealCreate.as_view(), name="reveal"),
]
# After-sales rules and compensation suggestions (issue 17).
urlpatterns += rules_urlpatterns
