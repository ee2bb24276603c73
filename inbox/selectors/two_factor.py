"""Reads about a person's second factor (TOTP devices of django-otp)."""

from __future__ import annotations

from django_otp.plugins.otp_totp.models import TOTPDevice

from inbox.selectors.accounts import AnyUser, member_for
from scrm.api import Forbidden

# Set in the session when it was signed in with a second factor (or set one up).
VERIFIED_SESSION_KEY = "scrm_two_factor_verified"


def two_factor_device(user: AnyUser) -> TOTPDevice | None:
    """The user's confirmed TOTP device, if they turned two-factor sign-in on."""
    if not user.is_authenticated and user.pk is None:
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("id").first()


def two_factor_required(user: AnyUser) -> bool:
    """Whether the user's organisation requires them (a supervisor or admin) to use a second
    factor; a user of no organisation is not required."""
    try:
        member = member_for(user)
    except Forbidden:
        return False
    return member.sees_all_shops and member.organisation.require_two_factor


def two_factor_setup_required(user: AnyUser) -> bool:
    """Required and not set up yet: the person must go to the set-up page before anything
    else (the member is read once per request; the device only when required)."""
    return two_factor_required(user) and two_factor_device(user) is None
