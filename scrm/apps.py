from django.apps import AppConfig


class ScrmConfig(AppConfig):
    name = "scrm"
    verbose_name = "SCRM"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from scrm.pg_datetimes import use_c_timestamps

        connection_created.connect(use_c_timestamps, dispatch_uid="scrm.pg_datetimes")
