"""Writes of shared materials: upload (stored once by content hash), link, archive, unarchive.
Transactional and audited (ids, kinds and sizes; never a name)."""

from __future__ import annotations

import hashlib
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext_noop
from rest_framework import status

from inbox.selectors import AnyUser
from inbox.selectors.for_apps import ActingMember, acting_member, organisation_shop_ids
from monitoring.audit_log.address import request_address
from monitoring.services import audit_record
from scrm.api import Forbidden, ServiceError
from templates_app import library, selectors
from templates_app.models import Material, MaterialKind, Scope
from templates_app.services.quick_replies import _check_scope_rights, archived_write

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
        ip=request_address(),
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
        ip=request_address(),
        target=material,
        data={"id": material.id, "kind": MaterialKind.LINK, "scope": scope},
    )
    return material


def _material_archived_set(actor: AnyUser, material_id: int, archived: bool) -> Material:
    member = acting_member(actor)
    material = selectors.material_get(actor, material_id)
    if not selectors.can_manage(member, material):
        raise Forbidden(gettext_noop("You may not change this material."))
    archived_write(actor=actor, member=member, item=material, archived=archived)
    return material


@transaction.atomic
def material_archive(*, actor: AnyUser, material_id: int) -> Material:
    """Hide a material from the library; the stored blob stays (others may share it)."""
    return _material_archived_set(actor, material_id, True)


@transaction.atomic
def material_unarchive(*, actor: AnyUser, material_id: int) -> Material:
    """Bring an archived material back (its replies attach it again when rendered)."""
    return _material_archived_set(actor, material_id, False)
