"""Customer profiles: a buyer's own fields, the organisation's custom fields, notes about the
buyer, follow-up records, and merging two profiles that are one person (docs/customers.md).

Every function is a service: keyword-only, transactional, audited with ids only (never a
value), scoped by ``inbox.selectors.profiles.customer_visible`` (outside it: 404)."""

from inbox.services.profiles.fields import (
    customer_field_archive,
    customer_field_create,
    customer_field_update,
)
from inbox.services.profiles.followups import (
    follow_up_complete,
    follow_up_create,
    follow_up_reopen,
)
from inbox.services.profiles.merge import customer_merge, customer_merge_undo
from inbox.services.profiles.notes import customer_note_add, customer_note_delete
from inbox.services.profiles.update import customer_update

__all__ = [
    "customer_field_archive",
    "customer_field_create",
    "customer_field_update",
    "customer_merge",
    "customer_merge_undo",
    "customer_note_add",
    "customer_note_delete",
    "customer_update",
    "follow_up_complete",
    "follow_up_create",
    "follow_up_reopen",
]
