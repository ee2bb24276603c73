"""Blind indexes: keyed digests that find encrypted values without decrypting the table.

Two shapes, one key per organisation:

- ``exact(value)``: 32 hex characters (a truncated HMAC-SHA256) for a column beside the
  ciphertext, found with ``=`` (as CipherSweet's blind indexes);
- ``token(term)``: a signed 64-bit integer for token tables (message words and Chinese character
  pairs, name prefixes, phone and e-mail forms), found with ``= ANY(...)`` on a b-tree, then the
  candidates decrypted and checked, so a collision costs a decryption, never a wrong answer.

Keys (``SCRM_BLIND_INDEX_KEYS``, ``kid:base64key[,...]``, the first the current one) are separate
from the encryption keys, so rotating those changes no index. Each organisation's key is derived
(HKDF) from a master key and the organisation's id: the same buyer in two organisations gives
unrelated indexes, so a database dump does not link buyers across tenants. Without the setting:
``SCRM_BLIND_INDEX_KEY`` (one key, id ``i0``, the setting before issue 16), else a key derived
from each encryption key (id ``e.<kid>``; it lasts as long as that encryption key stays in the
ring, which ``rotate_keys`` checks before it lets a key go).

The organisation records the master it indexes under (``Organisation.index_key_id``). An index
rotation (``rotate_keys --index``) sets ``index_key_next``; while it runs, writers index under the
new key and searches ask under both, so every search finds the same rows throughout.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from scrm.crypto import derive, key_ring, parse_keys

LEGACY_KID = "i0"


@lru_cache(maxsize=4)
def _masters(spec: str, legacy: str, enc_spec: str) -> dict[str, bytes]:
    keys = parse_keys(spec, setting="SCRM_BLIND_INDEX_KEYS")
    if legacy:
        keys.update(parse_keys(f"{LEGACY_KID}:{legacy}", setting="SCRM_BLIND_INDEX_KEY"))
    for kid, key in key_ring().keys.items():
        keys[f"e.{kid}"] = derive(key, b"scrm blind index master")
    return keys


def masters() -> dict[str, bytes]:
    """Every index master key by id, the current one first."""
    from django.conf import settings

    return _masters(
        settings.SCRM_BLIND_INDEX_KEYS,
        settings.SCRM_BLIND_INDEX_KEY,
        settings.SCRM_ENCRYPTION_KEYS,
    )


def current_kid() -> str:
    """The master that new organisations and index rotations use."""
    from django.conf import settings

    if settings.SCRM_BLIND_INDEX_KEYS:
        return next(iter(parse_keys(settings.SCRM_BLIND_INDEX_KEYS, setting="")))
    if settings.SCRM_BLIND_INDEX_KEY:
        return LEGACY_KID
    return f"e.{key_ring().primary_kid}"


@lru_cache(maxsize=4096)
def _org_key(master: bytes, organisation_id: int) -> bytes:
    return derive(master, b"scrm blind index v2|org|%d" % organisation_id)


def normalise(value: str) -> str:
    """What an exact index compares: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", value).split()).casefold()


@dataclass(frozen=True)
class OrgIndex:
    """The blind-index keys of one organisation: ``write`` for new indexes, ``read`` every key a
    search must ask under (two while an index rotation runs)."""

    organisation_id: int
    write_kid: str
    read_kids: tuple[str, ...]

    def _key(self, kid: str) -> bytes:
        try:
            master = masters()[kid]
        except KeyError:
            raise LookupError(f"blind index key {kid!r} is not configured") from None
        return _org_key(master, self.organisation_id)

    def exact(self, value: str, *, purpose: str, kid: str | None = None) -> str:
        """The exact index of ``value`` under the write key ("" for an empty value)."""
        text = normalise(value)
        if not text:
            return ""
        key = self._key(kid or self.write_kid)
        data = purpose.encode() + b"\x00" + text.encode()
        return hmac.new(key, data, hashlib.sha256).hexdigest()[:32]

    def exact_all(self, value: str, *, purpose: str) -> list[str]:
        """The exact index of ``value`` under every key a search asks under."""
        return [i for i in (self.exact(value, purpose=purpose, kid=k) for k in self.read_kids) if i]

    def token(self, term: str, *, purpose: str, kid: str | None = None) -> int:
        """One search token of ``term`` (already normalised by the caller's tokeniser)."""
        key = self._key(kid or self.write_kid)
        digest = hmac.digest(key, purpose.encode() + b"\x01" + term.encode(), "sha256")
        return int.from_bytes(digest[:8], "big", signed=True)

    def tokens(self, terms: Iterable[str], *, purpose: str) -> list[int]:
        """Tokens of ``terms`` under the write key, each once (``token``'s, the key looked up
        once: a message's dozens of terms are keyed at every ingestion)."""
        key, prefix = self._key(self.write_kid), purpose.encode() + b"\x01"
        return list(
            dict.fromkeys(
                int.from_bytes(
                    hmac.digest(key, prefix + t.encode(), "sha256")[:8], "big", signed=True
                )
                for t in terms
            )
        )

    def token_all(self, term: str, *, purpose: str) -> list[int]:
        """``term``'s token under every key a search asks under."""
        return [self.token(term, purpose=purpose, kid=k) for k in self.read_kids]


def org_index(organisation: object) -> OrgIndex:
    """The index keys of an organisation (anything with ``id``, ``index_key_id`` and
    ``index_key_next``: the model, or a row read with those columns)."""
    org_id = int(getattr(organisation, "id"))  # noqa: B009 - any object with these attributes
    kid = getattr(organisation, "index_key_id", "") or current_kid()
    nxt = getattr(organisation, "index_key_next", "") or ""
    return OrgIndex(
        organisation_id=org_id,
        write_kid=nxt or kid,
        read_kids=(kid, nxt) if nxt and nxt != kid else (kid,),
    )


_CACHE: dict[int, tuple[float, OrgIndex]] = {}
CACHE_SECONDS = 2.0


def org_index_for(organisation_id: int) -> OrgIndex:
    """``org_index`` read from the database by id, kept ``CACHE_SECONDS`` per process (an index
    rotation waits longer than that after it starts, before it rewrites any row)."""
    import time

    from inbox.models import Organisation

    now = time.monotonic()
    hit = _CACHE.get(organisation_id)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    row = Organisation.objects.only("id", "index_key_id", "index_key_next").get(pk=organisation_id)
    index = org_index(row)
    if len(_CACHE) > 10_000:
        _CACHE.clear()
    _CACHE[organisation_id] = (now, index)
    return index


def forget_org_index(organisation_id: int | None = None) -> None:
    """Drop cached index keys (after a rotation step, and between tests)."""
    if organisation_id is None:
        _CACHE.clear()
    else:
        _CACHE.pop(organisation_id, None)


# --- tokenisers: what a token index holds ----------------------------------------------------


def is_cjk(ch: str) -> bool:
    """A Chinese, Japanese or Korean character (indexed by pairs and singles, not words)."""
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0xF900 <= code <= 0xFAFF
        or 0x3040 <= code <= 0x30FF  # kana
        or 0xAC00 <= code <= 0xD7AF  # hangul
    )


@lru_cache(maxsize=1)
def _t2s() -> dict[str, str]:
    """OpenCC's traditional -> simplified table, one character to one character (as the words
    monitor's normalisation builds it: phrases are not used, so a query and a text convert
    alike whatever surrounds a character)."""
    import opencc

    ranges = [(0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00), (0x20000, 0x2A6E0)]
    chars = [chr(i) for lo, hi in ranges for i in range(lo, hi)]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # never seen; a changed OpenCC would land here
        raise RuntimeError("OpenCC t2s changed the number of lines")
    return {a: b for a, b in zip(chars, converted, strict=True) if a != b and len(b) == 1}


def _fold_char(ch: str) -> str:
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return ""  # combining marks typed apart, zero-width characters
    out = []
    for c in unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", ch).casefold()):
        decomposed = unicodedata.normalize("NFD", c)
        base = ord(decomposed[0])
        if len(decomposed) > 1 and (base < 0x0530 or 0x1E00 <= base < 0x2000):
            c = decomposed[0]  # a Latin, Greek or Cyrillic letter without its accents
        out.append(_t2s().get(c, c))
    return "".join(out)


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled on first sight of each code point."""

    def __missing__(self, code: int) -> str:
        self[code] = folded = _fold_char(chr(code))
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """What search terms compare (messages and names): per character NFKC, case folding,
    accents of Latin, Greek and Cyrillic letters removed, traditional Chinese as simplified.
    So ``ＣＡＦÉ`` finds ``cafe`` and ``訂單`` finds ``订单``. Not the words monitor's evasion rules
    (look-alike letters, Chinese numerals as digits, separators closed up): they would merge
    words and split Chinese pairs (``一次`` -> ``1次``); see docs/customer-data.md."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD)


_CJK_RANGES = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002a6df"
)
# A run of CJK characters, or a run of other letters and digits (``_`` and punctuation split).
_TERM = re.compile(f"((?:(?=\\w)[{_CJK_RANGES}])+)|([^\\W_{_CJK_RANGES}]+)")


def text_terms(text: str, *, max_terms: int = 512, singles: bool = False) -> list[str]:
    """The terms a text is indexed under and a query is split into: words of other scripts
    (folded, at most 40 characters), and for Chinese, Japanese and Korean runs every character
    pair (a single character where the run has one). ``singles``: every character of such a
    run as well (what a message is indexed under, so one typed character finds it). Each term
    once, in order."""
    out: dict[str, None] = {}
    for run, word in _TERM.findall(fold(text)):
        if word:
            out.setdefault(word[:40])
        elif len(run) == 1:
            out.setdefault(run)
        else:
            for i in range(len(run) - 1):
                out.setdefault(run[i : i + 2])
            if singles:
                for ch in run:
                    out.setdefault(ch)
        if len(out) >= max_terms:
            break
    return list(out)[:max_terms]


def prefix_terms(text: str, *, shortest: int = 2, longest: int = 12) -> list[str]:
    """Name terms for search as people type: each word's prefixes (``shortest`` to ``longest``
    characters) and, for Chinese runs, every single character and pair."""
    out: dict[str, None] = {}
    for term in text_terms(text):
        if any(is_cjk(ch) for ch in term):
            for ch in term:
                out.setdefault(ch)
            out.setdefault(term)
            continue
        for n in range(min(shortest, len(term)), min(longest, len(term)) + 1):
            out.setdefault(term[:n])
    return list(out)


def _digits(text: str) -> str:
    """The decimal digits of ``text`` as ASCII (full-width and other scripts' digits too)."""
    return "".join(
        str(unicodedata.decimal(ch)) for ch in text if unicodedata.decimal(ch, None) is not None
    )


def phone_terms(phone: str) -> list[str]:
    """A phone number's search forms: all its digits, and its last 11 to 8 digits (the
    number typed without its country code)."""
    digits = _digits(phone)
    if len(digits) < 6:
        return []
    forms = [digits] + [digits[-n:] for n in (11, 10, 9, 8) if len(digits) > n]
    return list(dict.fromkeys(forms))


def phone_query(phone: str) -> str:
    """What a typed phone number is looked up as (its digits)."""
    return _digits(phone)


def phone_query_forms(phone: str) -> list[str]:
    """The forms a typed phone number is looked up under: its digits, and without the national
    trunk prefix or the 00 of an international call (``07700 900123`` and ``0044 7700 900123`` find
    ``+44 7700 900123``)."""
    digits = _digits(phone)
    if len(digits) < 6:
        return []
    national = digits.lstrip("0")
    if national != digits and len(national) >= 8:
        return [digits, national]
    return [digits]
