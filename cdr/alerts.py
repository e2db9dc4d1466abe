"""What the administrator is told by mail: the quarantine alert, the daily summary and the
test mail — Japanese first, English below — and the ``cdr notify`` runs that send them.

**The quarantine alert** is batched: quarantines are read from the audit log (so those of
a batch run, or of a daemon that crashed, count as well), and once the oldest one not yet
told has waited ``mail_batch`` (5 minutes), one mail names every one since. Files that wait
for their password (PPAP: a ZIP whose password the sender mails separately) come first:
they are the ones somebody must act on. Where the last alert ended is remembered in the
spool (``alerted.json``) and inside the waiting message itself, so a crash between the two
neither repeats nor loses an alert. On the very first run nothing is remembered yet: the
quarantines of the last hour are told, not the whole log.

**The daily summary** counts a day (Japan time) from the audit log as `cdr report daily`
does — each file once, by how it ended — with the reasons, and what the quarantine still holds.
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from cdr.audit import AuditLog, records_newest_first
from cdr.config import Settings
from cdr.daemon.counters import JAPAN, japan_time
from cdr.durable import write_json
from cdr.lifeline import Ending, Life, recent_lives
from cdr.mailer import Delivery, MailConfig, MailError, MailSpool, compose, send
from cdr.names import display, reception_number
from cdr.quarantine import QuarantineStore
from cdr.reasons import in_japanese
from cdr.report import endings_summary

PASSWORD = "encrypted"  # the reason of a file that a password would open (PPAP)
CURSOR = "alerted.json"
FIRST_LOOK_BACK = timedelta(hours=1)
LISTED = 100  # lines of files in one mail; the rest are counted
RULE = "-" * 68


@dataclass(frozen=True)
class Held:
    """One quarantined file as a mail lists it."""

    number: str  # 受付番号
    department: str
    name: str
    when: datetime  # Japan time
    reason: str

    @classmethod
    def of(cls, file_id: str, input_: str, when: datetime | None, reason: str) -> Held:
        parts = PurePosixPath(input_.replace("\\", "/")).parts
        name = display(parts[-1] if parts else input_)
        return cls(
            number=reception_number(file_id),
            department=display(parts[0]) if len(parts) > 1 else "-",  # inbox/<department>/…
            name=name if len(name) <= 120 else name[:60] + "…" + name[-59:],
            when=when or datetime.now(JAPAN),
            reason=reason or "",
        )

    def line(self) -> str:
        return f"  {self.number}  {self.department}  {self.when:%m-%d %H:%M}  {self.name}"


def _ordered(helds: Iterable[Held]) -> list[tuple[str, list[Held]]]:
    """By reason: waiting for a password first, then the most frequent reasons."""
    groups: dict[str, list[Held]] = {}
    for held in sorted(helds, key=lambda h: h.when):
        groups.setdefault(held.reason, []).append(held)
    return sorted(groups.items(), key=lambda item: (item[0] != PASSWORD, -len(item[1]), item[0]))


def _listing(groups: list[tuple[str, list[Held]]]) -> list[str]:
    """One section per reason; at most ``LISTED`` files in all, the rest counted."""
    lines: list[str] = []
    room = LISTED
    for reason, helds in groups:
        if reason == PASSWORD:
            lines += [
                f"■ パスワード待ち（{len(helds)} 件） [{PASSWORD}]",
                "送り主が別に知らせたパスワードを職員から受け取ったら、受付番号で解除してください。",
            ]
        else:
            lines.append(f"■ {in_japanese(reason)}（{len(helds)} 件） [{reason}]")
        lines.append("  受付番号 / 部署 / 日時 / ファイル名")
        lines += [held.line() for held in helds[:room]]
        if len(helds) > room:
            lines.append(f"  ほか {len(helds) - room} 件は省略しました。")
        room = max(room - len(helds), 0)
        lines.append("")
    return lines


# ------------------------------------------------------------------ the quarantine alert
def alert_text(helds: list[Held]) -> tuple[str, str]:
    groups = _ordered(helds)
    waiting = sum(len(h) for r, h in groups if r == PASSWORD)
    first, last = min(h.when for h in helds), max(h.when for h in helds)
    span = f"{first:%Y-%m-%d %H:%M}" + (f"〜{last:%H:%M}" if f"{last:%H:%M}" != f"{first:%H:%M}" else "")
    between = f"between {first:%Y-%m-%d %H:%M} and {last:%H:%M}" if "〜" in span else f"at {first:%Y-%m-%d %H:%M}"
    subject = f"[cdr] 隔離のお知らせ {len(helds)} 件" + (f"（うちパスワード待ち {waiting} 件）" if waiting else "")
    lines = [
        f"無害化装置で、次の {len(helds)} 件のファイルを隔離しました（{span}、日本時間）。",
        *([f"そのうち {waiting} 件はパスワード付きのファイルで、パスワードを待っています。"] if waiting else []),
        "",
        *_listing(groups),
        "確認と解除（管理者用）:",
        "  cdr quarantine show 受付番号",
        "  cdr quarantine unlock 受付番号",
        "",
        RULE,
        f"cdr quarantined {len(helds)} file(s) {between} (Japan time)"
        + (f"; {waiting} of them waiting for a password." if waiting else "."),
        "Above: each file's reception number (受付番号), department, time and name, files waiting",
        "for a password first, then the others by reason: "
        + ", ".join(f"{reason} {len(h)}" for reason, h in groups)
        + ".",
        "Look: cdr quarantine show NUMBER    Unlock: cdr quarantine unlock NUMBER",
    ]
    return f"{subject} / {len(helds)} quarantined", "\n".join(lines) + "\n"


def _quarantines_since(audit: Path, cursor: int | None, now: datetime) -> list[tuple[int, Held]]:
    """Quarantines after ``cursor`` (an audit seq), or of the last hour when there is none."""
    found: list[tuple[int, Held]] = []
    for record in records_newest_first(audit):
        seq, when = int(record.get("seq") or 0), japan_time(record.get("ts"))
        if (cursor is not None and seq <= cursor) or (cursor is None and when and when < now - FIRST_LOOK_BACK):
            break
        if record.get("event") == "quarantined":
            file_id = str(record.get("quarantine_id") or record.get("file_id") or "")
            found.append((seq, Held.of(file_id, str(record.get("input") or ""), when, str(record.get("reason")))))
    return found


def _cursor(spool: MailSpool) -> int | None:
    """The last audit seq already in an alert: remembered, or in an alert still waiting."""
    seqs = [int(m.record["alerted_to"]) for m in spool.waiting() if "alerted_to" in m.record]
    try:
        seqs.append(int(json.loads((spool.folder / CURSOR).read_text(encoding="utf-8"))["seq"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        pass
    return max(seqs) if seqs else None


def queue_due_alert(settings: Settings, config: MailConfig, spool: MailSpool, now: datetime) -> int:
    """One alert for the quarantines not yet told, once the oldest has waited ``batch``;
    how many files it names (0: nothing due yet)."""
    fresh = _quarantines_since(settings.audit, _cursor(spool), now)
    if not fresh or min(h.when for _, h in fresh) > now - timedelta(seconds=config.batch):
        return 0
    last = max(seq for seq, _ in fresh)
    helds = [held for _, held in fresh]
    subject, body = alert_text(helds)
    spool.put("quarantine-alert", len(helds), compose(config, subject, body), alerted_to=last)
    write_json(spool.folder / CURSOR, {"seq": last}, sync_folder=True)
    return len(helds)


# ------------------------------------------------------------------ the daily summary
def _still_held(store: QuarantineStore) -> list[Held]:
    return [
        Held.of(entry.id, str(entry.meta.get("input") or ""), _epoch(entry.meta.get("quarantined_at")), str(entry.meta.get("reason")))
        for entry in store.entries()
        if entry.meta.get("status") in (None, "quarantined")  # not released since, nor handed over
    ]


def _epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(float(value), JAPAN) if isinstance(value, (int, float)) else None


# How each ending is said in the mail: the words of `cdr report daily`, explained once.
DAILY_ENDINGS = (
    (Ending.RELEASED, "送付（無害化して届けたもの）"),
    (Ending.RELEASED_LATER, "後日送付（パスワード解除や再処理のあとで届けたもの）"),
    (Ending.ORIGINAL_RELEASED, "原本送付（管理者が原本を届けたもの）"),
    (Ending.QUARANTINED, "隔離（いまも装置がお預かりしているもの）"),
    (Ending.UNFINISHED, "処理中"),
)


def daily_text(day: date, day_lives: list[Life], held: list[Held]) -> tuple[str, str]:
    """The summary of ``day``: each file once, as it stands now — counted as `cdr report
    daily` counts it, so a file held in the morning and unlocked in the afternoon is one
    後日送付, not one released and one quarantined."""
    endings = Counter(life.ending for life in day_lives)
    reasons = Counter(str(life.reason) for life in day_lives if life.ending == Ending.QUARANTINED)
    delivered = sum(n for ending, n in endings.items() if ending not in (Ending.QUARANTINED, Ending.UNFINISHED))
    quarantined = endings[Ending.QUARANTINED]
    lines = [
        f"{day:%Y年%m月%d日}（日本時間）に受け付けたファイルと、この日に届けたファイルの集計です。",
        "数え方は cdr report daily と同じで、1 件のファイルを 1 回だけ、いまの状態で数えています。",
        "",
        "■ 結果",
        *(f"  {said}: {endings[ending]} 件" for ending, said in DAILY_ENDINGS if endings[ending] or ending in (Ending.RELEASED, Ending.QUARANTINED)),
        "",
    ]
    if reasons:
        lines.append("■ 隔離の理由")
        lines += [f"  {in_japanese(reason)}: {count} 件 [{reason}]" for reason, count in reasons.most_common()]
        lines.append("")
    if held:
        lines += [f"いまも隔離しているファイルは {len(held)} 件です（隔離した日時の順）。", "", *_listing(_ordered(held))]
    else:
        lines += ["いま隔離しているファイルはありません。", ""]
    _japanese, english = endings_summary(endings)
    lines += [
        RULE,
        f"cdr daily summary for {day.isoformat()} (Japan time), counted as `cdr report daily` counts: {english}.",
        *([f"Reasons: {', '.join(f'{r} {n}' for r, n in reasons.most_common())}."] if reasons else []),
        f"Still held in the quarantine: {len(held)}"
        + (" (listed above, those waiting for a password first)." if held else "."),
    ]
    subject = f"[cdr] 日次集計 {day.isoformat()}：届けた {delivered} 件・隔離 {quarantined} 件 / daily summary"
    return subject, "\n".join(lines) + "\n"


def queue_daily(settings: Settings, config: MailConfig, spool: MailSpool, day: date) -> int:
    start = datetime.combine(day, datetime.min.time(), JAPAN)
    day_lives = recent_lives(settings.audit, start, start + timedelta(days=1))  # across rotated files
    held = _still_held(QuarantineStore(settings.quarantine))
    subject, body = daily_text(day, day_lives, held)
    spool.put("daily", len(day_lives), compose(config, subject, body), day=day.isoformat())
    return len(day_lives)


# ------------------------------------------------------------------ the runs of `cdr notify`
def notify_send(settings: Settings, daily: date | None = None) -> Delivery | None:
    """Queue what is due (the alert; the daily summary of ``daily``), then send all that
    waits. None when mail is off."""
    config = MailConfig.of(settings)
    if config is None:
        return None
    spool = MailSpool(settings.spool)
    with spool.locked(), closing(AuditLog(settings.audit)) as audit:
        queue_due_alert(settings, config, spool, datetime.now(JAPAN))
        if daily is not None:
            queue_daily(settings, config, spool, daily)
        return spool.deliver(config, audit)


def notify_test(settings: Settings) -> MailConfig | None:
    """A test mail, sent now and never kept: a failure is for the person trying. Raises
    MailError; None when mail is off."""
    config = MailConfig.of(settings)
    if config is None:
        return None
    host = socket.gethostname()
    when = datetime.now(JAPAN)
    body = (
        "無害化装置 cdr からのテストメールです。\n"
        "このメールが届いていれば、メールの中継サーバーの設定は正しく動いています。\n"
        f"送信した装置: {host}\n中継サーバー: {config.relay}\n日時: {when:%Y-%m-%d %H:%M:%S}（日本時間）\n\n"
        f"{RULE}\nA test mail from the cdr appliance {host}: mail through the relay {config.relay} works.\n"
    )
    message = compose(config, "[cdr] テストメール / test mail", body)
    with closing(AuditLog(settings.audit)) as audit:
        try:
            refused = send(config, config.sender, list(config.recipients), message.as_bytes())
        except MailError as exc:
            audit.append("mail-failed", kind="test", files=0, error=str(exc))
            raise
        audit.append("mail-sent", kind="test", files=0, to=list(config.recipients), refused=refused or None, tries=1)
    return config


def yesterday() -> date:
    return datetime.now(JAPAN).date() - timedelta(days=1)
