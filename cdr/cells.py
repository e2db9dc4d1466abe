"""Text measured in terminal cells: Japanese (wide) characters take two. For tables that
must fit an 80-column terminal (`quarantine list`, `report`)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=8192)
def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def cells(text: str) -> int:
    """How many terminal cells ``text`` takes."""
    if text.isascii():  # most cells of a table: counted without looking at each character
        return len(text)
    return sum(map(_width, text))


def take(text: str, room: int) -> str:
    """The longest beginning of ``text`` that fits in ``room`` cells."""
    if text.isascii():
        return text[: max(room, 0)]
    used = 0
    for index, char in enumerate(text):
        used += _width(char)
        if used > room:
            return text[:index]
    return text


def fit(text: str, room: int, middle: bool = False) -> str:
    """``text`` cut to ``room`` cells and padded to them (cut in the middle for names, where
    a path or a title loses least)."""
    if cells(text) > room:
        left = room - 1  # the "…"
        head = take(text, left // 2 if middle else left)
        tail = take(text[::-1], left - cells(head))[::-1] if middle else ""
        text = head + "…" + tail
    return text + " " * (room - cells(text))


BREAKS = " 、，,。"  # after a space, a comma or the end of a Japanese sentence


def wrap(text: str, room: int) -> list[str]:
    """``text`` in lines of at most ``room`` cells: broken after a space or a comma in the
    line's second half, else where the room ends (Japanese has no spaces to break at)."""
    lines = []
    while cells(text) > room:
        head = take(text, room)
        at = max(head.rfind(c) for c in BREAKS) + 1
        head = head[:at] if at > len(head) // 2 else head
        lines.append(head.rstrip())
        text = text[len(head) :]
    return [*lines, text]
