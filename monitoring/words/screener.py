"""A compiled word list: ``Screener.build`` once per list version, ``scan`` per text.

``scan`` normalises the text once (both views, normalise.py), runs the automaton over the words
view and the enabled detectors over the detectors' view, maps every hit back to the original
text, drops hits inside an allow phrase, and resolves the send's action (block > mask > flag).
Pure Python over the Rust automaton; no models, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from monitoring.words import detectors
from monitoring.words.automaton import Automaton
from monitoring.words.defaults import PLATFORM_DOMAINS
from monitoring.words.normalise import normalise_views, normalise_word

SEVERITY = {"block": 3, "mask": 2, "flag": 1}
ACTIONS = frozenset(SEVERITY)
MASK_CHAR = "*"


@dataclass(frozen=True)
class EntrySpec:
    word: str
    category: str
    action: str  # already resolved (block/mask/flag/allow); allow: the word does not apply
    # The word's normalise_word() when the caller has it (WordEntry.normalised): saves the
    # normalisation on a cold build. Empty: worked out here.
    normalised: str = ""


@dataclass(frozen=True)
class Match:
    start: int  # offsets in the ORIGINAL text
    end: int
    category: str
    action: str
    word: str  # the list's word; "" for a detector's match


@dataclass(frozen=True)
class ScanResult:
    matches: tuple[Match, ...]
    action: str  # most severe of block > mask > flag, "" when nothing matched
    masked_text: str  # original with every mask match's characters replaced by "*"


def _normalised_domain(domain: str) -> str:
    host = domain.strip().lower().removeprefix("https://").removeprefix("http://")
    host = host.removeprefix("*.").removeprefix("www.")
    return host.split("/", 1)[0].strip(".")


class Screener:
    """Immutable once built: swap the whole object when the list changes."""

    def __init__(
        self,
        automaton: Automaton,
        targets: dict[str, list[tuple[str, str, str]]],
        allow_keys: frozenset[str],
        detector_actions: dict[str, str],
        allow_domains: frozenset[str],
    ) -> None:
        self._automaton = automaton
        self._targets = targets  # per normalised word: (word, category, action) of its entries
        self._allow_keys = allow_keys  # normalised allow phrases
        self._detector_actions = detector_actions
        self._allow_domains = allow_domains

    @classmethod
    def build(
        cls,
        entries: Iterable[EntrySpec],
        *,
        detector_actions: Mapping[str, str],
        allow_phrases: Iterable[str] = (),
        allow_domains: Iterable[str] = (),
    ) -> Screener:
        """Compile ``entries`` (their words normalised here, cached per word) into one automaton.
        Entries whose action is ``allow`` or whose word normalises to nothing are left out; a
        detector is on when its action is block, mask or flag. The platform's own domains
        (defaults.PLATFORM_DOMAINS) are always allowed."""
        groups: dict[str, list[tuple[str, str, str]]] = {}
        for entry in entries:
            if entry.action in ACTIONS:
                key = entry.normalised or normalise_word(entry.word)
                targets = groups.get(key)
                if targets is None:
                    groups[key] = [(entry.word, entry.category, entry.action)]
                else:
                    targets.append((entry.word, entry.category, entry.action))
        allow_keys = frozenset(normalise_word(phrase) for phrase in allow_phrases)
        for key in allow_keys:
            groups.setdefault(key, [])
        groups.pop("", None)  # a word of separators only matches nothing
        domains = {_normalised_domain(d) for d in (*PLATFORM_DOMAINS, *allow_domains)}
        return cls(
            Automaton(groups),
            groups,
            allow_keys,
            {k: v for k, v in detector_actions.items() if v in ACTIONS},
            frozenset(d for d in domains if d),
        )

    def scan(self, text: str) -> ScanResult:
        """Every match in ``text`` (original offsets, sorted), the send's action and the text
        with the mask matches starred out. Matches inside an allow phrase are dropped, and so is
        a match inside another one at least as severe."""
        if not text:
            return ScanResult((), "", text)
        views = normalise_views(text)
        words, detect = views.words, views.detect
        found: list[Match] = []
        allowed: list[tuple[int, int]] = []
        for key, s, e in self._automaton.find(words.text, lambda: views.joins):
            start, end = words.starts[s], words.ends[e - 1]
            if key in self._allow_keys:
                allowed.append((start, end))
            for word, category, action in self._targets[key]:
                found.append(Match(start, end, category, action, word))
        for s, e, category in self._detect(detect.text):
            action = self._detector_actions[category]
            found.append(Match(detect.starts[s], detect.ends[e - 1], category, action, ""))
        if not found:
            return ScanResult((), "", text)
        if allowed:
            found = [m for m in found if not any(a <= m.start and m.end <= b for a, b in allowed)]
        matches = _without_shadowed(found)
        if not matches:
            return ScanResult((), "", text)
        action = max((m.action for m in matches), key=SEVERITY.__getitem__)
        return ScanResult(matches, action, _masked(text, matches))

    def _detect(self, text: str) -> list[detectors.Found]:
        on = self._detector_actions
        out: list[detectors.Found] = []
        if detectors.PHONE in on:
            out += detectors.find_phones(text)
        if detectors.EMAIL in on:
            out += detectors.find_emails(text)
        if detectors.HANDLE in on:
            out += detectors.find_handles(text)
        if detectors.LINK in on:
            out += detectors.find_links(text, self._allow_domains)
        return out


def _without_shadowed(found: list[Match]) -> tuple[Match, ...]:
    """Sorted by position; a match lying within another that is at least as severe says nothing
    more (``微信`` inside ``加微信``, a link that is also a messenger handle) and is dropped. One
    pass: in start order, a kept match contains the next one when it ends at or after it."""
    ordered = sorted(found, key=lambda m: (m.start, -m.end, -SEVERITY[m.action]))
    reach = {1: -1, 2: -1, 3: -1}  # per severity: the furthest end of a kept match
    kept: list[Match] = []
    for m in ordered:
        severity = SEVERITY[m.action]
        if max(reach[s] for s in (1, 2, 3) if s >= severity) >= m.end:
            continue
        kept.append(m)
        reach[severity] = max(reach[severity], m.end)
    return tuple(kept)


def _masked(text: str, matches: tuple[Match, ...]) -> str:
    spans = [(m.start, m.end) for m in matches if m.action == "mask"]
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = MASK_CHAR * (end - start)
    return "".join(chars)
