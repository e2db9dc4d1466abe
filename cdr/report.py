"""`cdr report daily|monthly`: one row per file — not per step — for a day or a month in
Japan time, computed from the audit log alone, so it survives restarts and reinstalls.

A row says when the file arrived, from which department (the first folder under the
inbox), what it really was, how it ended (delivered, held, delivered later, its original
handed over), why it was held, what the rebuild took out, the name it was delivered under,
and for a file an administrator handled later: who, how, when and why. Totals count the
files per department, ending and reason. Text for the terminal is here; the CSV and
the Excel workbook are ``cdr.report_files``.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from cdr.cells import cells, fit, wrap
from cdr.daemon.counters import JAPAN
from cdr.errors import UsageError
from cdr.i18n import _
from cdr.lifeline import Ending, Handling, Life, lives_between
from cdr.names import display, reception_number
from cdr.reasons import in_japanese as reason_ja
from cdr.removals import kept_codes, kept_words, removed_codes, removed_words

NO_DEPARTMENT = "（なし）"  # a file dropped straight into the inbox, not into a department's folder
NO_DEPARTMENT_TYPED = ("-", NO_DEPARTMENT, "(なし)", "なし")

ENDINGS_EN = {e: e.value.replace("-", " ") for e in Ending}
ENDINGS_JA = {
    Ending.RELEASED: "送付",
    Ending.RELEASED_LATER: "後日送付",
    Ending.ORIGINAL_RELEASED: "原本送付",
    Ending.QUARANTINED: "隔離",
    Ending.UNFINISHED: "処理中",
}
HANDLING_JA = {
    "unlock": "パスワード解除",
    "rerun": "再処理",
    "original": "原本の引き渡し",
    "delete": "削除",
    "purge": "保存期間切れの削除",
}


@dataclass(frozen=True)
class Period:
    start: datetime  # Japan time, inclusive
    end: datetime  # exclusive
    title: str  # 「日報 2026-11-29」


def day_period(text: str | None) -> Period:
    """One day in Japan time (today when not given): midnight to midnight, whatever the
    host's time zone."""
    try:
        day = date.fromisoformat(text) if text else datetime.now(JAPAN).date()
    except ValueError:
        raise UsageError(_("--date {text}: use YYYY-MM-DD, such as 2026-04-01").format(text=repr(text))) from None
    start = datetime.combine(day, datetime.min.time(), JAPAN)
    return Period(start, start + timedelta(days=1), f"日報 {day.isoformat()}")


def month_period(text: str | None) -> Period:
    """One calendar month in Japan time (this month when not given)."""
    try:
        first = datetime.strptime(text, "%Y-%m").date() if text else datetime.now(JAPAN).date().replace(day=1)
    except ValueError:
        raise UsageError(_("--month {text}: use YYYY-MM, such as 2026-04").format(text=repr(text))) from None
    start = datetime.combine(first, datetime.min.time(), JAPAN)
    days = calendar.monthrange(first.year, first.month)[1]
    return Period(start, start + timedelta(days=days), f"月報 {first.strftime('%Y-%m')}")


@dataclass(frozen=True)
class Row:
    """One file as a report shows it; every text in it is fit for a terminal or a cell."""

    arrived: datetime | None  # Japan time
    department: str
    name: str
    type: str
    ending: Ending
    reason: str  # the code, "" when not held
    removed: tuple[str, ...]  # codes
    output: str
    handling: Handling | None
    number: str  # 受付番号 of a held file
    file_id: str
    kept: tuple[str, ...] = ()  # codes of what a rebuild kept that a person might fear lost

    @property
    def ending_ja(self) -> str:
        return ENDINGS_JA[self.ending]

    @property
    def reason_ja(self) -> str:
        return reason_ja(self.reason) if self.reason else ""

    @property
    def removed_ja(self) -> str:
        return removed_words(self.removed)

    @property
    def how_ja(self) -> str:
        return handling_ja(self.handling) if self.handling else ""


def handling_ja(handling: Handling) -> str:
    """「パスワード解除」, or 「パスワード解除（失敗）」 when the file stayed held."""
    return HANDLING_JA.get(handling.how, handling.how) + ("（失敗）" if handling.failed else "")


def department_and_name(path: str) -> tuple[str, str]:
    """``soumu/a.pdf`` → (soumu, a.pdf); ``a.pdf`` straight in the inbox → (（なし）, a.pdf).
    Only ``/`` makes a folder: on Linux ``soumu\\a.pdf`` is one name straight in the inbox
    (a sender chooses it), and the console lets a department's people act on its files."""
    head, _, rest = path.lstrip("/").partition("/")
    return (display(head), display(rest)) if rest else (NO_DEPARTMENT, display(head))


def row(life: Life) -> Row:
    department, name = department_and_name(life.input)
    return Row(
        arrived=life.received,
        department=department,
        name=name,
        type=display(life.type or ""),
        ending=life.ending,
        reason=display(life.reason or ""),
        removed=tuple(display(c) for c in removed_codes(life.actions)),
        output=display(life.output or ""),
        handling=life.handling,
        number=reception_number(life.quarantine_id) if life.quarantine_id else "",
        file_id=life.key,
        kept=tuple(display(c) for c in kept_codes(life.actions)),
    )


def rows(audit: Path, period: Period, department: str | None = None) -> list[Row]:
    """The period's files (see ``lifeline.lives_between``), of one department if named."""
    found = [row(life) for life in lives_between(audit, period.start, period.end)]
    if department is None:
        return found
    wanted = NO_DEPARTMENT if department in NO_DEPARTMENT_TYPED else department
    return [r for r in found if r.department == wanted]


@dataclass(frozen=True)
class Total:
    department: str  # "" for every department together
    ending: Ending | None  # None for all endings together
    reason: str
    count: int


def totals(found: list[Row]) -> list[Total]:
    """Per department: one line per ending and reason, then the department's sum; last the
    sum of all. Departments in name order, endings in the order of ``ENDINGS_JA``."""
    counted = Counter((r.department, r.ending, r.reason) for r in found)
    order = list(ENDINGS_JA)
    lines: list[Total] = []
    for department in sorted({r.department for r in found}):
        keys = sorted((k for k in counted if k[0] == department), key=lambda k: (order.index(k[1]), k[2]))
        for key in keys:
            _, ending, reason = key
            lines.append(Total(department, ending, reason, counted[key]))
        lines.append(Total(department, None, "", sum(counted[k] for k in keys)))
    lines.append(Total("", None, "", len(found)))
    return lines


def summary(found: list[Row]) -> tuple[str, str]:
    """「6 件: 送付 3、後日送付 1、隔離 2」 and the same in English."""
    return endings_summary(Counter(r.ending for r in found))


def endings_summary(counted: Counter[Ending]) -> tuple[str, str]:
    """The summary line from the files counted by ending (`cdr status` says the same)."""
    found = sum(counted.values())
    endings = [e for e in ENDINGS_JA if counted[e]]
    japanese = "、".join(f"{ENDINGS_JA[e]} {counted[e]}" for e in endings)
    english = ", ".join(f"{counted[e]} {ENDINGS_EN[e]}" for e in endings)
    return (
        f"{found} 件" + (f": {japanese}" if japanese else ""),
        f"{found} files" + (f": {english}" if english else ""),
    )


# ---------------------------------------------------------------- text for an 80-column terminal
WIDTH = 80
_COLUMNS = (11, 10, 12, 10)  # when, department, ending, type; the name takes the rest
_NAME = WIDTH - sum(_COLUMNS) - 2 * len(_COLUMNS)
_INDENT = " " * 4


def _line(*fields: str) -> str:
    *columns, name = fields
    cut = [fit(f, w) for f, w in zip(columns, _COLUMNS, strict=True)]
    return "  ".join([*cut, fit(name, _NAME, middle=True)]).rstrip()


def _detail(label: str, text: str) -> Iterator[str]:
    """A labelled detail under its file, wrapped to the terminal's width."""
    for index, piece in enumerate(wrap(f"{label}: {text}", WIDTH - len(_INDENT))):
        yield _INDENT + ("  " if index else "") + piece


def _handled(handling: Handling) -> str:
    when = handling.when.strftime("%m-%d %H:%M") if handling.when else "-"
    who = display(handling.who) or "-"
    if handling.requested_by:  # a console request: both people, as the notice names them
        who = f"{display(handling.requested_by)} さんの申請を承認者 {who} さんが承認"
    said = f"{handling_ja(handling)} ({handling.how})、{when}、{who}"
    return said + (f"、理由「{display(handling.why)}」" if handling.why else "")


def text_lines(period: Period, found: list[Row], department: str | None = None) -> Iterator[str]:
    """The report for the terminal: Japanese headings first, every line within 80 cells."""
    scope = f" 部署 {display(department)}" if department else ""
    yield f"{period.title}（日本時間）{scope}"
    yield from summary(found)
    yield ""
    yield _line("日時 when", "部署 dept", "結果 verdict", "種類 type", "ファイル file")
    for r in found:
        when = r.arrived.strftime("%m-%d %H:%M") if r.arrived else "-"
        yield _line(when, r.department, r.ending_ja, r.type, r.name)
        if r.reason:
            yield from _detail("理由 reason", f"{r.reason} {r.reason_ja}" + (f" [{r.number}]" if r.number else ""))
        if r.removed:
            yield from _detail("除去 removed", f"{r.removed_ja} ({', '.join(r.removed)})")
        if kept_words(r.kept):
            yield from _detail("保持 kept", f"{kept_words(r.kept)} ({', '.join(r.kept)})")
        if r.handling:
            yield from _detail("対応 handled", _handled(r.handling))
        if r.output:
            yield from _detail("出力 output", r.output)
    yield ""
    yield "集計 totals（部署・結果・理由ごと / by department, verdict and reason）"
    yield _total_line("部署 dept", "結果 verdict", "件数", "理由 reason")
    shown = None
    for total in totals(found):
        department = total.department if total.department != shown else ""
        shown = total.department
        if total.ending is None:
            yield _total_line("" if total.department else "全体 all", "計 total", str(total.count), "")
        else:
            reason = f"{total.reason} {reason_ja(total.reason)}" if total.reason else ""
            yield _total_line(department, ENDINGS_JA[total.ending], str(total.count), reason)


def _total_line(department: str, ending: str, count: str, reason: str) -> str:
    head = f"{fit(department, 10)}  {fit(ending, 12)}  {count:>4}  "
    return (head + fit(reason, WIDTH - cells(head))).rstrip()
