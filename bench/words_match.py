"""Sensitive-word matching: a 20,000-entry list (English and Chinese, generated deterministically
around the shipped defaults) screening replies of 500 characters.

    .venv/bin/python -m bench.words_match [--entries 20000] [--replies 2000] [--large-kb 1024]

Pure Python, no database. Prints, with the load average it ran under (other processes share the
cores):

* rebuild: ``Screener.build`` of the whole list, cold (no word normalised and no automaton built
  yet in this process), warm (one entry changed: the other words' normalised forms and the
  automata of the shards it did not touch are cached: what a list change costs a running
  process), and pre-normalised (cold, but with ``EntrySpec.normalised`` given, as the database
  has it), median of 5, wall and CPU time;
* per reply: ``Screener.scan`` (normalisation of both views, the automaton, the four detectors,
  offsets, masking) p50/p99 over the replies, and normalisation alone;
* throughput on a large mixed text: the whole scan, the automaton alone on the normalised text,
  and the baseline in the same process, a regex alternation of every word (longest first) on the
  same normalised text, with its compile time. The regex runs on a slice (it is that slow) and
  the ratio compares MB/s.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitoring.words import automaton as automaton_module
from monitoring.words import normalise as normalise_module
from monitoring.words.automaton import Automaton
from monitoring.words.defaults import DEFAULT_CATEGORY_ACTIONS, default_entries
from monitoring.words.normalise import normalise_views, normalise_word
from monitoring.words.screener import EntrySpec, Screener

SEED = 15
ACTIONS = DEFAULT_CATEGORY_ACTIONS
CATEGORIES = ("off_platform", "review_manipulation", "abuse", "forbidden_promise", "custom")
SYLLABLES = [
    "ka",
    "ro",
    "mi",
    "tel",
    "su",
    "van",
    "dor",
    "ple",
    "xi",
    "qua",
    "zen",
    "bri",
    "lo",
    "ham",
    "fet",
    "gu",
    "nor",
    "pix",
    "sal",
    "tor",
    "wim",
    "yel",
    "cra",
    "dra",
    "fli",
    "gro",
    "plu",
    "sna",
    "twe",
    "vok",
    "zup",
    "jin",
    "bex",
]
# Common characters, so generated Chinese words do turn up in generated Chinese text.
HANZI = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下"
    "过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都"
    "两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重"
    "新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想"
)
EVERYDAY = (
    "Thanks for your order, it ships within 48 hours and the tracking number follows. ",
    "Your refund of $45.50 was approved on 2024-05-01; it reaches your card in 3-5 days. ",
    "Could you send a photo of the damaged box? We will arrange a replacement for you. ",
    "您好，您的订单576543210987654321已经发货，快递单号773123456789012，请注意查收。",
    "这件衣服是纯棉的，可以机洗，尺码偏小，建议您选大一码，有问题随时联系我们。",
    "亲，退款会在3到5个工作日内原路退回，金额一共128元，感谢您的耐心等待。",
)


def _word(rng: random.Random) -> str:
    if rng.random() < 0.5:
        parts = [
            "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
            for _ in range(rng.randint(1, 3))
        ]
        return " ".join(parts)
    return "".join(rng.choice(HANZI) for _ in range(rng.randint(3, 5)))


def make_entries(n: int) -> list[EntrySpec]:
    rng = random.Random(SEED)
    actions = DEFAULT_CATEGORY_ACTIONS
    entries = [EntrySpec(w, c, actions[c]) for w, c in default_entries()]
    seen = {normalise_word(e.word) for e in entries}
    while len(entries) < n:
        word = _word(rng)
        key = normalise_word(word)
        if key and key not in seen:
            seen.add(key)
            category = rng.choice(CATEGORIES)
            entries.append(EntrySpec(word, category, actions[category]))
    return entries


def make_reply(rng: random.Random, entries: list[EntrySpec], size: int = 500) -> str:
    """Everyday sentences, and in one reply of four a list word (one time in two evasively
    spaced out)."""
    text = ""
    while len(text) < size:
        text += rng.choice(EVERYDAY)
    if rng.random() < 0.25:
        word = rng.choice(entries).word
        if rng.random() < 0.5:
            word = " ".join(word)
        at = rng.randrange(0, size - len(word) - 1)
        text = text[:at] + " " + word + " " + text[at:]
    return text[:size]


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.3f} ms"


def _pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(fn) -> tuple[int, int]:
    """Wall time and this thread's CPU time (the automaton is built and searched in the calling
    thread): on a shared machine the CPU time leaves out the waits for a core."""
    wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
    fn()
    return time.perf_counter_ns() - wall, time.thread_time_ns() - cpu


def bench_rebuild(entries: list[EntrySpec]) -> None:
    times: dict[str, list[tuple[int, int]]] = {"cold": [], "warm": [], "pre-normalised": []}
    normalised = [EntrySpec(e.word, e.category, e.action, normalise_word(e.word)) for e in entries]
    for i in range(5):
        normalise_module._WORD_CACHE.clear()
        automaton_module._cache.clear()
        times["cold"].append(_timed(lambda: Screener.build(entries, detector_actions=ACTIONS)))
        changed = [*entries[:-1], EntrySpec(f"changed word {i}", "custom", "flag")]
        times["warm"].append(_timed(lambda: Screener.build(changed, detector_actions=ACTIONS)))  # noqa: B023
        normalise_module._WORD_CACHE.clear()
        automaton_module._cache.clear()
        times["pre-normalised"].append(
            _timed(lambda: Screener.build(normalised, detector_actions=ACTIONS))
        )
    print(f"rebuild of {len(entries)} entries, median of 5 (target <= 100 ms):")
    for name, values in times.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print(f"  {name:15} wall {_ms(wall)}, cpu {_ms(cpu)}")


def bench_replies(screener: Screener, replies: list[str]) -> dict[str, list[int]]:
    times: dict[str, list[int]] = {
        "scan wall": [],
        "scan cpu": [],
        "normalise wall": [],
        "normalise cpu": [],
    }
    hits = sum(1 for reply in replies if screener.scan(reply).matches)
    for reply in replies:
        wall, cpu = _timed(lambda: screener.scan(reply))  # noqa: B023 (called at once)
        times["scan wall"].append(wall)
        times["scan cpu"].append(cpu)
        wall, cpu = _timed(lambda: normalise_views(reply))  # noqa: B023
        times["normalise wall"].append(wall)
        times["normalise cpu"].append(cpu)
    print(f"per 500-char reply ({len(replies)} replies, {hits} with a match):")
    return times


def bench_throughput(screener: Screener, entries: list[EntrySpec], text: str, regex_kb: int):
    mb = len(text.encode()) / 1e6
    start = time.perf_counter()
    screener.scan(text)
    scan_s = time.perf_counter() - start
    views = normalise_views(text)
    automaton = Automaton(sorted({normalise_word(e.word) for e in entries}))
    start = time.perf_counter()
    automaton.find(views.words.text, lambda: views.joins)
    ac_s = time.perf_counter() - start
    words = sorted({normalise_word(e.word) for e in entries}, key=len, reverse=True)
    start = time.perf_counter()
    pattern = re.compile("|".join(map(re.escape, words)))
    compile_s = time.perf_counter() - start
    sample = views.words.text[: regex_kb * 1024]
    sample_mb = len(sample.encode()) / 1e6
    start = time.perf_counter()
    regex_hits = sum(1 for _ in pattern.finditer(sample))
    regex_s = time.perf_counter() - start
    print(f"  large text: {mb:.2f} MB (UTF-8), regex sample {sample_mb:.3f} MB, {regex_hits} hits")
    print(f"  scan (normalise + automaton + detectors): {mb / scan_s:8.2f} MB/s")
    print(f"  automaton alone on the normalised text:   {mb / ac_s:8.2f} MB/s")
    print(
        f"  regex alternation (baseline):             {sample_mb / regex_s:8.2f} MB/s"
        f"   (compile {compile_s * 1000:.0f} ms)"
    )
    print(
        f"  ratio automaton / regex: {(mb / ac_s) / (sample_mb / regex_s):.0f}x;"
        f" scan / regex: {(mb / scan_s) / (sample_mb / regex_s):.0f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--replies", type=int, default=2000)
    parser.add_argument("--large-kb", type=int, default=1024)
    parser.add_argument("--regex-kb", type=int, default=64)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    normalise_module._t2s()  # the OpenCC table: once per process, not part of a rebuild
    entries = make_entries(args.entries)
    bench_rebuild(entries)
    screener = Screener.build(entries, detector_actions=ACTIONS)
    rng = random.Random(SEED + 1)
    replies = [make_reply(rng, entries) for _ in range(args.replies)]
    for reply in replies[:50]:  # warm the character table and the regex caches
        screener.scan(reply)
    times = bench_replies(screener, replies)
    for name, values in times.items():
        print(
            f"  {name:15} p50 {_ms(_pct(values, 0.5))}, p99 {_ms(_pct(values, 0.99))},"
            f" max {_ms(max(values))}"
        )
    print("  (target: scan p99 <= 1 ms)")
    large = "".join(replies)
    while len(large.encode()) < args.large_kb * 1024:
        large += large
    bench_throughput(screener, entries, large[: args.large_kb * 1024], args.regex_kb)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
