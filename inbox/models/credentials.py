"""Credentials a person holds beyond their password: API tokens and the sessions they signed in.

Neither keeps a secret in the clear: a token is stored as the SHA-256 digest of its key (the key
is shown once, when it is made); a session row holds only the key of a session that the session
engine already stores, so that "log out everywhere" can end every one of them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """One API token (``Authorization: Token <key>``).

    Valid while not revoked, not expired, its user is active, and the user's password is the one
    it was made under (``password_fingerprint``: a keyed hash of the password hash, as Django's
    session auth hash, so a password change anywhere ends every token).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    # The key's first characters, shown to tell tokens apart; never enough to use one.
    prefix = models.CharField(_("prefix"), max_length=16)
    key_digest = models.CharField(max_length=64, unique=True)
    password_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["user", "-id"], name="apitoken_user_recent")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class SignInSession(models.Model):
    """The key of one session a user signed in (recorded at sign-in, forgotten at log-out), so
    that "log out everywhere" can delete each from whichever session engine holds it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("signed-in session")
        verbose_name_plural = _("signed-in sessions")

    def __str__(self) -> str:
        return f"session of user {self.user_id}"
