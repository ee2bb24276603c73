from django.apps import AppConfig


class ScrmConfig(AppConfig):
    name = "scrm"
    verbose_name = "SCRM"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from scrm.pg_datetimes import use_c_timestamps
        from scrm.pg_queries import widen_statement_cache

        connection_created.connect(use_c_timestamps, dispatch_uid="scrm.pg_datetimes")
        widen_statement_cache()
