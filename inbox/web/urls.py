from django.urls import include, path

from inbox.web import views

app_name = "inbox"

urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("queue/", views.queue, name="queue"),
    path("queue/<int:conversation_id>/", views.queue_row, name="queue-row"),
    path("queue/case/<int:case_id>/", views.queue_case_row, name="queue-case-row"),
    path("c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("c/<int:conversation_id>/timeline/", views.timeline_fragment, name="timeline"),
    path("c/<int:conversation_id>/header/", views.conversation_header, name="header"),
    path("team/", views.team, name="team"),
    path("team/figures/", views.team_figures, name="team-figures"),
    path("manage/", include("inbox.web.manage_urls")),
    path("rules/", include("inbox.web.rules_urls")),
]
