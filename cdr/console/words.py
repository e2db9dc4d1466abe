"""Words for what the store and the audit log hold as codes: a reason, an event, and the
explanation of a held file — the notice its staff read in the outbox (``cdr.notices``),
in the person's language, so the console and the notice never say different things."""

from __future__ import annotations

from typing import Any

from cdr.names import display
from cdr.notices import SEPARATOR, notice_text
from cdr.quarantine import Entry
from cdr.reasons import REASONS_ADMIN, in_japanese

EVENTS: dict[str, tuple[str, str]] = {
    "received": ("受付", "received"),
    "identified": ("種類の判定", "identified"),
    "decided": ("処理方法の決定", "decided"),
    "sanitized": ("無害化", "sanitized"),
    "verified": ("無害化後の検査", "verified"),
    "released": ("送付", "released"),
    "quarantined": ("隔離", "quarantined"),
    "rejected": ("処理できず", "rejected"),
    "unlock": ("パスワードで解除", "unlocked with a password"),
    "quarantine-rerun": ("再処理", "re-run"),
    "releasing-original": ("原本の送付を開始", "handing over the original"),
    "released-original": ("原本を送付", "original handed over"),
    "quarantine-deleted": ("削除", "deleted"),
    "quarantine-purged": ("保存期間切れで削除", "purged after the retention"),
    "notice-replaced": ("お知らせを差し替え", "notice replaced"),
    "original-requested": ("原本取り出しの申請", "original requested"),
    "original-approved": ("申請を承認", "request approved"),
    "original-rejected": ("申請を却下", "request rejected"),
    "original-request-expired": ("申請の期限切れ", "request expired"),
}


def reason_words(lang: str, code: str) -> str:
    """A reason code in words: the staff's Japanese sentence, or the administrator's English."""
    if not code:
        return ""
    if lang == "en":
        return REASONS_ADMIN.get(code, code)
    return in_japanese(code)


def event_words(lang: str, event: str) -> str:
    words = EVENTS.get(event)
    if words is None:
        return event
    return words[1] if lang == "en" else words[0]


def explanation(lang: str, entry: Entry) -> list[str]:
    """The notice of the entry as it stands now, in ``lang``, as paragraphs (lines kept)."""
    text = notice_text(entry.id, entry.meta, str(entry.meta.get("contact") or ""), kept=entry.original.exists())
    japanese, _sep, english = text.partition(SEPARATOR)
    chosen = english if lang == "en" and english else japanese
    return [block.strip("\n") for block in chosen.strip().split("\n\n") if block.strip()]


# who did it, by the field each kind of record names them in
WHO = ("user", "admin", "requested_by", "approved_by", "rejected_by")
_NOT_DETAIL = frozenset({"ts", "seq", "event", "input", "file_id", "sha256", "prev", "hash", *WHO})


def record_row(lang: str, record: dict[str, Any], fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """An audit record as a table row: when, what (in words and as its code), who, about
    which file, and the rest (``fields`` only, when named) as ``key=value``, made safe."""
    event = str(record.get("event") or "")
    detail = {k: v for k, v in record.items() if k not in _NOT_DETAIL and (fields is None or k in fields) and v}
    return {
        "seq": record.get("seq"),
        "ts": record.get("ts"),
        "event": event,
        "event_words": event_words(lang, event),
        "who": next((record[k] for k in WHO if record.get(k)), ""),
        "input": record.get("input") or "",
        "file_id": record.get("quarantine_id") or record.get("file_id") or "",
        "detail": display("; ".join(f"{k}={v}" for k, v in detail.items()))[:400],
    }
