"""Model fields that keep personal data and credentials encrypted in the database."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from scrm.crypto import key_ring


class EncryptedTextField(models.TextField):
    """A text value stored as AES-256-GCM ciphertext, bound to its model and column.

    The plaintext is only ever in Python memory; queries cannot filter on it (use a blind index
    column beside it for exact search).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def _aad(self) -> bytes:
        return f"{self.model._meta.label_lower}.{self.name}".encode()

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return key_ring().encrypt(str(value), self._aad())

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return key_ring().decrypt(value, self._aad())


class EncryptedJSONField(EncryptedTextField):
    """A JSON document (credentials, tokens) stored encrypted as one ciphertext."""

    # django-stubs reads these to type the attribute as a dict, not a str.
    _pyi_private_set_type: Any
    _pyi_private_get_type: dict[str, Any]  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", dict)
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return key_ring().encrypt(json.dumps(value, sort_keys=True), self._aad())

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return {}
        return json.loads(key_ring().decrypt(value, self._aad()))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value else {}
        return value

    def value_to_string(self, obj: Any) -> str:
        return json.dumps(self.value_from_object(obj))
