"""The project's URLs plus the quick-reply API, as the project will mount it."""

from django.urls import include, path

from scrm.urls import handler400, handler403, handler404, handler500
from scrm.urls import urlpatterns as project

urlpatterns = [path("api/v1/templates/", include("templates_app.urls")), *project]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
