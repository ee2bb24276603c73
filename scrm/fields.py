"""Model fields that keep personal data and credentials encrypted in the database.

Every value is bound to its model, its column and its row (``SealedRow.row_uid``, a random UUID
set when the row is made), so a ciphertext copied to another row or column fails to decrypt.

Values are decrypted lazily, when the attribute is first read: a page that lists fifty rows and
shows two fields decrypts a hundred values, not every encrypted column it loaded. Reads that skip
models (``values()``, ``values_list()``) get ``Sealed`` values, opened with ``open_sealed``
and the row's ``row_uid``. Writes go through the model (``save``, ``create``, ``bulk_create``);
``QuerySet.update()`` of an encrypted field with plaintext is refused (it cannot know the rows),
as is ``bulk_update`` (use ``sealed_bulk_update``).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from scrm.crypto import DecryptionError, key_ring

logger = logging.getLogger(__name__)


class Sealed:
    """A ciphertext read without its row (``values()``): never the plaintext, never shown."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return "<sealed>"

    def __str__(self) -> str:
        # Shown only by a bug: never the ciphertext, never an exception on a page.
        return "•••"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)


def _aad(label: str, name: str, row_uid: uuid.UUID | str) -> bytes:
    uid = row_uid.hex if isinstance(row_uid, uuid.UUID) else uuid.UUID(str(row_uid)).hex
    return f"{label}.{name}\x00{uid}".encode()


def _aad_v1(label: str, name: str) -> bytes:
    return f"{label}.{name}".encode()


class _SealedAttribute(DeferredAttribute):
    """Opens a loaded ciphertext on first read, with the row's ``row_uid``; caches the
    plaintext on the instance. A data descriptor (``__set__``): an instance's ``__dict__``
    would otherwise shadow it once the value is loaded."""

    field: EncryptedTextField

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            try:
                value = self.field.open(value, getattr(instance, "row_uid", None))
            except DecryptionError:
                return self._unreadable(instance)
            instance.__dict__[self.field.attname] = value
        return value

    def _unreadable(self, instance: Any) -> Any:
        # A ciphertext moved from another row or column, tampered with, or under a key no
        # longer configured: the page shows a marker instead of failing as a whole, the
        # stored value is kept as it is (a save writes it back unchanged), and the row is
        # logged by id, never the value.
        flag = f"_unreadable_{self.field.attname}"
        if flag not in instance.__dict__:
            instance.__dict__[flag] = True
            _log_unreadable(self.field, instance.pk)
        return self.field.unreadable()

    def __set__(self, instance: Any, value: Any) -> None:
        # A data descriptor, so reads come through __get__ even once the value is loaded.
        instance.__dict__[self.field.attname] = value


def _log_unreadable(field: EncryptedTextField, pk: Any) -> None:
    logger.error(
        "%s.%s of row %s could not be decrypted (a key missing from "
        "SCRM_ENCRYPTION_KEYS, or a value moved from another row or column, or tampered)",
        field.label,
        field.name,
        pk,
    )


class EncryptedTextField(models.TextField):
    """A text value stored as AES-256-GCM ciphertext, bound to its model, column and row.

    The plaintext is only ever in Python memory; queries cannot filter on it (use a blind index
    column or a token table beside it: ``scrm.blind``). The model must be a ``SealedRow``.
    """

    descriptor_class = _SealedAttribute

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    def encode(self, value: Any) -> str:
        return str(value)

    def decode(self, text: str) -> Any:
        return text

    def empty(self) -> Any:
        return ""

    def unreadable(self) -> Any:
        """What a value that fails to decrypt reads as (the field's users see a marker)."""
        from django.utils.translation import gettext

        return gettext("[could not be decrypted]")

    def seal(self, value: Any, row_uid: uuid.UUID | str | None) -> Sealed | str:
        """``value`` encrypted for this column of the row ``row_uid`` ("" stays "")."""
        if value is None or value == "":
            return value
        return Sealed(self._encrypt(self.encode(value), row_uid))

    def _binding(self) -> tuple[bytes, bytes]:
        """(``<label>.<name>\x00``, ``<label>.<name>``): the start of a value's associated
        data and its v1 form, built once per field (they are on every value's path)."""
        binding = self.__dict__.get("_binding_cache")
        if binding is None:
            v1 = _aad_v1(self.label, self.name)
            binding = self.__dict__["_binding_cache"] = (v1 + b"\x00", v1)
        return binding

    def _aad(self, row_uid: uuid.UUID | str) -> bytes:
        uid = row_uid.hex if isinstance(row_uid, uuid.UUID) else uuid.UUID(str(row_uid)).hex
        return self._binding()[0] + uid.encode()

    def _encrypt(self, text: str, row_uid: uuid.UUID | str | None) -> str:
        if row_uid is None:
            # A migration's historical model, from before rows had a uid: bound to the column
            # only, as values were then (v1); rotate_keys binds it to its row later.
            token = key_ring().encrypt(text, self._binding()[1])
            return "v1" + token[2:]
        return key_ring().encrypt(text, self._aad(row_uid))

    def open(self, value: Any, row_uid: uuid.UUID | str | None) -> Any:
        """The plaintext of a stored value of this column of the row ``row_uid``."""
        if isinstance(value, Sealed):
            token = value.token
        elif value is None or value == "":
            return self.empty() if value == "" else None
        else:
            return value  # already plaintext (set on the instance, not yet saved)
        aad_v1 = self._binding()[1]
        aad = self._aad(row_uid) if row_uid is not None else aad_v1
        text = key_ring().decrypt(token, aad, aad_v1=aad_v1)
        return self.decode(text)

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = model_instance.__dict__.get(self.attname)
        if isinstance(value, Sealed) or value is None or value == "":
            return value  # loaded from this row and never read, or empty
        return self.seal(value, getattr(model_instance, "row_uid", None))

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, Sealed):
            return value.token
        if value is None or value == "":
            return value
        raise TypeError(
            f"{self.label}.{self.name} is encrypted per row: write it through the model "
            "(save, create, bulk_create or sealed_bulk_update), not a queryset update or lookup"
        )

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return self.empty() if value == "" else None
        return Sealed(value)

    def to_python(self, value: Any) -> Any:
        return value

    def value_to_string(self, obj: Any) -> str:
        # Serialisation (dumpdata) writes the ciphertext, never the plaintext.
        value = obj.__dict__.get(self.attname)
        sealed = self.pre_save(obj, add=False)
        return sealed.token if isinstance(sealed, Sealed) else str(value or "")


class EncryptedJSONField(EncryptedTextField):
    """A JSON document (credentials, tokens, payloads) stored encrypted as one ciphertext."""

    # django-stubs reads these to type the attribute as a dict, not a str.
    _pyi_private_set_type: Any
    _pyi_private_get_type: dict[str, Any]  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", dict)
        super().__init__(*args, **kwargs)

    def encode(self, value: Any) -> str:
        return json.dumps(value, sort_keys=True)

    def decode(self, text: str) -> Any:
        return json.loads(text)

    def empty(self) -> Any:
        return {}

    def unreadable(self) -> Any:
        return {}

    def seal(self, value: Any, row_uid: uuid.UUID | str | None) -> Sealed | str:
        if value is None:
            return value  # type: ignore[return-value]
        return Sealed(self._encrypt(self.encode(value), row_uid))

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = model_instance.__dict__.get(self.attname)
        if isinstance(value, Sealed) or value is None:
            return value
        if value == {}:
            return ""  # nothing to hide: an empty document is stored as ""
        return self.seal(value, getattr(model_instance, "row_uid", None))

    def get_prep_value(self, value: Any) -> Any:
        return "" if value == {} else super().get_prep_value(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value else {}
        return value


class SealedRow(models.Model):
    """A model with encrypted fields: ``row_uid`` is what each value is bound to (random, set
    once when the row is made; never shown, never changed)."""

    row_uid = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True


def _encrypted_field(model: type[models.Model], field_name: str) -> EncryptedTextField:
    field = model._meta.get_field(field_name)
    if not isinstance(field, EncryptedTextField):
        raise TypeError(f"{model._meta.label}.{field_name} is not encrypted")
    return field


def open_sealed(model: type[models.Model], field_name: str, value: Any, row_uid: Any) -> Any:
    """The plaintext of ``value`` read with ``values()`` from ``model.field_name`` of the row
    whose ``row_uid`` is given."""
    return _encrypted_field(model, field_name).open(value, row_uid)


def open_or_marker(
    model: type[models.Model], field_name: str, value: Any, row_uid: Any, pk: Any
) -> Any:
    """``open_sealed`` for a page that lists rows read with ``values()``: a value that fails to
    decrypt reads as the field's marker and is logged by the row's id (``pk``), as a model
    instance's attribute does, so one bad row does not fail the page."""
    field = _encrypted_field(model, field_name)
    try:
        return field.open(value, row_uid)
    except DecryptionError:
        _log_unreadable(field, pk)
        return field.unreadable()


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    """The encrypted columns of a model."""
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]


def sealed_bulk_update(objs: list[Any], fields: list[str], *, batch_size: int = 500) -> int:
    """``bulk_update`` for models with encrypted fields: each value sealed for its own row
    (``bulk_update`` itself reads the attributes, which are plaintext)."""
    if not objs:
        return 0
    model = type(objs[0])
    enc = {f.name: f for f in encrypted_fields(model) if f.name in fields}
    plain = [name for name in fields if name not in enc]
    manager = model._default_manager
    done = manager.bulk_update(objs, plain, batch_size=batch_size) if plain else 0
    if not enc:
        return done
    for start in range(0, len(objs), batch_size):
        batch = objs[start : start + batch_size]
        changes = {
            name: models.Case(
                *(models.When(pk=obj.pk, then=models.Value(_token(field, obj))) for obj in batch),
                output_field=models.TextField(),
            )
            for name, field in enc.items()
        }
        done = max(done, manager.filter(pk__in=[o.pk for o in batch]).update(**changes))
    return done


def _token(field: EncryptedTextField, obj: Any) -> str:
    sealed = field.pre_save(obj, add=False)
    return sealed.token if isinstance(sealed, Sealed) else (sealed or "")
