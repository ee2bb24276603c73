"""The audit log (tamper-evident: row MACs and a per-organisation chain, docs/audit.md) and the
operators' security log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One agent or system action, append-only. ``data`` never holds personal fields.

    The row keeps its actor's id and name itself (no constraint, nothing cascades), so deleting
    or renaming a user changes no audit row; ``ip_digest`` is a keyed hash of the address
    (comparable, not readable); ``shop_account_id`` is the shop the action concerned, if any.
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.PROTECT, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(_("actor"), max_length=150, blank=True)
    shop_account_id = models.BigIntegerField(null=True, blank=True)
    ip_digest = models.CharField(_("address (keyed hash)"), max_length=32, blank=True)
    action = models.CharField(_("action"), max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Set before the insert (not auto_now_add): the row MAC covers it.
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    nonce = models.CharField(max_length=16, blank=True, editable=False)
    key_id = models.CharField(max_length=16, blank=True, editable=False)
    row_mac = models.CharField(max_length=64, blank=True, editable=False)
    seq = models.BigIntegerField(null=True, blank=True, editable=False)
    chain_mac = models.CharField(max_length=64, blank=True, editable=False)
    seal_key_id = models.CharField(max_length=16, blank=True, editable=False)
    sealed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["organisation", "-id"], name="audit_org_recent"),
            models.Index(fields=["organisation", "actor", "-id"], name="audit_org_actor"),
            models.Index(fields=["organisation", "action", "-id"], name="audit_org_action"),
            models.Index(
                fields=["organisation", "id"], condition=Q(seq=None), name="audit_unsealed"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "seq"], name="audit_org_seq_unique"),
            # A byte-for-byte copy of a row (same nonce, same MAC) is refused.
            models.UniqueConstraint(fields=["row_mac"], name="audit_row_mac_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"


class AuditChainHead(models.Model):
    """Where an organisation's chain ends: the last sealed ``seq`` and its ``chain_mac``. Its
    row is the sealer's lock (``SELECT ... FOR UPDATE SKIP LOCKED``): one sealer per
    organisation at a time, and writers never touch it."""

    organisation = models.OneToOneField(
        "inbox.Organisation", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    seq = models.BigIntegerField(default=0)
    mac = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain heads")

    def __str__(self) -> str:
        return f"{self.organisation_id}@{self.seq}"


class SecurityEvent(models.Model):
    """The operators' security log: sign-in events that belong to no organisation (a name that
    is no account, an account of no organisation). Append-only, read-only in the admin.

    The name tried is kept only as a keyed hash (``name_digest``, see scrm.signin.name_digest):
    attempted names are often mistyped passwords or someone's e-mail address. Equal names give
    equal digests, so a spray of one name shows, and an operator can hash a suspected name to
    find its rows.
    """

    kind = models.CharField(_("kind"), max_length=64)
    name_digest = models.CharField(_("name tried (keyed hash)"), max_length=32, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M}"
