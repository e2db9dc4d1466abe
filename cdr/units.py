"""Durations and sizes as people write them (``30d``, ``90s``, ``200 MiB``), read one way.

The policy, the config file and the command line all take them; each caller only says
what a bare number means and wraps the ``ValueError`` in its own kind of error, so the
message naming what is allowed is the same everywhere.
"""

from __future__ import annotations

import re
from typing import Any

from cdr.i18n import N_, _

SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
UNIT_NAMES = {"ms": N_("milliseconds"), "s": N_("seconds"), "m": N_("minutes"), "h": N_("hours"), "d": N_("days")}
BYTES = {
    "b": 1,
    "kb": 10**3,
    "kib": 2**10,
    "mb": 10**6,
    "mib": 2**20,
    "gb": 10**9,
    "gib": 2**30,
    "tb": 10**12,
    "tib": 2**40,
}

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*")
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?\s*", re.I)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def duration(value: Any, bare: str = "s", zero: bool = False) -> float:
    """Seconds in ``value``: a number of ``bare`` units, or text such as ``500ms``, ``90m``, ``30d``.

    More than zero (or zero, where ``zero`` allows it: "purge everything").
    """
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match:
        seconds = float(match.group(1)) * SECONDS[match.group(2) or bare]
    elif _number(value):
        seconds = float(value) * SECONDS[bare]
    else:
        seconds = -1.0
    if seconds > 0 or (zero and seconds == 0):
        return seconds
    allowed = (
        _("a number zero or more with ms, s, m, h or d, such as 90s, 30m or 30d; a bare number means {unit}")
        if zero
        else _("a number above zero with ms, s, m, h or d, such as 90s, 30m or 30d; a bare number means {unit}")
    )
    raise ValueError(
        _("{value} is not a duration (allowed: {allowed})").format(
            value=repr(value), allowed=allowed.format(unit=_(UNIT_NAMES[bare]))
        )
    )


def size(value: Any) -> int:
    """Bytes in ``value``: a whole number, or text such as ``512 KiB``, ``200MB``, ``1.5 GiB``."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(
            _("{value} is not a size (allowed: a positive number with B, KB, KiB, MB, MiB, GB, GiB)").format(
                value=repr(value)
            )
        )
    return int(float(match.group(1)) * BYTES[(match.group(2) or "b").lower()])
