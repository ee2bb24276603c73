"""Sign-in records and two-factor devices.

Failed sign-ins reach :func:`signin_failure_record` from Django's ``user_login_failed`` signal:
the page, the admin and the token API all sign in through ``authenticate()``, and the signal is
the one place every failure passes (the receiver only calls this service).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop
from django_otp.plugins.otp_totp.models import TOTPDevice

from inbox.models import ApiToken, Member
from inbox.selectors.accounts import AnyUser
from inbox.selectors.two_factor import two_factor_device, two_factor_required
from inbox.services.tokens import account_record, sessions_end_others
from monitoring.audit import audit_record
from monitoring.models import SecurityEvent
from scrm.api import ServiceError
from scrm.signin import name_digest

NAME_LOOKUP_MAX = 150  # Django's username length; longer names are no account


def signin_failure_record(*, name: Any, reason: str, via: str, ip_address: str | None) -> None:
    """Record one failed sign-in: for a name that is an account of an organisation, an audit
    event of that organisation (no password, no address: ids and enumerated values only); for
    any other name, an operators' security event holding the name's keyed hash and the
    address. Never the typed text of either."""
    name = name if isinstance(name, str) else ""
    User = get_user_model()
    user = None
    if name and len(name) <= NAME_LOOKUP_MAX and "\x00" not in name:
        user = User.objects.filter(**{User.USERNAME_FIELD: name}).first()
    data = {"reason": reason, "via": via}
    if user is not None:
        org_id = Member.objects.filter(user_id=user.pk).values_list("organisation_id", flat=True)
        organisation_id = org_id.first()
        if organisation_id is not None:
            audit_record(
                organisation_id=organisation_id,
                actor=None,
                action="signin.failed",
                target=user,
                data=data,
                ip=ip_address,
            )
            return
    SecurityEvent.objects.create(
        kind="signin.failed" if user is not None else "signin.unknown_name",
        name_digest=name_digest(name),
        user_id=user.pk if user is not None else None,
        ip_address=ip_address or None,
        data=data,
    )


def signin_success_record(*, user: AnyUser, via: str, second_factor: bool) -> None:
    """Record a completed sign-in (audit log of the user's organisation)."""
    account_record(
        user=user,
        actor=user,
        action="signin.succeeded",
        target=user,
        data={"via": via, "second_factor": second_factor},
    )


def signout_record(*, user: AnyUser) -> None:
    """Record a sign-out (the person's organisation's audit log, with the request's address)."""
    account_record(user=user, actor=user, action="signout", target=user)


def _verify(device: TOTPDevice, code: Any) -> bool:
    code = code if isinstance(code, str) else ""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == device.digits):
        # Wrong shape: still counted by django-otp's throttle as a failure.
        device.throttle_increment()
        return False
    return bool(device.verify_token(code))


def two_factor_verify(*, user: AnyUser, code: Any) -> TOTPDevice | None:
    """Check a sign-in code against the user's confirmed device; the device when it matches.

    Keeps: django-otp's throttle (each failure doubles the wait before the next try) and its
    one-use rule (a code accepted once is not accepted again).
    """
    device = two_factor_device(user)
    if device is None:
        return None
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        return None
    return device if _verify(device, code) else None


@transaction.atomic
def two_factor_start(*, user: AnyUser) -> TOTPDevice:
    """The user's unconfirmed device (made once, kept over page loads so the secret shown does
    not change until confirmed). Refused when a confirmed one exists."""
    if two_factor_device(user) is not None:
        raise ServiceError(gettext_noop("Two-factor sign-in is on already."), code="two_factor_on")
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user_id=user.pk, name="authenticator", confirmed=False)
    return device


def two_factor_confirm(*, user: AnyUser, code: Any, keep_session_key: str | None) -> TOTPDevice:
    """Turn two-factor sign-in on with the first code from the authenticator app.

    Keeps: one confirmed device per user; every other session of the user ends (they were
    signed in without the code); audited. A wrong code's throttle step is committed (the code
    is checked before the transaction that would roll it back).
    """
    device = two_factor_start(user=user)
    allowed, _ = device.verify_is_allowed()
    if not allowed or not _verify(device, code):
        raise ServiceError(
            gettext_noop("That code is not right. Enter the 6 digits your app shows now."),
            code="otp_invalid",
        )
    with transaction.atomic():
        return _two_factor_enable(user=user, device=device, keep_session_key=keep_session_key)


def _two_factor_enable(
    *, user: AnyUser, device: TOTPDevice, keep_session_key: str | None
) -> TOTPDevice:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).delete()
    ended = sessions_end_others(user=user, keep_session_key=keep_session_key)
    # Tokens were had with a password alone: one got with a stolen password must not outlive
    # the second factor its owner just turned on.
    revoked = ApiToken.objects.filter(user_id=user.pk or 0, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    account_record(
        user=user,
        actor=user,
        action="two_factor.enabled",
        target=user,
        data={"sessions_ended": ended, "tokens_revoked": revoked},
    )
    return device


def two_factor_disable(*, user: AnyUser, code: Any) -> None:
    """Turn two-factor sign-in off, proven with a current code. Refused while the person's
    organisation requires it. The code is checked outside the transaction, so a wrong one's
    throttle step is kept."""
    if two_factor_required(user):
        raise ServiceError(
            gettext_noop("Your organisation requires two-factor sign-in for your role."),
            code="two_factor_required",
            status_code=403,
        )
    device = two_factor_device(user)
    if device is None:
        raise ServiceError(
            gettext_noop("Two-factor sign-in is off already."), code="two_factor_off"
        )
    if two_factor_verify(user=user, code=code) is None:
        raise ServiceError(
            gettext_noop("That code is not right. Enter the 6 digits your app shows now."),
            code="otp_invalid",
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=user.pk).delete()
        account_record(user=user, actor=user, action="two_factor.disabled", target=user)
