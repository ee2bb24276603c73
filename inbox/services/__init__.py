"""Every write of the inbox: one function per domain operation (see each module)."""

from inbox.services.accounts import membership_create, membership_delete

__all__ = ["membership_create", "membership_delete"]
