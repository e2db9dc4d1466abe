"""Words for what the store and the audit log hold as codes: a reason, an event, and the
explanation of a held file — the notice its staff read in the outbox (``cdr.notices``),
in the person's language, so the console and the notice never say different things."""

from __future__ import annotations

from typing import Any

from cdr.names import display
from cdr.notices import SEPARATOR, notice_text, type_words
from cdr.quarantine import Entry
from cdr.reasons import in_english, in_japanese
from cdr.sandbox_layers import LAYERS

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
    "console-login": ("管理画面にログイン", "logged in to the console"),
    "console-login-failed": ("ログインの失敗", "failed login"),
    "console-logout": ("管理画面からログアウト", "logged out of the console"),
    "console-locked-out": ("ログインの一時停止", "login locked for a while"),
    "console-audit-verified": ("監査ログの検査", "audit log verified"),
    "console-csp-report": ("ブラウザーが止めた読み込み", "content the browser blocked (CSP)"),
    "user-added": ("利用者の追加", "user added"),
    "user-password-changed": ("パスワードの変更", "password changed"),
    "user-disabled": ("利用者を無効化", "user disabled"),
    "user-enabled": ("利用者を有効化", "user enabled"),
    "daemon-started": ("監視サービスの起動", "watcher started"),
    "daemon-stopped": ("監視サービスの停止", "watcher stopped"),
    "policy-reloaded": ("ポリシーの読み込み直し", "policy reloaded"),
    "policy-reload-refused": ("ポリシーの読み込み直しを中止", "policy reload refused"),
    "mail-sent": ("メールでのお知らせ", "mail sent"),
    "mail-failed": ("メールを送れず", "mail failed"),
    "outbox-cleaned": ("送付先フォルダーの整理", "outbox cleaned"),
    "outbox-clean-failed": ("送付先フォルダーの整理に失敗", "outbox cleaning failed"),
    "cache-cleared": ("保存した出力の消去", "cache cleared"),
    "audit-rotated": ("監査ログの切り替え", "audit log rotated"),
    "audit-pruned": ("古い監査ログの削除", "old audit log pruned"),
}

# What troubles the watcher (``cdr.daemon.counters.Trouble``), in words; its message stays
# the daemon's own (English, as in the journal), for the administrator
TROUBLES: dict[str, tuple[str, str]] = {
    "place": ("フォルダーの問題", "a folder"),
    "policy-reload": ("ポリシーの読み込み直し", "policy reload"),
    "notices": ("お知らせの確認", "notices"),
    "claim": ("ファイルの取り込み", "taking in a file"),
    "job": ("ファイルの処理（やり直し待ち）", "a file waiting for its next try"),
}

# Next steps of the notice that read differently in front of the console: the password
# form is on the same page (the notice in the outbox still says to forward the mail)
CONSOLE_STEPS: dict[str, tuple[str, str]] = {
    "password": (
        "パスワードを受け取っている場合は、下の「パスワードで開く」に入力してください。"
        "受け取っていない場合は、送信元にパスワードを問い合わせてください。"
        "開いて安全を確認できれば、送付先のフォルダーに届けます。",
        'If you received the password, enter it below under "Unlock with the password". '
        "If not, ask the sender for it. Once it opens and is found safe, it is delivered to the outbox folder.",
    ),
    "wrong-password": (
        "送信元に正しいパスワードを確かめてから、下の「パスワードで開く」にもう一度入力してください。",
        'Ask the sender for the right password, then enter it again below under "Unlock with the password".',
    ),
}
ASK_ORIGINAL = (
    "原本のままで必要な場合は、下の「原本の取り出しを申請する」から申請できます（部署の承認者の承認が必要です）。",
    'If you need the file as it came, use "Ask for the original" below (an approver of your department decides).',
)


def reason_words(lang: str, code: str, file_type: str | None = None) -> str:
    """A reason code in words: the staff's Japanese sentence, or the administrator's English;
    ``file_type`` (what the file really is) tells a blocked program from a macro document."""
    if not code:
        return ""
    return in_english(code, file_type) if lang == "en" else in_japanese(code, file_type)


def pick(lang: str, words: tuple[str, str]) -> str:
    return words[1] if lang == "en" else words[0]


def type_name(lang: str, file_type: str | None) -> str:
    """What a file really is, in the notices' words, as a table cell says it: 「ＰＤＦ」,
    「実行ファイル（プログラム）」; in English without its article ("PDF", "executable program")."""
    if not file_type:
        return ""
    words = pick(lang, type_words(file_type))
    return words.removeprefix("an ").removeprefix("a ") if lang == "en" else words


def layer_words(lang: str, layer: str) -> str:
    """A sandbox layer in words, as `cdr status` says it; one this version has no words for,
    as its name."""
    return pick(lang, LAYERS[layer]) if layer in LAYERS else layer


def trouble_words(lang: str, kind: str) -> str:
    """What kind of trouble the watcher has, in words; an unknown kind as its name."""
    return pick(lang, TROUBLES[kind]) if kind in TROUBLES else kind


def event_words(lang: str, event: str) -> str:
    words = EVENTS.get(event)
    if words is None:
        return event
    return pick(lang, words)


def explanation(lang: str, entry: Entry, may_request: bool = False) -> list[str]:
    """The notice of the entry as it stands now, in ``lang``, as paragraphs (lines kept),
    its next step told as the console does it: the password goes in the form below; where
    the person may ask for the original here, the page says so after the notice's step."""
    meta, contact = entry.meta, str(entry.meta.get("contact") or "")
    text = notice_text(entry.id, meta, contact, kept=entry.original.exists(), steps=CONSOLE_STEPS)
    japanese, _sep, english = text.partition(SEPARATOR)
    chosen = english if lang == "en" and english else japanese
    # the notice's last line (its full ID, for crash recovery) is in the page's details already
    blocks = [block.strip("\n") for block in chosen.strip().split("\n\n") if block.strip() and entry.id not in block]
    if may_request and len(blocks) > 2:  # [title, number, what + danger + step, file lines]
        blocks[2] += "\n" + pick(lang, ASK_ORIGINAL)
    return blocks


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
