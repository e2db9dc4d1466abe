"""Why a file was held back, in words for staff: one sentence of Japanese per reason.

Used wherever a person reads a reason (the notice beside a held file, the list of members
an archive lost); the reason codes themselves (``cdr.errors``) stay in logs and JSON.
"""

from __future__ import annotations

REASONS_JA: dict[str, str] = {
    "malformed": "ファイルが壊れているか、形式が正しくありません",
    "encrypted": "パスワードで暗号化されています（管理者がパスワードで解除できます）",
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
    "blocked-type": "ポリシーで受け入れない形式です（実行ファイル、スクリプトなど）",
    "extension-mismatch": "拡張子と中身が一致しません（偽装の疑い）",
    "not-a-regular-file": "通常のファイルではありません（リンクやデバイスなど）",
    "sanitize-failed": "無害化の処理に失敗しました",
    "internal-error": "装置内部のエラーです（管理者にご連絡ください）",
    "operational-error": "装置側の問題で処理できませんでした（管理者にご連絡ください）",
    "bad-answer": "解析処理から想定外の応答があったため、安全のため届けませんでした",
}


def in_japanese(reason: str) -> str:
    """The reason in Japanese; a code without words (never shipped: a test checks) as itself."""
    return REASONS_JA.get(reason, reason)
