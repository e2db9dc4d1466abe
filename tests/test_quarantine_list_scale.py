"""`cdr quarantine list` at ten thousand entries: the store is read with one listing and
one read per meta.json, and widths are measured without looking up each ASCII character —
the table is the same, cell for cell."""

from __future__ import annotations

import contextlib
import io
import json
import unicodedata
from pathlib import Path

import pytest

import cli
from cdr.cells import cells, fit, take
from cdr.quarantine import QuarantineStore

SAMPLES = [
    "",
    "report.pdf",
    "総務課/受信/見積書.xlsx",
    "ｶﾀｶﾅ半角とＡＢＣ全角",
    "mixed 会議 notes – ünïcödé",
    "e\u0301 combining",
    "emoji 📄 file",
    "tab\tand\x7fcontrol",
]


def _cells_before(text: str) -> int:
    """How the width was counted before: each character looked up."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _take_before(text: str, room: int) -> str:
    used = 0
    for index, char in enumerate(text):
        used += _cells_before(char)
        if used > room:
            return text[:index]
    return text


def _fit_before(text: str, room: int, middle: bool = False) -> str:
    if _cells_before(text) > room:
        left = room - 1
        head = _take_before(text, left // 2 if middle else left)
        tail = _take_before(text[::-1], left - _cells_before(head))[::-1] if middle else ""
        text = head + "…" + tail
    return text + " " * (room - _cells_before(text))


@pytest.mark.parametrize("text", [*SAMPLES, "総務課/受信/令和7年度第3四半期の予算見積書とその明細-1.xlsx", "x" * 90])
def test_widths_and_cuts_are_as_before(text: str) -> None:
    assert cells(text) == _cells_before(text)
    for room in range(-2, 30):  # fit asks for room - 1, so a room of 0 asks take for -1
        assert take(text, room) == _take_before(text, room), room
        for middle in (False, True):
            assert fit(text, room, middle) == _fit_before(text, room, middle), (room, middle)


def _store(root: Path, count: int) -> None:
    for n in range(count):
        qid = f"01J{n:023d}"
        (root / qid).mkdir(parents=True)
        meta = {
            "id": qid,
            "status": "released" if n == 1 else "quarantined",
            "reason": "blocked-type",
            "type": "xlsx",
            "input": f"総務課/受信/令和7年度第3四半期の予算見積書とその明細-{n}.xlsx" if n % 2 else f"a{n}.pdf",
            "quarantined_at": 1_775_000_000 + n * 60,
        }
        (root / qid / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")


def test_the_listing_reads_each_entry_once_in_id_order(tmp_path: Path) -> None:
    root = tmp_path / "q"
    _store(root, 5)
    (root / ".incoming-01J00000000000000000000000099").mkdir()  # being built: not an entry
    (root / "01J00000000000000000000000077").mkdir()  # no meta.json (yet): not listed
    listed = list(QuarantineStore(root).entries())
    assert [e.id for e in listed] == [f"01J{n:023d}" for n in range(5)]
    assert listed[1].meta["status"] == "released" and listed[1].folder == root / listed[1].id


def test_the_table_is_the_one_staff_read(tmp_path: Path) -> None:
    root = tmp_path / "q"
    _store(root, 3)
    args = cli.build_parser().parse_args(["quarantine", "list", "--quarantine", str(root)])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert args.func(args) == 0
    assert out.getvalue().splitlines() == [
        "3 entries in quarantine",
        "number     when         reason                type        file",
        "0000-0000  04-01 08:33  blocked-type          xlsx        a0.pdf",
        "0000-0001  04-01 08:34  * blocked-type        xlsx        総務課/受…明細-1.xlsx",
        "0000-0002  04-01 08:35  blocked-type          xlsx        a2.pdf",
    ]
    assert all(_cells_before(line) <= 80 for line in out.getvalue().splitlines())


def test_a_meta_json_longer_than_one_read_is_read_whole(tmp_path: Path) -> None:
    root = tmp_path / "q"
    _store(root, 1)
    meta_file = next(root.glob("*/meta.json"))
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta["findings"] = [{"kind": "metadata", "detail": "作成者" * 20}] * 1000  # ~200 KB
    meta_file.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    [entry] = QuarantineStore(root).entries()
    assert entry.meta == meta


def _rows_now(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[tuple[str, dict]], int]:
    """The listing's rows, and how many meta.json files it read."""
    from cdr import quarantine_rows

    reads = []
    real = quarantine_rows.read_meta
    monkeypatch.setattr(quarantine_rows, "read_meta", lambda path: (reads.append(path), real(path))[1])
    return quarantine_rows.listed(root), len(reads)


def test_the_second_listing_reads_only_what_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "q"
    _store(root, 6)
    first, read = _rows_now(root, monkeypatch)
    assert read == 6 and [qid for qid, _ in first] == [f"01J{n:023d}" for n in range(6)]
    assert first[1][1] == {"quarantined_at": 1_775_000_060, "status": "released", "reason": "blocked-type",
                           "type": "xlsx", "input": "総務課/受信/令和7年度第3四半期の予算見積書とその明細-1.xlsx"}
    again, read = _rows_now(root, monkeypatch)
    assert (again, read) == (first, 0)
    store = QuarantineStore(root)
    store.update(first[2][0], status="released-original")  # meta.json replaced by a rename
    store.delete(first[3][0])
    _store(tmp_path / "more", 7)
    newest = sorted((tmp_path / "more").iterdir())[-1]
    newest.rename(root / newest.name)
    after, read = _rows_now(root, monkeypatch)
    assert read == 2  # the changed entry and the new one
    assert [qid for qid, _ in after] == [qid for qid, _ in first if qid != first[3][0]] + [newest.name]
    assert after[2][1]["status"] == "released-original"
    assert after == [(e.id, {k: e.meta.get(k) for k in ("quarantined_at", "status", "reason", "type", "input")})
                     for e in store.entries()]


def test_a_damaged_or_planted_cache_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "q"
    _store(root, 3)
    rows, _ = _rows_now(root, monkeypatch)
    (root / ".list-rows.json").write_text("{not json")
    assert _rows_now(root, monkeypatch) == (rows, 3)
    secret = tmp_path / "secret.txt"
    secret.write_text("keep me")
    (root / ".list-rows.json").unlink()
    (root / ".list-rows.json").symlink_to(secret)  # the service user's link, followed by root?
    assert _rows_now(root, monkeypatch) == (rows, 3)
    assert secret.read_text() == "keep me" and not (root / ".list-rows.json").is_symlink()
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith("01J")) == [".list-rows.json"]


def _run(*argv: str) -> tuple[int, str]:
    import cdr.errors

    args = cli.build_parser().parse_args(list(argv))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = args.func(args)
        except cdr.errors.CdrError as exc:  # what main() prints as one line
            return 2, str(exc)
    return code, out.getvalue()


def test_a_damaged_entry_is_one_row_and_one_clear_line_never_a_traceback(tmp_path: Path) -> None:
    """A meta.json cut short by a power cut in an old version, or edited by hand: the
    listing, its JSON and `show` each say so; once they each raised a traceback."""
    from cdr.errors import UsageError

    root = tmp_path / "q"
    _store(root, 2)
    damaged = root / "01J00000000000000000000001" / "meta.json"
    damaged.write_text('{"status": "quarantined", "inp')
    code, table = _run("quarantine", "list", "--quarantine", str(root))
    assert code == 0 and table.splitlines()[3] == "0000-0001  ?            damaged-entry"
    code, lines = _run("quarantine", "list", "--quarantine", str(root), "--json")
    rows = [json.loads(line) for line in lines.splitlines()]
    assert code == 0 and rows[1] == {"status": "quarantined", "reason": "damaged-entry", "message": "not JSON"}
    assert rows[0]["input"] == "a0.pdf"
    code, said = _run("quarantine", "show", "01J00000000000000000000001", "--quarantine", str(root))
    assert code == 2 and "is damaged (not JSON)" in said and str(damaged.parent) in said
    with pytest.raises(UsageError):
        QuarantineStore(root).get("01J00000000000000000000001")
