"""Quick replies and materials; the project mounts these under ``/api/v1/templates/``."""

from django.urls import path

from templates_app import api

app_name = "templates_api"

urlpatterns = [
    path("", api.QuickReplyList.as_view(), name="quick-reply-list"),
    path("import/", api.QuickReplyImport.as_view(), name="quick-reply-import"),
    path("export/", api.QuickReplyExport.as_view(), name="quick-reply-export"),
    path("stats/", api.QuickReplyStats.as_view(), name="quick-reply-stats"),
    path("materials/", api.MaterialList.as_view(), name="material-list"),
    path("materials/<int:pk>/", api.MaterialDetail.as_view(), name="material-detail"),
    path("materials/<int:pk>/archive/", api.MaterialArchive.as_view(), name="material-archive"),
    path(
        "materials/<int:pk>/unarchive/",
        api.MaterialUnarchive.as_view(),
        name="material-unarchive",
    ),
    path("materials/<int:pk>/download/", api.MaterialDownload.as_view(), name="material-download"),
    path("<int:pk>/", api.QuickReplyDetail.as_view(), name="quick-reply-detail"),
    path("<int:pk>/archive/", api.QuickReplyArchive.as_view(), name="quick-reply-archive"),
    path("<int:pk>/unarchive/", api.QuickReplyUnarchive.as_view(), name="quick-reply-unarchive"),
    path("<int:pk>/render/", api.QuickReplyRender.as_view(), name="quick-reply-render"),
    path("<int:pk>/use/", api.QuickReplyUse.as_view(), name="quick-reply-use"),
]
