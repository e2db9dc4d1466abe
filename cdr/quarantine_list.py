"""`cdr quarantine list` for the terminal: one line per entry in 80 cells, newest last.

In English: number, when, reason code, type, file. In Japanese the reason is said in a few
words beside its code (「パスワード違い wrong-password」) and the type gives its cells to the
name (``quarantine show`` has it); the heading counts the entries as records kept — some
were delivered since — and a last line says what the ``*`` before a reason means.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from cdr.cells import fit
from cdr.i18n import _, ngettext
from cdr.names import display, reception_number

# Each reason in a few words, short enough to stand beside its code in 32 cells.
SHORT_JA: dict[str, str] = {
    "encrypted": "パスワード付き",
    "wrong-password": "パスワード違い",
    "blocked-type": "受け入れない形式",
    "extension-mismatch": "名前の偽装",
    "malformed": "壊れている",
    "limit-exceeded": "上限超え",
    "timeout": "時間切れ",
    "memory-limit": "メモリ上限",
    "cpu-limit": "計算時間の上限",
    "output-too-large": "出力が過大",
    "verification-failed": "検証失敗",
    "sandbox-crash": "異常終了",
    "bad-answer": "異常な応答",
    "unsupported-type": "未対応の形式",
    "converter-unavailable": "変換不可",
    "not-a-regular-file": "リンクなど",
    "sanitize-failed": "作り直せず",
    "internal-error": "装置の不具合",
    "operational-error": "装置の不具合",
    "damaged-entry": "記録が壊れている",  # its meta.json cannot be read (cdr/entry_meta.py)
}
HANDLED = "* "  # before the reason of an entry delivered since (unlocked, re-run, original)

# columns in terminal cells: 80 in all, the file name takes what is left
COLUMNS_EN = (9, 11, 20, 10)
COLUMNS_JA = (9, 11, 32)


def _handled(meta: dict[str, Any]) -> bool:
    return meta.get("status") not in (None, "quarantined")  # released since, or its original handed over


def _line(columns: tuple[int, ...], *fields: str) -> str:
    *cut, name = fields
    room = 80 - sum(columns) - 2 * len(columns)
    return "  ".join([*(fit(f, w) for f, w in zip(cut, columns, strict=True)), fit(name, room, middle=True)]).rstrip()


def _when(meta: dict[str, Any]) -> str:
    # Japan time, as in the notice the caller reads from (the server's clock may be UTC);
    # UTC+9 has no summer time, so the shifted UTC fields are Japan's (and quick to make)
    when = meta.get("quarantined_at")
    if not isinstance(when, (int, float)):
        return "?"  # a damaged entry's record says nothing
    return time.strftime("%m-%d %H:%M", time.gmtime(when + 9 * 3600))


def text_lines(rows: list[tuple[str, dict[str, Any]]], japanese: bool) -> Iterator[str]:
    """The heading, the column titles, one line per entry, and (in Japanese) the key."""
    if not japanese:
        yield ngettext("{count} entry in quarantine", "{count} entries in quarantine", len(rows)).format(count=len(rows))
        yield _line(COLUMNS_EN, _("number"), _("when"), _("reason"), _("type"), _("file"))
        for qid, meta in rows:
            reason = (HANDLED if _handled(meta) else "") + str(meta.get("reason") or "")
            name = display(str(meta.get("input") or ""))
            yield _line(COLUMNS_EN, reception_number(qid), _when(meta), reason, str(meta.get("type") or ""), name)
        return
    delivered = sum(1 for _qid, meta in rows if _handled(meta))
    yield f"お預かり記録: {len(rows)} 件" + (f"（うち {delivered} 件は届け済み）" if delivered else "")
    yield _line(COLUMNS_JA, "受付番号", "日時", "理由", "ファイル")
    for qid, meta in rows:
        code = str(meta.get("reason") or "")
        said = f"{SHORT_JA[code]} {code}" if code in SHORT_JA else code
        reason = (HANDLED if _handled(meta) else "") + said
        yield _line(COLUMNS_JA, reception_number(qid), _when(meta), reason, display(str(meta.get("input") or "")))
    if rows:
        yield "* は届け済みの記録です（パスワード解除・再処理・原本の引き渡しのあと）。"
        yield "種類と詳しい理由は cdr quarantine show 受付番号 で見られます。"
