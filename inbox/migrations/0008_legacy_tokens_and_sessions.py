"""Existing credentials move to the new models.

* DRF authtoken keys (stored in the clear in ``authtoken_token``) become ApiToken rows holding
  only the key's SHA-256 digest, so clients keep working with the key they have, for
  ``SCRM_API_TOKEN_DAYS`` from now, or until the password changes. The plaintext rows are then
  deleted. The authtoken app is no longer installed, so its table is read with plain SQL when it
  exists (an older database) and skipped when it does not (a new one).
* Sessions already signed in are recorded per user, so "log out everywhere" ends them too.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone
from django.utils.crypto import salted_hmac


def _fingerprint(password):
    # Same as inbox.auth.password_fingerprint at the time of writing (kept here on purpose: a
    # migration must not change when the app's code does).
    return salted_hmac(
        "scrm.inbox.ApiToken.password", password, algorithm="sha256"
    ).hexdigest()


def move_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("inbox", "ApiToken")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        rows = cursor.fetchall()
    now = timezone.now()
    expires = now + timedelta(days=getattr(settings, "SCRM_API_TOKEN_DAYS", 90))
    passwords = dict(User.objects.filter(pk__in=[r[1] for r in rows]).values_list("pk", "password"))
    for key, user_id, created in rows:
        if user_id not in passwords:
            continue
        token = ApiToken.objects.create(
            user_id=user_id,
            name="API (from before hashed tokens)",
            prefix=key[:8],
            key_digest=hashlib.sha256(key.encode()).hexdigest(),
            password_fingerprint=_fingerprint(passwords[user_id]),
            expires_at=expires,
        )
        if created is not None:
            ApiToken.objects.filter(pk=token.pk).update(created_at=created)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM authtoken_token")


def record_sessions(apps, schema_editor):
    from django.contrib.sessions.backends.db import SessionStore

    Session = apps.get_model("sessions", "Session")
    SignInSession = apps.get_model("inbox", "SignInSession")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    user_ids = set(User.objects.values_list("pk", flat=True))
    store = SessionStore()
    rows = Session.objects.filter(expire_date__gt=timezone.now()).values_list(
        "session_key", "session_data"
    )
    for key, data in rows.iterator():
        try:
            user_id = int(store.decode(data).get("_auth_user_id"))
        except (TypeError, ValueError):
            continue
        if user_id in user_ids:
            SignInSession.objects.get_or_create(session_key=key, defaults={"user_id": user_id})


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0007_credentials_and_two_factor"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(move_tokens, migrations.RunPython.noop),
        migrations.RunPython(record_sessions, migrations.RunPython.noop),
    ]
