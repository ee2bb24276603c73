"""Writes of quick replies: create, update, archive, unarchive, import. Transactional and
audited; audit data holds ids and enumerated values only, never a body (it may carry personal
data)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop

from inbox.selectors import AnyUser
from inbox.selectors.for_apps import ActingMember, acting_member, organisation_shop_ids
from monitoring.audit_log.address import request_address
from monitoring.services import audit_record
from monitoring.services.send_screening import SendBlocked, atomic_screened
from scrm.api import Forbidden, ServiceError
from templates_app import library, selectors
from templates_app.models import Material, QuickReply, Scope
from templates_app.services.screening import quick_reply_screen, unchanged_bodies
from templates_app.validation import QuickReplyData, QuickReplyInvalid, clean

MAX_IMPORT_ROWS = 5000
EDITABLE = (
    "title",
    "shortcut",
    "body",
    "scope",
    "category",
    "default_language",
    "translations",
    "custom_fields",
    "shop_account_ids",
    "material_ids",
)


def _invalid(exc: QuickReplyInvalid) -> ServiceError:
    return ServiceError(exc.message, code=exc.code, details=exc.details)


def _cleaned(member: ActingMember, actor: AnyUser, fields: dict[str, Any]) -> QuickReplyData:
    """The editable fields checked whole: syntax and variables (``validation.clean``), the
    actor's right to the scope, shops and materials of their organisation."""
    try:
        data = clean({k: v for k, v in fields.items() if k in EDITABLE})
    except QuickReplyInvalid as exc:
        raise _invalid(exc) from None
    _check_scope_rights(member, data.scope)
    _check_relations(member, actor, data)
    return data


def _check_scope_rights(member: ActingMember, scope: str) -> None:
    if scope != Scope.PERSONAL and not member.sees_all_shops:
        raise Forbidden(
            gettext_noop("Only supervisors and admins manage team and organisation quick replies.")
        )


def _check_relations(member: ActingMember, actor: AnyUser, data: QuickReplyData) -> None:
    errors: dict[str, list[str]] = {}
    if data.shop_account_ids:
        shops = organisation_shop_ids(member, data.shop_account_ids)
        if len(shops) != len(data.shop_account_ids):
            errors["shop_account_ids"] = [gettext_noop("Unknown shop account.")]
    if data.material_ids:
        found = selectors.material_list_for(actor).filter(id__in=data.material_ids).count()
        if found != len(data.material_ids):
            errors["material_ids"] = [gettext_noop("Unknown material.")]
    if errors:
        raise ServiceError(gettext_noop("The quick reply is not valid."), details=errors)


def _write(quick_reply: QuickReply, data: QuickReplyData, member: ActingMember) -> None:
    quick_reply.title = data.title
    quick_reply.shortcut = data.shortcut
    quick_reply.body = data.body
    quick_reply.scope = data.scope
    quick_reply.category = data.category
    quick_reply.default_language = data.default_language
    quick_reply.translations = data.translations
    quick_reply.custom_fields = data.custom_fields
    quick_reply.owner_id = member.user_id if data.scope == Scope.PERSONAL else None
    quick_reply.save()
    quick_reply.shop_accounts.set(data.shop_account_ids)
    quick_reply.materials.set(data.material_ids)


def _data_of(
    quick_reply: QuickReply, relations: selectors.Relations | None = None
) -> dict[str, Any]:
    if relations is None or quick_reply.id not in relations:
        relations = selectors.quick_reply_relations([quick_reply.id])
    shop_ids, material_ids = relations[quick_reply.id]
    return {
        "title": quick_reply.title,
        "shortcut": quick_reply.shortcut,
        "body": quick_reply.body,
        "scope": quick_reply.scope,
        "category": quick_reply.category,
        "default_language": quick_reply.default_language,
        "translations": dict(quick_reply.translations or {}),
        "custom_fields": list(quick_reply.custom_fields or []),
        "shop_account_ids": sorted(shop_ids),
        "material_ids": sorted(material_ids),
    }


@atomic_screened
def quick_reply_create(*, actor: AnyUser, **fields: Any) -> QuickReply:
    """Create a quick reply in the actor's organisation (fields: see ``EDITABLE``).

    Keeps: agents create personal ones only; every body names known variables only and passes
    the sensitive-word monitor (blocked: refused, 422 ``reply_blocked``; masked: saved masked).
    """
    member = acting_member(actor)
    data = _cleaned(member, actor, fields)
    data = quick_reply_screen(organisation_id=member.organisation_id, actor=actor, data=data)
    quick_reply = QuickReply(organisation_id=member.organisation_id, created_by_id=member.user_id)
    _write(quick_reply, data, member)
    library.changed(member.organisation_id)
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="quick_reply.created",
        ip=request_address(),
        target=quick_reply,
        data={"id": quick_reply.id, "scope": data.scope, "shops": data.shop_account_ids},
    )
    return quick_reply


def _manageable(actor: AnyUser, quick_reply_id: int) -> tuple[ActingMember, QuickReply]:
    member = acting_member(actor)
    quick_reply = selectors.quick_reply_get(actor, quick_reply_id)  # NotFound if not visible
    if not selectors.can_manage(member, quick_reply):
        raise Forbidden(gettext_noop("You may not change this quick reply."))
    return member, quick_reply


@atomic_screened
def quick_reply_update(*, actor: AnyUser, quick_reply_id: int, **changes: Any) -> QuickReply:
    """Change some fields of a quick reply the actor manages; the result is checked whole (new
    or changed bodies by the sensitive-word monitor too, as in ``quick_reply_create``)."""
    member, quick_reply = _manageable(actor, quick_reply_id)
    before = _data_of(quick_reply)
    data = _cleaned(member, actor, {**before, **changes})
    data = quick_reply_screen(
        organisation_id=member.organisation_id,
        actor=actor,
        data=data,
        before=unchanged_bodies(before, data),
    )
    after = asdict(data)
    changed = sorted(k for k in EDITABLE if before.get(k) != after.get(k))
    if changed:
        _write(quick_reply, data, member)
        library.changed(member.organisation_id)
        audit_record(
            organisation_id=member.organisation_id,
            actor=actor,
            action="quick_reply.updated",
            ip=request_address(),
            target=quick_reply,
            data={"id": quick_reply.id, "scope": data.scope, "fields": changed},
        )
    return quick_reply


def archived_write(
    *, actor: AnyUser, member: ActingMember, item: QuickReply | Material, archived: bool
) -> None:
    """Archive or bring back a quick reply or material the caller checked the actor manages:
    if it changes, the library is marked changed and ``<kind>.archived|unarchived`` audited."""
    if item.is_archived == archived:
        return
    item.is_archived = archived
    if isinstance(item, QuickReply):
        item.save(update_fields=["is_archived", "updated_at"])
        kind, data = "quick_reply", {"id": item.id, "scope": item.scope}
    else:
        item.save(update_fields=["is_archived"])
        kind, data = "material", {"id": item.id, "kind": item.kind}
    library.changed(member.organisation_id)
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action=f"{kind}.{'archived' if archived else 'unarchived'}",
        ip=request_address(),
        target=item,
        data=data,
    )


def _quick_reply_archived_set(actor: AnyUser, quick_reply_id: int, archived: bool) -> QuickReply:
    member, quick_reply = _manageable(actor, quick_reply_id)
    archived_write(actor=actor, member=member, item=quick_reply, archived=archived)
    return quick_reply


@transaction.atomic
def quick_reply_archive(*, actor: AnyUser, quick_reply_id: int) -> QuickReply:
    """Hide a quick reply from the picker (kept for statistics and audit).

    Keeps: only someone who manages it (``can_manage``); archiving twice changes nothing."""
    return _quick_reply_archived_set(actor, quick_reply_id, True)


@transaction.atomic
def quick_reply_unarchive(*, actor: AnyUser, quick_reply_id: int) -> QuickReply:
    """Bring an archived quick reply back to the picker, with its usage count.

    Keeps: only someone who manages it; unarchiving an active one changes nothing."""
    return _quick_reply_archived_set(actor, quick_reply_id, False)


@atomic_screened
def quick_reply_import(*, actor: AnyUser, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Create or update quick replies from exported rows, all or nothing.

    A row matches an active quick reply of the same scope and shortcut (and owner, for personal
    ones); a matching one is updated if it differs. Any invalid row refuses the whole import,
    and so does a body the sensitive-word monitor blocks (``import_invalid``, the row's
    ``reply_blocked`` inside); new or changed bodies are saved as the monitor lets them.
    """
    member = acting_member(actor)
    if len(rows) > MAX_IMPORT_ROWS:
        raise ServiceError(f"At most {MAX_IMPORT_ROWS} rows per import.", code="import_invalid")
    cleaned: list[QuickReplyData] = []
    errors: dict[str, Any] = {}
    for i, row in enumerate(rows):
        try:
            cleaned.append(_cleaned(member, actor, row))
        except ServiceError as exc:
            errors[str(i)] = {"code": exc.code, "details": exc.details or {"_": [exc.message]}}
    if errors:
        raise ServiceError(
            gettext_noop("Some rows are not valid; nothing was imported."),
            code="import_invalid",
            details={"rows": errors},
        )
    existing = {
        (q.scope, q.shortcut, q.owner_id): q
        for q in QuickReply.objects.filter(
            organisation_id=member.organisation_id, is_archived=False
        ).filter(scope__in={d.scope for d in cleaned})
    }
    relations = selectors.quick_reply_relations([q.id for q in existing.values()])
    cleaned = _import_screened(member, actor, cleaned, existing, relations)
    created, updated, unchanged = [], [], []
    for data in cleaned:
        owner = member.user_id if data.scope == Scope.PERSONAL else None
        quick_reply = existing.get((data.scope, data.shortcut, owner))
        if quick_reply is None:
            quick_reply = QuickReply(
                organisation_id=member.organisation_id, created_by_id=member.user_id
            )
            _write(quick_reply, data, member)
            existing[(data.scope, data.shortcut, owner)] = quick_reply
            created.append(quick_reply.id)
        elif _data_of(quick_reply, relations) != asdict(data):
            _write(quick_reply, data, member)
            updated.append(quick_reply.id)
        else:
            unchanged.append(quick_reply.id)
    if created or updated:
        library.changed(member.organisation_id)
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="quick_reply.imported",
        ip=request_address(),
        data={"created": created, "updated": updated, "unchanged": len(unchanged)},
    )
    return {"created": created, "updated": updated, "unchanged": unchanged}


def _import_screened(
    member: ActingMember,
    actor: AnyUser,
    cleaned: list[QuickReplyData],
    existing: dict[tuple[str, str, int | None], QuickReply],
    relations: selectors.Relations,
) -> list[QuickReplyData]:
    """The import's rows through the sensitive-word monitor (a row's bodies compared with the
    quick reply it updates); any blocked row refuses the import, naming the rows."""
    screened: list[QuickReplyData] = []
    refused: dict[str, SendBlocked] = {}
    for i, data in enumerate(cleaned):
        owner = member.user_id if data.scope == Scope.PERSONAL else None
        match = existing.get((data.scope, data.shortcut, owner))
        before = unchanged_bodies(_data_of(match, relations) if match else None, data)
        try:
            screened.append(
                quick_reply_screen(
                    organisation_id=member.organisation_id, actor=actor, data=data, before=before
                )
            )
        except SendBlocked as exc:
            refused[str(i)] = exc
    if refused:
        raise SendBlocked(
            gettext_noop("Some rows are not valid; nothing was imported."),
            code="import_invalid",
            status_code=400,
            details={
                "rows": {
                    i: {"code": exc.code, "message": exc.message, "details": exc.details}
                    for i, exc in refused.items()
                }
            },
        )
    return screened
