"""The quick-reply library's pages; the project mounts them under ``/quick-replies/``."""

from django.urls import path

from templates_app import views

app_name = "quick_replies"

urlpatterns = [
    path("", views.quick_reply_list, name="list"),
    path("new/", views.quick_reply_new, name="new"),
    path("<int:quick_reply_id>/", views.quick_reply_edit, name="edit"),
    path("import-export/", views.import_export, name="exchange"),
    path("materials/", views.material_list, name="materials"),
    path("materials/<int:material_id>/", views.material_detail, name="material"),
    path("usage/", views.usage, name="usage"),
]
