from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Monitoring")

    def ready(self) -> None:
        # monitoring's event kinds (sla.alert, ...), registered before anything publishes.
        from monitoring import events  # noqa: F401
