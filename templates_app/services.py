"""Every write of quick replies, their usage and shared materials: transactional and audited.

Audit data holds ids and enumerated values only, never a body (it may carry personal data).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_noop
from rest_framework import status

from inbox.hooks import ReplySubmitted
from inbox.selectors import AnyUser
from inbox.selectors.for_apps import (
    ActingMember,
    acting_member,
    conversation_ref,
    organisation_shop_ids,
)
from monitoring.audit import audit_record
from scrm.api import Forbidden, ServiceError
from templates_app import library, selectors
from templates_app.models import Material, MaterialKind, QuickReply, QuickReplyUsage, Scope
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


@transaction.atomic
def quick_reply_create(*, actor: AnyUser, **fields: Any) -> QuickReply:
    """Create a quick reply in the actor's organisation (fields: see ``EDITABLE``).

    Keeps: agents create personal ones only; every body names known variables only.
    """
    member = acting_member(actor)
    try:
        data = clean({k: v for k, v in fields.items() if k in EDITABLE})
    except QuickReplyInvalid as exc:
        raise _invalid(exc) from None
    _check_scope_rights(member, data.scope)
    _check_relations(member, actor, data)
    quick_reply = QuickReply(organisation_id=member.organisation_id, created_by_id=member.user_id)
    _write(quick_reply, data, member)
    library.changed(member.organisation_id)
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="quick_reply.created",
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


@transaction.atomic
def quick_reply_update(*, actor: AnyUser, quick_reply_id: int, **changes: Any) -> QuickReply:
    """Change some fields of a quick reply the actor manages; the result is checked whole."""
    member, quick_reply = _manageable(actor, quick_reply_id)
    before = _data_of(quick_reply)
    merged = {**before, **{k: v for k, v in changes.items() if k in EDITABLE}}
    try:
        data = clean(merged)
    except QuickReplyInvalid as exc:
        raise _invalid(exc) from None
    _check_scope_rights(member, data.scope)
    _check_relations(member, actor, data)
    after = asdict(data)
    changed = sorted(k for k in EDITABLE if before.get(k) != after.get(k))
    if changed:
        _write(quick_reply, data, member)
        library.changed(member.organisation_id)
        audit_record(
            organisation_id=member.organisation_id,
            actor=actor,
            action="quick_reply.updated",
            target=quick_reply,
            data={"id": quick_reply.id, "scope": data.scope, "fields": changed},
        )
    return quick_reply


def _quick_reply_archived_set(actor: AnyUser, quick_reply_id: int, archived: bool) -> QuickReply:
    member, quick_reply = _manageable(actor, quick_reply_id)
    if quick_reply.is_archived != archived:
        quick_reply.is_archived = archived
        quick_reply.save(update_fields=["is_archived", "updated_at"])
        library.changed(member.organisation_id)
        audit_record(
            organisation_id=member.organisation_id,
            actor=actor,
            action="quick_reply.archived" if archived else "quick_reply.unarchived",
            target=quick_reply,
            data={"id": quick_reply.id, "scope": quick_reply.scope},
        )
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


@transaction.atomic
def quick_reply_import(*, actor: AnyUser, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Create or update quick replies from exported rows, all or nothing.

    A row matches an active quick reply of the same scope and shortcut (and owner, for personal
    ones); a matching one is updated if it differs. Any invalid row refuses the whole import.
    """
    member = acting_member(actor)
    if len(rows) > MAX_IMPORT_ROWS:
        raise ServiceError(f"At most {MAX_IMPORT_ROWS} rows per import.", code="import_invalid")
    cleaned: list[QuickReplyData] = []
    errors: dict[str, Any] = {}
    for i, row in enumerate(rows):
        try:
            data = clean({k: v for k, v in row.items() if k in EDITABLE})
            _check_scope_rights(member, data.scope)
            _check_relations(member, actor, data)
            cleaned.append(data)
        except QuickReplyInvalid as exc:
            errors[str(i)] = {"code": exc.code, "details": exc.details}
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
        data={"created": created, "updated": updated, "unchanged": len(unchanged)},
    )
    return {"created": created, "updated": updated, "unchanged": unchanged}


def _record_use(
    member: ActingMember,
    actor: AnyUser,
    quick_reply: QuickReply,
    conversation_id: int,
    language: str,
    message_id: int | None = None,
) -> QuickReplyUsage:
    usage = QuickReplyUsage.objects.create(
        organisation_id=member.organisation_id,
        quick_reply=quick_reply,
        user_id=member.user_id,
        conversation_id=conversation_id,
        language=language,
    )
    QuickReply.objects.filter(id=quick_reply.id).update(usage_count=F("usage_count") + 1)
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="quick_reply.used",
        target=quick_reply,
        data={
            "id": quick_reply.id,
            "conversation_id": conversation_id,
            "language": language,
            **({"message_id": message_id} if message_id is not None else {}),
        },
    )
    return usage


@transaction.atomic
def quick_reply_use(
    *, actor: AnyUser, quick_reply_id: int, conversation_id: int, language: str = ""
) -> QuickReplyUsage:
    """Count one use of a visible quick reply in a visible conversation."""
    member = acting_member(actor)
    quick_reply = selectors.quick_reply_get(actor, quick_reply_id)
    conversation = conversation_ref(actor, conversation_id)
    return _record_use(member, actor, quick_reply, conversation.id, language[:16])


def quick_reply_count_sent(moment: ReplySubmitted) -> None:
    """Count the use of the quick reply a sent reply was made with (subscribed to the inbox's
    ``reply_submitted``, in the reply's transaction): once per stored reply, never when the
    agent only inserted it.

    Keeps: only a quick reply the sender may see (archived ones too: it may have been archived
    while they typed) is counted; any other id is ignored, never refusing the reply.
    """
    if moment.quick_reply_id is None:
        return
    member = acting_member(moment.actor)
    quick_reply = selectors.quick_reply_visible(member, moment.quick_reply_id)
    if quick_reply is not None:
        language = moment.quick_reply_language[:16]
        _record_use(
            member, moment.actor, quick_reply, moment.conversation_id, language, moment.message_id
        )


def quick_reply_render_for_send(
    *,
    actor: AnyUser,
    quick_reply_id: int,
    conversation_id: int,
    language: str | None = None,
    values: dict[str, str] | None = None,
) -> selectors.RenderResult:
    """Render for sending and count the use (only when the render succeeded).

    The render (a read, which may sync the in-memory library: up to half a second on a
    process's first call) runs before the write's transaction, so SQLite's write lock is held
    only for the counting."""
    member = acting_member(actor)
    quick_reply, conversation, result = selectors.quick_reply_render(
        actor,
        quick_reply_id=quick_reply_id,
        conversation_id=conversation_id,
        language=language,
        values=values,
    )
    with transaction.atomic():
        _record_use(member, actor, quick_reply, conversation.id, result.language)
    return result


# --- materials -------------------------------------------------------------------------------

IMAGE_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff", "jpg"),
    "image/png": (b"\x89PNG\r\n\x1a\n", "png"),
    "image/gif": (b"GIF8", "gif"),
}


def _sniff(head: bytes) -> tuple[str, str, str] | None:
    """(kind, content type, extension) from the first bytes; never trust the client's type."""
    for content_type, (magic, ext) in IMAGE_SIGNATURES.items():
        if head.startswith(magic):
            return MaterialKind.IMAGE, content_type, ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MaterialKind.IMAGE, "image/webp", "webp"
    if head.startswith(b"%PDF-"):
        return MaterialKind.FILE, "application/pdf", "pdf"
    return None


def material_limits() -> dict[str, int]:
    return {
        MaterialKind.IMAGE: int(getattr(settings, "SCRM_MATERIAL_IMAGE_MAX_BYTES", 10 * 2**20)),
        MaterialKind.FILE: int(getattr(settings, "SCRM_MATERIAL_FILE_MAX_BYTES", 20 * 2**20)),
    }


def _material_scope(
    member: ActingMember, scope: str, shop_account_ids: list[int] | tuple[int, ...]
) -> list[int]:
    if scope not in Scope.values:
        raise ServiceError("Not valid.", details={"scope": [f"One of {', '.join(Scope.values)}."]})
    _check_scope_rights(member, scope)
    ids = sorted(set(shop_account_ids))
    if (scope == Scope.TEAM) != bool(ids):
        raise ServiceError(
            "Not valid.",
            details={"shop_account_ids": [gettext_noop("Team materials need shops; others none.")]},
        )
    if ids and len(organisation_shop_ids(member, ids)) != len(ids):
        raise ServiceError(
            "Not valid.", details={"shop_account_ids": [gettext_noop("Unknown shop account.")]}
        )
    return ids


def _new_material(member: ActingMember, scope: str, shop_ids: list[int], **fields: Any) -> Material:
    material = Material.objects.create(
        organisation_id=member.organisation_id,
        scope=scope,
        owner_id=member.user_id if scope == Scope.PERSONAL else None,
        created_by_id=member.user_id,
        **fields,
    )
    material.shop_accounts.set(shop_ids)
    library.changed(member.organisation_id)  # the render names attachments from the library
    return material


@transaction.atomic
def material_upload(
    *,
    actor: AnyUser,
    name: str,
    content: IO[bytes] | File | bytes,
    scope: str = Scope.PERSONAL,
    shop_account_ids: list[int] | tuple[int, ...] = (),
) -> tuple[Material, bool]:
    """Store an image (jpg/png/gif/webp) or PDF once by content hash; returns (material,
    created). Keeps: the type is read from the bytes; size over the kind's limit is a 413."""
    member = acting_member(actor)
    shop_ids = _material_scope(member, scope, shop_account_ids)
    upload = ContentFile(content) if isinstance(content, bytes) else File(content)
    upload.seek(0)
    sniffed = _sniff(upload.read(16))
    if sniffed is None:
        raise ServiceError(
            gettext_noop("Only JPEG, PNG, GIF or WebP images and PDF files can be uploaded."),
            code="material_type",
            details={"allowed": ["jpg", "png", "gif", "webp", "pdf"]},
        )
    kind, content_type, ext = sniffed
    size, limit = upload.size, material_limits()[kind]
    if size > limit:
        raise ServiceError(
            f"The {kind} is {size} bytes; the limit is {limit}.",
            code="material_too_large",
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            details={"kind": kind, "size": size, "limit": limit},
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    sha = digest.hexdigest()
    same = Material.objects.filter(
        organisation_id=member.organisation_id,
        scope=scope,
        owner_id=member.user_id if scope == Scope.PERSONAL else None,
        sha256=sha,
        is_archived=False,
    )
    same_shops = selectors.material_shop_ids([m.id for m in same])
    for material in same:
        if same_shops[material.id] == shop_ids:
            return material, False
    blob = f"materials/{sha[:2]}/{sha}.{ext}"
    if not default_storage.exists(blob):
        upload.seek(0)
        blob = default_storage.save(blob, upload)
    material = _new_material(
        member,
        scope,
        shop_ids,
        kind=kind,
        name=(name or f"{sha[:12]}.{ext}")[:200],
        content_type=content_type,
        size=size,
        sha256=sha,
        blob=blob,
    )
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="material.uploaded",
        target=material,
        data={"id": material.id, "kind": kind, "scope": scope, "size": size},
    )
    return material, True


@transaction.atomic
def material_link_create(
    *,
    actor: AnyUser,
    name: str,
    url: str,
    scope: str = Scope.PERSONAL,
    shop_account_ids: list[int] | tuple[int, ...] = (),
) -> Material:
    """Save a link (an assembly video, a help page) as a material."""
    member = acting_member(actor)
    shop_ids = _material_scope(member, scope, shop_account_ids)
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ServiceError(
            gettext_noop("Not a valid http(s) link."),
            code="material_type",
            details={"url": ["Invalid URL."]},
        ) from None
    if len(url) > 1000:
        raise ServiceError("Not valid.", details={"url": ["At most 1000 characters."]})
    material = _new_material(
        member, scope, shop_ids, kind=MaterialKind.LINK, name=(name or url)[:200], url=url
    )
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="material.created",
        target=material,
        data={"id": material.id, "kind": MaterialKind.LINK, "scope": scope},
    )
    return material


def _material_archived_set(actor: AnyUser, material_id: int, archived: bool) -> Material:
    member = acting_member(actor)
    material = selectors.material_get(actor, material_id)
    if not selectors.can_manage(member, material):
        raise Forbidden(gettext_noop("You may not change this material."))
    if material.is_archived != archived:
        material.is_archived = archived
        material.save(update_fields=["is_archived"])
        library.changed(member.organisation_id)
        audit_record(
            organisation_id=member.organisation_id,
            actor=actor,
            action="material.archived" if archived else "material.unarchived",
            target=material,
            data={"id": material.id, "kind": material.kind},
        )
    return material


@transaction.atomic
def material_archive(*, actor: AnyUser, material_id: int) -> Material:
    """Hide a material from the library; the stored blob stays (others may share it)."""
    return _material_archived_set(actor, material_id, True)


@transaction.atomic
def material_unarchive(*, actor: AnyUser, material_id: int) -> Material:
    """Bring an archived material back (its replies attach it again when rendered)."""
    return _material_archived_set(actor, material_id, False)
