"""Buyers' evidence photos, drawn here and served by the simulator itself (``GET
/_sim/media/evidence/{name}.png``), so a demo's after-sales cases show pictures offline.

Plain PNGs made with zlib (no imaging library): a crushed parcel, a cracked plate, a size tag
reading "XS" and a shirt with a tape measure. Drawn once per process and cached.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from functools import cache
from itertools import pairwise

WIDTH, HEIGHT = 480, 360
Colour = tuple[int, int, int]


class Canvas:
    def __init__(self, background: Colour) -> None:
        self.pixels = bytearray(bytes(background) * (WIDTH * HEIGHT))

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: Colour) -> None:
        row = bytes(colour) * (max(0, min(x1, WIDTH) - max(x0, 0)))
        for y in range(max(y0, 0), min(y1, HEIGHT)):
            start = (y * WIDTH + max(x0, 0)) * 3
            self.pixels[start : start + len(row)] = row

    def disc(self, cx: int, cy: int, r: int, colour: Colour) -> None:
        for y in range(max(cy - r, 0), min(cy + r + 1, HEIGHT)):
            half = int((r * r - (y - cy) ** 2) ** 0.5)
            self.rect(cx - half, y, cx + half + 1, y + 1, colour)

    def line(self, points: list[tuple[int, int]], colour: Colour, width: int = 4) -> None:
        for (x0, y0), (x1, y1) in pairwise(points):
            steps = max(abs(x1 - x0), abs(y1 - y0), 1)
            for i in range(steps + 1):
                x = x0 + (x1 - x0) * i // steps
                y = y0 + (y1 - y0) * i // steps
                self.rect(
                    x - width // 2,
                    y - width // 2,
                    x + (width + 1) // 2,
                    y + (width + 1) // 2,
                    colour,
                )

    def text(self, x: int, y: int, word: str, colour: Colour, scale: int) -> None:
        for n, letter in enumerate(word):
            for row, bits in enumerate(FONT[letter]):
                for col in range(5):
                    if bits >> (4 - col) & 1:
                        left = x + (n * 6 + col) * scale
                        self.rect(
                            left, y + row * scale, left + scale, y + (row + 1) * scale, colour
                        )

    def png(self) -> bytes:
        raw = b"".join(
            b"\x00" + bytes(self.pixels[y * WIDTH * 3 : (y + 1) * WIDTH * 3]) for y in range(HEIGHT)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            body = kind + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

        header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


# 5x7 letters, one int per row (bit 4 is the leftmost column).
FONT = {
    "X": (0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001),
    "S": (0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110),
    "L": (0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111),
    "M": (0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001),
}
CARDBOARD, DARK_CARDBOARD, TAPE = (196, 150, 98), (150, 108, 64), (226, 206, 160)
INK, WALL, SHIRT = (40, 36, 34), (232, 232, 236), (70, 120, 190)


def _parcel() -> Canvas:
    c = Canvas(WALL)
    c.rect(0, 300, WIDTH, HEIGHT, (180, 180, 186))  # the floor
    c.rect(110, 110, 370, 310, CARDBOARD)
    c.rect(110, 80, 370, 110, DARK_CARDBOARD)  # the lid
    c.rect(225, 80, 255, 310, TAPE)
    for y in range(80, 170):  # the crushed corner
        c.rect(370 - (170 - y), y, 372, y + 1, WALL)
    c.line([(150, 140), (185, 175), (165, 210), (205, 250), (190, 290)], INK, 5)
    c.line([(300, 190), (330, 215), (315, 245)], INK, 4)
    return c


def _plate() -> Canvas:
    c = Canvas((200, 220, 236))
    c.disc(240, 180, 140, (250, 250, 250))
    c.disc(240, 180, 100, (238, 238, 240))
    c.line([(170, 60), (205, 120), (190, 170), (235, 215), (225, 260), (260, 318)], INK, 5)
    c.line([(205, 120), (250, 135)], INK, 3)
    c.rect(300, 290, 330, 305, (250, 250, 250))  # a chip on the table
    return c


def _shirt(c: Canvas) -> None:
    c.rect(150, 90, 330, 320, SHIRT)  # body
    c.line([(150, 95), (90, 170)], SHIRT, 44)  # sleeves
    c.line([(330, 95), (390, 170)], SHIRT, 44)
    c.disc(240, 88, 28, (245, 240, 230))  # neck


def _size_tag() -> Canvas:
    c = Canvas((245, 240, 230))
    _shirt(c)
    c.rect(195, 120, 285, 190, (255, 255, 255))
    c.text(206, 131, "XS", INK, 7)
    return c


def _tape_measure() -> Canvas:
    c = Canvas((245, 240, 230))
    _shirt(c)
    c.rect(60, 220, 420, 252, (250, 210, 40))
    for x in range(64, 420, 12):
        c.rect(x, 220, x + 2, 232 if (x - 64) % 60 else 242, INK)
    c.text(340, 40, "M", (200, 40, 40), 8)
    return c


DRAWINGS: dict[str, Callable[[], Canvas]] = {
    "damaged-parcel": _parcel,
    "damaged-item": _plate,
    "wrong-size-tag": _size_tag,
    "wrong-size-measure": _tape_measure,
}
# What a buyer photographs, by the words of their request (first match wins).
EVIDENCE_BY_WORDS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("damag", "broken", "crush", "crack", "损坏", "破"), ("damaged-parcel", "damaged-item")),
    (
        ("size", "fit", "small", "large", "尺码", "大", "小"),
        ("wrong-size-tag", "wrong-size-measure"),
    ),
]


@cache
def png(name: str) -> bytes:
    """The PNG of evidence photo ``name`` (KeyError for an unknown one)."""
    return DRAWINGS[name]().png()


def evidence_for(reason_text: str) -> tuple[str, ...]:
    """The photos a buyer with this complaint attaches (none when nothing fits)."""
    lowered = reason_text.lower()
    return next(
        (names for words, names in EVIDENCE_BY_WORDS if any(w in lowered for w in words)), ()
    )


def image(base_url: str, name: str) -> dict[str, object]:
    """A return record's image (``{url, width, height}``) served by this simulator."""
    if name not in DRAWINGS:
        raise KeyError(f"no evidence photo {name!r}")
    return {"url": f"{base_url}/_sim/media/evidence/{name}.png", "width": WIDTH, "height": HEIGHT}
