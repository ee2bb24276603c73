from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TemplatesAppConfig(AppConfig):
    name = "templates_app"
    verbose_name = _("Quick replies")

    def ready(self) -> None:
        # A reply sent with a quick reply counts as its use (the inbox announces the reply and
        # never imports this app).
        from inbox.hooks import reply_submitted
        from templates_app.services import quick_reply_count_sent

        reply_submitted.subscribe(quick_reply_count_sent)
