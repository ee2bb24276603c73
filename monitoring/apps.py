from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Monitoring")

    def ready(self) -> None:
        # monitoring's event kinds (sla.alert, ...), registered before anything publishes.
        from monitoring import events  # noqa: F401

        # SLA deadlines follow the conversation's state, the case's stage and robot replies.
        from monitoring.sla.lifecycle import subscribe as sla_deadlines_subscribe

        sla_deadlines_subscribe()

        # The shop-score metrics' facts follow the same moments (issue 17).
        from monitoring.metrics.facts import subscribe as metric_facts_subscribe

        metric_facts_subscribe()

        # New buyer messages are scanned for risk tags (the conversation's chips).
        from monitoring.services.buyer_risk import subscribe as buyer_risk_subscribe

        buyer_risk_subscribe()

        # A shop's new time zone recomputes its open deadlines (the SLA settings' services).
        from monitoring.services.sla_settings import subscribe as sla_settings_subscribe

        sla_settings_subscribe()

        # The problem log (issue 17): a closed case's record, its periodic tasks.
        from monitoring.problems.hooks import subscribe as problems_subscribe

        problems_subscribe()

        # monitoring's outbox kinds (sla_alert_delivery), known to every process before its
        # first delivery, as the inbox registers its own.
        from monitoring.sla.channels import register_kinds

        register_kinds()
