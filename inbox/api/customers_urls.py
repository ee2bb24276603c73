"""/api/v1/customers/: the customer profiles API (inbox/api/customers.py)."""

from django.urls import path

from inbox.api import customers

app_name = "customers_api"

urlpatterns = [
    path("", customers.CustomerList.as_view(), name="customer-list"),
    path("fields/", customers.CustomerFieldList.as_view(), name="field-list"),
    path("fields/<int:pk>/", customers.CustomerFieldDetail.as_view(), name="field-detail"),
    path("merges/<int:pk>/undo/", customers.CustomerMergeUndo.as_view(), name="merge-undo"),
    path("<int:pk>/", customers.CustomerDetail.as_view(), name="customer-detail"),
    path("<int:pk>/timeline/", customers.CustomerTimeline.as_view(), name="customer-timeline"),
    path("<int:pk>/notes/", customers.CustomerNoteCreate.as_view(), name="note-create"),
    path(
        "<int:pk>/notes/<int:note_id>/",
        customers.CustomerNoteDetail.as_view(),
        name="note-detail",
    ),
    path("<int:pk>/follow-ups/", customers.FollowUpCreate.as_view(), name="follow-up-create"),
    path(
        "<int:pk>/follow-ups/<int:follow_up_id>/",
        customers.FollowUpDetail.as_view(),
        name="follow-up-detail",
    ),
    path("<int:pk>/merge/", customers.CustomerMergeCreate.as_view(), name="merge-create"),
]
