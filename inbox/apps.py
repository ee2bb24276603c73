from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "inbox"
    verbose_name = _("Inbox")

    def ready(self) -> None:
        # Sign-in signals: every sign-in path (page, admin, token API, tests' force_login)
        # passes them; the receivers only call the services.
        from inbox import receivers  # noqa: F401

        # The inbox's outbox kinds (reply, mark_read): every process knows them before its
        # first delivery. Another app registers its kinds from its own ready() the same way.
        from inbox.services.outbox_kinds import register_kinds

        register_kinds()

        # The inbox's event kinds, registered before any event is published or shaped.
        from inbox import events  # noqa: F401

        # After-sales rules (issue 17): tried on every request that arrives or changes.
        from inbox.services.rules.hooks import rules_subscribe

        rules_subscribe()

        # The tag links' copies of their conversation's queue position are kept by triggers:
        # on SQLite out of the way of the migrations' table rebuilds, and made again after
        # (inbox/tag_links.py).
        from django.db.models.signals import post_migrate, pre_migrate

        pre_migrate.connect(_tag_links_before, sender=self)
        post_migrate.connect(_tag_links_ensure, sender=self)


def _tag_links_before(sender: AppConfig, using: str, **kwargs: object) -> None:
    from django.db import connections

    from inbox import tag_links

    tag_links.before_migrate(connections[using])


def _tag_links_ensure(sender: AppConfig, using: str, **kwargs: object) -> None:
    from django.db import connections

    from inbox import tag_links

    tag_links.ensure(connections[using])
