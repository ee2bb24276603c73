"""Invitations: an admin invites a person by e-mail with a role and shops; the person opens
the link, chooses a username, a name and a password, and is a member.

Keeps: only the organisation's admins invite and withdraw; a link's token is random (256
bits), only its SHA-256 is stored, it works once and until it expires
(``SCRM_INVITATION_DAYS``, 7 days by default); each step is audited without the address.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from inbox.models import Invitation, Member, Role, ShopAccount, ShopMembership
from inbox.selectors import AnyUser, member_for
from inbox.selectors.people import admin_member, invitation_token_hash
from inbox.services.people import lock_organisation
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from scrm.api import NotFound, ServiceError, locked_or_not_found

logger = logging.getLogger(__name__)

DISPLAY_NAME_MAX = Member._meta.get_field("display_name").max_length or 100
EMAIL_MAX = Invitation._meta.get_field("email").max_length or 254


def invitation_days() -> int:
    return int(settings.SCRM_INVITATION_DAYS)


def email_configured() -> bool:
    """Whether this server can send mail: any backend but SMTP, or SMTP with a host named."""
    backend = settings.EMAIL_BACKEND
    return not backend.endswith("smtp.EmailBackend") or bool(settings.EMAIL_HOST)


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    link: str  # shown to the admin once; only its hash is stored
    emailed: bool


def _clean_email(email: Any) -> str:
    email = str(email or "").strip()
    try:
        if len(email) > EMAIL_MAX:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise ServiceError(
            gettext_noop("Enter a valid e-mail address."), code="invalid_email"
        ) from None
    return email


def invitation_create(
    *,
    actor: AnyUser,
    email: str,
    role: str,
    shop_account_ids: Iterable[int] = (),
    site_url: str,
) -> NewInvitation:
    """Invite one person by e-mail to join the admin's organisation with a role and shops.

    Keeps: admins only; a valid address, a known role, shops of the organisation (404 else);
    one pending invitation per address (409 ``already_invited``) and none for a person already
    in the organisation (409 ``already_member``); the link's token is random (256 bits) and
    only its hash is stored; it expires after ``SCRM_INVITATION_DAYS`` (7 days by default);
    audited as ``invitation.created`` (role and shop ids, never the address).

    The e-mail leaves after the transaction commits, in the organisation's language, through
    Django's e-mail backend; a failure to send is logged without the address and reported as
    ``emailed=False`` (the admin still has the link to pass on). It is not a task: a task's
    arguments may not carry the address, and the token exists only here.
    """
    invitation, token = _invitation_store(
        actor=actor, email=email, role=role, shop_account_ids=shop_account_ids
    )
    link = site_url.rstrip("/") + reverse("invitation-accept", args=[token])
    emailed = _invitation_email(invitation=invitation, link=link, inviter=member_for(actor))
    return NewInvitation(invitation=invitation, link=link, emailed=emailed)


@transaction.atomic
def _invitation_store(
    *, actor: AnyUser, email: str, role: str, shop_account_ids: Iterable[int]
) -> tuple[Invitation, str]:
    # The organisation's row locked: two admins inviting one address at once make one
    # invitation and one already_invited, never two pending invitations.
    manager = lock_organisation(actor)
    email = _clean_email(email)
    if role not in Role.values:
        raise ServiceError(gettext_noop("Unknown role."), code="invalid_role")
    wanted = {int(i) for i in shop_account_ids}
    shops = list(ShopAccount.objects.filter(organisation_id=manager.organisation_id, id__in=wanted))
    if len(shops) != len(wanted):
        raise NotFound("Shop account not found.")
    org_id = manager.organisation_id
    if Member.objects.filter(organisation_id=org_id, user__email__iexact=email).exists():
        raise ServiceError(
            gettext_noop("Someone with this e-mail address is already a member."),
            code="already_member",
            status_code=409,
        )
    if invitation_pending(Invitation.objects.filter(organisation_id=org_id, email__iexact=email)):
        raise ServiceError(
            gettext_noop(
                "This address already has a pending invitation: revoke it to send a new one."
            ),
            code="already_invited",
            status_code=409,
        )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organisation_id=org_id,
        email=email,
        role=role,
        token_hash=invitation_token_hash(token),
        invited_by_id=actor.pk,
        expires_at=timezone.now() + timedelta(days=invitation_days()),
    )
    invitation.shop_accounts.set(shops)
    audit_record(
        organisation_id=org_id,
        actor=actor,
        action="invitation.created",
        ip=request_address(),
        target=invitation,
        data={"role": role, "shop_account_ids": sorted(wanted)},
    )
    return invitation, token


def invitation_pending(qs: Any) -> bool:
    return qs.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).exists()


def _invitation_email(*, invitation: Invitation, link: str, inviter: Member) -> bool:
    if not email_configured():
        return False
    organisation = inviter.organisation
    with translation.override(organisation.language), timezone.override(organisation.time_zone):
        context = {
            "organisation": organisation.name,
            "inviter": inviter.name,
            "role": str(Role(invitation.role).label),
            "link": link,
            "days": invitation_days(),
        }
        subject = render_to_string("inbox/manage/invitation_email_subject.txt", context)
        body = render_to_string("inbox/manage/invitation_email.txt", context)
    try:
        send_mail(" ".join(subject.split()), body, None, [invitation.email])
    except Exception as exc:  # any transport error: the admin still has the link
        logger.warning("invitation %s: e-mail not sent (%s)", invitation.pk, type(exc).__name__)
        return False
    return True


@transaction.atomic
def invitation_revoke(*, actor: AnyUser, invitation_id: int) -> Invitation:
    """Make a pending invitation's link stop working. Keeps: admins only, invitations of their
    organisation (404 else); an accepted one cannot be revoked (409); audited once."""
    manager = admin_member(actor)
    invitation = locked_or_not_found(
        Invitation,
        "Invitation not found.",
        id=invitation_id,
        organisation_id=manager.organisation_id,
    )
    if invitation.accepted_at is not None:
        raise ServiceError(
            gettext_noop("This invitation was accepted already."),
            code="invitation_used",
            status_code=409,
        )
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            organisation_id=manager.organisation_id,
            actor=actor,
            action="invitation.revoked",
            ip=request_address(),
            target=invitation,
            data={"role": invitation.role},
        )
    return invitation


def invitation_usable(invitation: Invitation | None) -> None:
    """Raise the reason an invitation's link does not work (404 unknown, 410 used, revoked or
    expired); return when it does."""
    if invitation is None:
        raise NotFound("Invitation not found.")
    if invitation.accepted_at is not None:
        raise ServiceError(
            gettext_noop("This invitation was used already. Sign in instead."),
            code="invitation_used",
            status_code=410,
        )
    if invitation.revoked_at is not None:
        raise ServiceError(
            gettext_noop("This invitation was withdrawn. Ask your admin for a new one."),
            code="invitation_revoked",
            status_code=410,
        )
    if invitation.expires_at <= timezone.now():
        raise ServiceError(
            gettext_noop("This invitation has expired. Ask your admin for a new one."),
            code="invitation_expired",
            status_code=410,
        )


def _clean_username(username: Any) -> str:
    User = get_user_model()
    username = str(username or "").strip()
    field = User._meta.get_field(User.USERNAME_FIELD)
    try:
        if not username:
            raise ValidationError("empty")
        for validator in getattr(field, "validators", ()):
            validator(username)
        if len(username) > (getattr(field, "max_length", None) or 150):
            raise ValidationError("too long")
    except ValidationError:
        raise ServiceError(
            gettext_noop("Choose a username of letters, digits and @ . + - _ only (at most 150)."),
            code="invalid_username",
        ) from None
    if User.objects.filter(**{f"{User.USERNAME_FIELD}__iexact": username}).exists():
        raise ServiceError(
            gettext_noop("This username is taken: choose another."),
            code="username_taken",
            status_code=409,
        )
    return username


def _clean_display_name(name: Any) -> str:
    name = " ".join(str(name or "").split())
    if len(name) > DISPLAY_NAME_MAX or any(ord(c) < 32 for c in name):
        raise ServiceError(
            gettext_noop("Your name can have at most 100 characters."), code="invalid_name"
        )
    return name


@transaction.atomic
def invitation_accept(*, token: str, username: str, display_name: str, password: str) -> Any:
    """Turn an invitation into a person: a new user with the invitation's address, a member of
    its organisation with its role, time zone and language of the organisation, and access to
    the invited shops that still belong to it. Returns the user.

    Keeps: the link works once (the invitation row is locked, then marked accepted in the same
    transaction) and not after it expired or was revoked (410); the username is unique
    (409); the password passes the configured validators (400, with their reasons); audited
    as ``invitation.accepted`` with the new user as actor.
    """
    invitation = (
        Invitation.objects.select_for_update()
        .filter(token_hash=invitation_token_hash(str(token)))
        .first()
    )
    invitation_usable(invitation)
    assert invitation is not None  # noqa: S101 - narrowed by invitation_usable
    User = get_user_model()
    username = _clean_username(username)
    name = _clean_display_name(display_name)
    candidate = User(**{User.USERNAME_FIELD: username}, email=invitation.email)
    try:
        password_validation.validate_password(str(password or ""), user=candidate)
    except ValidationError as exc:
        raise ServiceError(
            " ".join(str(m) for m in exc.messages), code="invalid_password"
        ) from None
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                **{User.USERNAME_FIELD: username}, email=invitation.email, password=str(password)
            )
    except IntegrityError:
        raise ServiceError(
            gettext_noop("This username is taken: choose another."),
            code="username_taken",
            status_code=409,
        ) from None
    organisation = invitation.organisation
    member = Member.objects.create(
        user=user,
        organisation=organisation,
        role=invitation.role,
        time_zone=organisation.time_zone,
        display_name=name,
    )
    shop_ids = list(
        invitation.shop_accounts.filter(organisation_id=organisation.pk).values_list(
            "id", flat=True
        )
    )
    ShopMembership.objects.bulk_create(
        [ShopMembership(user=user, shop_account_id=shop_id) for shop_id in shop_ids]
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = user
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    audit_record(
        organisation_id=organisation.pk,
        actor=user,
        action="invitation.accepted",
        ip=request_address(),
        target=member,
        data={
            "invitation_id": invitation.pk,
            "user_id": user.pk,
            "role": invitation.role,
            "shop_account_ids": sorted(shop_ids),
        },
    )
    return user
