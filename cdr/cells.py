"""Text measured in terminal cells: Japanese (wide) characters take two. For tables that
must fit an 80-column terminal (`quarantine list`, `report`)."""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate


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
    return text[: bisect_right(list(accumulate(map(_width, text))), room)]


def fit(text: str, room: int, middle: bool = False) -> str:
    """``text`` cut to ``room`` cells and padded to them (cut in the middle for names, where
    a path or a title loses least). Each character's width is looked up once: a table of
    ten thousand rows is fitted in a blink."""
    if text.isascii() and len(text) <= room:  # most cells of a table: nothing to measure
        return text + " " * (room - len(text))
    widths = [1] * len(text) if text.isascii() else list(map(_width, text))
    used = sum(widths)
    if used > room:
        left = room - 1  # the "…"
        ends = list(accumulate(widths))
        kept = bisect_right(ends, left // 2 if middle else left)
        head_cells = ends[kept - 1] if kept else 0
        tail, tail_cells = "", 0
        if middle:
            backwards = list(accumulate(reversed(widths)))
            last = bisect_right(backwards, left - head_cells)
            tail, tail_cells = text[len(text) - last :] if last else "", backwards[last - 1] if last else 0
        text = text[:kept] + "…" + tail
        used = head_cells + _width("…") + tail_cells
    return text + " " * (room - used)


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
