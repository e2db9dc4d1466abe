"""Why a file was held back, in words for staff: one sentence of Japanese per reason.

Used wherever a person reads a reason (the notice beside a held file, the list of members
an archive lost); the reason codes themselves (``cdr.errors``) stay in logs and JSON.
"""

from __future__ import annotations

from cdr.i18n import N_, _

REASONS_JA: dict[str, str] = {
    "malformed": "ファイルが壊れているか、形式が正しくありません",
    "encrypted": "パスワードで保護されています",  # unlockable or not depends on the type (RAR: not here)
    "limit-exceeded": "サイズや画素数などの上限を超えています",
    "unsupported-type": "対応していない形式です",
    "converter-unavailable": "変換ソフトが利用できません",
    "wrong-password": "パスワードが違います",
    "memory-limit": "処理に必要なメモリが上限を超えました",
    "verification-failed": "無害化後の検査に合格しませんでした",
    "timeout": "処理が時間内に終わりませんでした",
    "sandbox-crash": "解析中に異常終了しました",
    "cpu-limit": "処理に必要な計算時間が上限を超えました",
    "output-too-large": "無害化後のファイルが大きすぎます",
    "blocked-type": "ポリシーで受け入れない形式です",
    "extension-mismatch": "拡張子と中身が一致しません（偽装の疑い）",
    "not-a-regular-file": "通常のファイルではありません（リンクやデバイスなど）",
    "sanitize-failed": "無害化の処理に失敗しました",
    "internal-error": "装置内部のエラーです（管理者にご連絡ください）",
    "operational-error": "装置側の問題で処理できませんでした（管理者にご連絡ください）",
    "bad-answer": "解析処理から想定外の応答があったため、安全のため届けませんでした",
}


# The same reasons for the administrator at the CLI, in the administrator's language (the
# catalogue's cdr.po): a sanitize or re-run line shows these words beside the code; the
# child's raw message, in English, stays in --json, the -v log and quarantine show.
REASONS_ADMIN: dict[str, str] = {
    "malformed": N_("damaged or not well-formed"),
    "encrypted": N_("protected by a password (unlock it with the password)"),
    "limit-exceeded": N_("over a limit of the policy (size, pixels, pages, members)"),
    "unsupported-type": N_("a type cdr cannot rebuild"),
    "converter-unavailable": N_("the converter (LibreOffice) is not available"),
    "wrong-password": N_("the password is wrong"),
    "memory-limit": N_("needed more memory than the limit"),
    "verification-failed": N_("the rebuilt file did not pass verification"),
    "timeout": N_("did not finish in time"),
    "sandbox-crash": N_("the parser ended abnormally"),
    "cpu-limit": N_("needed more CPU time than the limit"),
    "output-too-large": N_("the rebuilt file is too large"),
    "blocked-type": N_("a type the policy blocks"),
    "extension-mismatch": N_("the name does not match the content"),
    "not-a-regular-file": N_("not a regular file (a link or a device)"),
    "sanitize-failed": N_("the rebuild failed"),
    "internal-error": N_("an internal error of cdr"),
    "operational-error": N_("the appliance could not work on it (see the log)"),
    "bad-answer": N_("the sandbox answered what it was not asked"),
}


# blocked-type by what was blocked: a program is refused for what it does when opened; a
# macro document or another kind only because this appliance's policy says so (a reader
# of 「実行ファイル、スクリプトなど」 beside a .docm would think the document a program)
MACRO_TYPES = frozenset({"docm", "dotm", "xlsm", "xltm", "pptm", "potm", "ppsm"})
BLOCKED_JA: dict[str, str] = {
    "program": "ポリシーで受け入れない形式です（プログラム、または開くとプログラムが動くおそれのあるもの）",
    "macro": "ポリシーで受け入れない形式です（マクロ付きの文書）",
}
BLOCKED_ADMIN: dict[str, str] = {
    "program": N_("a type the policy blocks (a program, or a kind that may start one when opened)"),
    "macro": N_("a type the policy blocks (a document with macros)"),
}


def _blocked_kind(file_type: str | None) -> str | None:
    """``program``, ``macro`` or None (another kind) for the type a blocked file really is."""
    from cdr.notices import runs_when_opened  # notices reads the policy module; reasons stays light

    if file_type in MACRO_TYPES:
        return "macro"
    return "program" if runs_when_opened(file_type) else None


def _words(reason: str, file_type: str | None, table: dict[str, str], blocked: dict[str, str]) -> str | None:
    kind = _blocked_kind(file_type) if reason == "blocked-type" and file_type else None
    return blocked[kind] if kind else table.get(reason)


def for_the_administrator(reason: str, file_type: str | None = None) -> str:
    """「パスワードが違います [wrong-password]」: the words in the administrator's language, then
    the code the guide's tables and the logs use; a blocked file's words say what it is."""
    words = _words(reason, file_type, REASONS_ADMIN, BLOCKED_ADMIN)
    return f"{_(words)} [{reason}]" if words else f"[{reason}]"


def in_english(reason: str, file_type: str | None = None) -> str:
    """The administrator's English words for the reason (untranslated), or the code itself."""
    return _words(reason, file_type, REASONS_ADMIN, BLOCKED_ADMIN) or reason


def in_japanese(reason: str, file_type: str | None = None) -> str:
    """The reason in Japanese; a code without words (never shipped: a test checks) as itself.
    ``file_type`` (what the file really is) picks the words for a blocked type."""
    return _words(reason, file_type, REASONS_JA, BLOCKED_JA) or reason
