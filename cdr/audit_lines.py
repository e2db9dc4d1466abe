"""`cdr audit tail` and `cdr audit show` for a person at a terminal: one record per line, in
Japan time like every other time the CLI shows, cut to the terminal's width with "…" (the
whole record is in ``--json``). A file is named by its 受付番号 (the ID's last eight
characters, which `audit show` and `quarantine show` take); a person by the field their
records carry: ``admin`` for the CLI's and a console action's, ``user`` for a console login."""

from __future__ import annotations

import shutil
from typing import Any

from cdr.cells import fit
from cdr.daemon.counters import japan_time
from cdr.names import display, reception_number

# the fields worth a glance, in this order; the rest is in --json
SHOWN = ("user", "admin", "type", "action", "reason", "output", "quarantine_id", "from_quarantine", "via", "message")
ID_FIELDS = ("quarantine_id", "from_quarantine")


def terminal_width() -> int:
    """The terminal's columns (COLUMNS first); 80 when the output is no terminal."""
    return shutil.get_terminal_size((80, 24)).columns


def record_line(record: dict[str, Any], width: int) -> str:
    """「2026-11-29 14:01:32 #12 released     0000-00AA soumu/a.pdf output=… 」 within ``width``."""
    moment = japan_time(record.get("ts"))
    when = moment.strftime("%Y-%m-%d %H:%M:%S") if moment else display(str(record.get("ts")))
    file_id = record.get("file_id")
    named = reception_number(file_id) if isinstance(file_id, str) and len(file_id) >= 8 else "-"
    extra = []
    for key in SHOWN:
        value = record.get(key)
        if value and not (key in ID_FIELDS and value == file_id):  # an entry named by its own file
            said = reception_number(value) if key in ID_FIELDS and isinstance(value, str) and len(value) >= 8 else value
            extra.append(f"{key}={display(str(said))}")
    line = f"{when} #{record.get('seq')} {display(str(record.get('event'))):<12} {named} "
    line += " ".join([display(str(record.get("input") or "")), *extra])
    return fit(line.rstrip(), max(width, 20)).rstrip()
