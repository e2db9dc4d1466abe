"""The quarantine store: ``<store>/<id>/original.bin`` (read-only) and ``meta.json``.

An entry is built in a hidden ``.incoming-<id>`` folder and renamed into place, so an
entry either exists whole or not at all — crash recovery relies on that. The original
never keeps its own name here: a double-click in a file manager must not run it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from cdr.durable import fsync_dir, write_json
from cdr.errors import OperationalError, UsageError
from cdr.names import valid_id
from cdr.release import FILE_MODE, publish

ORIGINAL = "original.bin"
META = "meta.json"

NOTICE_TEMPLATE = """\
【無害化できなかったファイルのお知らせ】

ファイル「{name}」は安全に無害化できなかったため、LGWAN 側には届けていません。
理由: {reason_ja}（{reason}）
詳細: {message}
受付番号: {qid}
日時: {when}

このファイルが業務に必要な場合は、受付番号を添えて {contact} にご連絡ください。
送信元に、別の形式（PDF など）で送り直してもらうことでも解決できる場合があります。

--------------------------------------------------------------------
[Notice: a file could not be made safe]

The file "{name}" could not be made safe and was not delivered to the LGWAN side.
Reason: {reason} — {message}
Quarantine ID: {qid}
Time: {when}

If you need this file, contact {contact} and quote the quarantine ID.
"""

REASONS_JA = {
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
}


@dataclass(frozen=True)
class Entry:
    id: str
    folder: Path
    meta: dict[str, Any]

    @property
    def original(self) -> Path:
        return self.folder / ORIGINAL


class QuarantineStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _ensure(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OperationalError(f"{self.root}: cannot create the quarantine: {exc.strerror}") from None

    def exists(self, qid: str) -> bool:
        return (self.root / qid / META).exists()

    def store(self, qid: str, original_fd: int | None, meta: dict[str, Any]) -> Entry:
        self._ensure()
        final = self.root / qid
        if final.exists():
            return self.get(qid)
        incoming = self.root / f".incoming-{qid}"
        shutil.rmtree(incoming, ignore_errors=True)
        incoming.mkdir(mode=0o750)
        if original_fd is not None:
            os.lseek(original_fd, 0, os.SEEK_SET)
            with open(incoming / ORIGINAL, "wb") as dst:
                while chunk := os.read(original_fd, 1 << 20):
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            os.chmod(incoming / ORIGINAL, 0o400)
        meta = {**meta, "id": qid, "status": "quarantined"}
        write_json(incoming / META, meta, indent=2)
        os.rename(incoming, final)
        fsync_dir(self.root)
        return Entry(qid, final, meta)

    def get(self, qid: str) -> Entry:
        if not valid_id(qid):
            raise UsageError(f"{qid!r} is not a quarantine ID (26 characters, e.g. 01J…)")
        folder = self.root / qid
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"no quarantine entry {qid} in {self.root}") from None
        return Entry(qid, folder, meta)

    def entries(self) -> Iterator[Entry]:
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and valid_id(folder.name) and (folder / META).exists():
                yield self.get(folder.name)

    def update(self, qid: str, **changes: Any) -> Entry:
        entry = self.get(qid)
        meta = {**entry.meta, **changes}
        os.chmod(entry.folder, 0o750)
        write_json(entry.folder / META, meta, indent=2)
        return Entry(qid, entry.folder, meta)

    def delete(self, qid: str) -> None:
        entry = self.get(qid)
        graveyard = self.root / f".deleting-{qid}"
        os.rename(entry.folder, graveyard)
        shutil.rmtree(graveyard)

    def older_than(self, seconds: float) -> list[Entry]:
        limit = time.time() - seconds
        return [e for e in self.entries() if (e.folder / META).stat().st_mtime < limit]


def write_notice(
    outbox: Path, relative: PurePosixPath, qid: str, reason: str, message: str, contact: str
) -> PurePosixPath:
    """A bilingual notice where the output would have gone: ``<name>.quarantined.txt``."""
    text = NOTICE_TEMPLATE.format(
        name=relative.name,
        reason=reason,
        reason_ja=REASONS_JA.get(reason, reason),
        message=message,
        qid=qid,
        contact=contact,
        when=datetime.now(UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
    )
    notice = relative.with_name(relative.name + ".quarantined.txt")
    folder = (outbox / notice).parent
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".cdr-{qid}.notice.partial"
    try:
        # UTF-8 with BOM and CRLF: Notepad on an older LGWAN PC shows it correctly.
        with open(temp, "wb") as handle:
            handle.write(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
            handle.flush()
            os.fchmod(handle.fileno(), FILE_MODE)
            os.fsync(handle.fileno())
        return publish(temp, outbox, notice)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
