"""A quarantine notice is never lost and never doubled.

The outbox that cannot be written is a real one: a small tmpfs mounted on it and
remounted read-only (EROFS), the way a share that went read-only behaves — as root,
mode bits would not stop a write. Needs root to mount; skipped otherwise.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdr.audit import records
from cdr.daemon.claim import claim
from cdr.names import reception_number
from cdr.quarantine import PENDING, QuarantineStore
from tests.test_watch import _folders, batch, start_watch, stop, wait_until_drained

ELF = Path("/bin/true").read_bytes()  # named .jpg: quarantined as an extension mismatch


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Path]:
    out = tmp_path / "out"
    out.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(out)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield out
    finally:
        subprocess.run(["umount", "-l", str(out)], capture_output=True)


def _writable(out: Path, writable: bool) -> None:
    subprocess.run(["mount", "-o", "remount," + ("rw" if writable else "ro"), str(out)], check=True)


def _notices(out: Path) -> list[Path]:
    return sorted(out.rglob("*.quarantined.txt"))


def _wait_for(predicate: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_notice_waits_for_a_read_only_outbox_across_restarts(tmp_path: Path, outbox: Path) -> None:
    _writable(outbox, False)
    proc = start_watch(tmp_path)
    try:
        (tmp_path / "in" / "photo.jpg").write_bytes(ELF)
        wait_until_drained(tmp_path)
        _wait_for(lambda: "notice for" in (tmp_path / "watch.log").read_text())
    finally:
        assert stop(proc) == 0
    [entry] = QuarantineStore(tmp_path / "q").entries()
    assert "notice" not in entry.meta and (tmp_path / "q" / PENDING / f"{entry.id}.json").exists()
    assert "Read-only file system" in (tmp_path / "watch.log").read_text()

    proc = start_watch(tmp_path)  # restarted while the outbox is still read-only
    try:
        time.sleep(1.0)
        _writable(outbox, True)
        _wait_for(lambda: _notices(outbox))
        # the owed record goes with the write, so no later round can write it again
        _wait_for(lambda: not list((tmp_path / "q" / PENDING).iterdir()))
    finally:
        assert stop(proc) == 0
    proc = start_watch(tmp_path)  # and a third start finds nothing owed
    time.sleep(1.0)
    assert stop(proc) == 0

    [notice] = _notices(outbox)
    assert notice.name == "photo.jpg.quarantined.txt"
    text = notice.read_text(encoding="utf-8-sig")
    assert f"受付番号: {reception_number(entry.id)}" in text  # the phone-sized number
    assert text.startswith("【危険なおそれがあるため、ファイルを止めました】")
    assert "名前は画像のようですが、中身は実行ファイル（プログラム）でした。" in text
    assert QuarantineStore(tmp_path / "q").get(entry.id).meta["notice"] == "photo.jpg.quarantined.txt"
    assert not list((tmp_path / "q" / PENDING).iterdir())
    finals = [r for r in records(tmp_path / "audit.jsonl") if r["event"] == "quarantined"]
    late = [r for r in records(tmp_path / "audit.jsonl") if r["event"] == "notice-written"]
    assert len(finals) == 1 and finals[0]["notice"] is None
    assert [(r["quarantine_id"], r["notice"]) for r in late] == [(entry.id, "photo.jpg.quarantined.txt")]


def test_recovery_writes_the_notice_of_an_entry_stored_just_before_a_crash(tmp_path: Path) -> None:
    """The process died between storing the entry and writing its notice: the next start,
    finding the entry, writes the notice (it used to say "already quarantined" and stop)."""
    _folders(tmp_path)
    (tmp_path / "spool").mkdir()
    (tmp_path / "in" / "soumu").mkdir()
    (tmp_path / "in" / "soumu" / "tool.jpg").write_bytes(ELF)
    job = claim(tmp_path / "in" / "soumu" / "tool.jpg", tmp_path / "in", tmp_path / "spool")
    assert job is not None
    # the contact of the policy the file ran with, which may differ from the one running now
    meta = {"reason": "blocked-type", "message": "an executable", "relative": "soumu/tool.jpg",
            "contact": "情報政策課 内線 2107"}  # fmt: skip
    with open(job.original, "rb") as original:
        QuarantineStore(tmp_path / "q").store(job.id, original.fileno(), {**meta, "input": "soumu/tool.jpg"})
    job.release_lock()  # the crash
    proc = start_watch(tmp_path)
    try:
        wait_until_drained(tmp_path)
    finally:
        assert stop(proc) == 0
    [notice] = _notices(tmp_path / "out")
    assert notice.relative_to(tmp_path / "out").as_posix() == "soumu/tool.jpg.quarantined.txt"
    assert reception_number(job.id) in notice.read_text(encoding="utf-8-sig")
    assert "情報政策課 内線 2107" in notice.read_text(encoding="utf-8-sig")
    events = [(r["event"], r.get("recovered")) for r in records(tmp_path / "audit.jsonl") if r.get("file_id")]
    assert events == [("quarantined", True)]
    assert json.loads((tmp_path / "q" / job.id / "meta.json").read_text())["notice"]


def test_a_notice_owed_by_an_administrators_release_is_written_by_the_next_run(tmp_path: Path) -> None:
    """The administrator's command said the notice was owed, handed the original over and
    died before replacing the notice: the next batch pass shows the released notice, once."""
    _folders(tmp_path)
    (tmp_path / "in" / "soumu").mkdir()
    (tmp_path / "in" / "soumu" / "tool.jpg").write_bytes(ELF)
    assert batch(tmp_path).returncode == 1
    store, out = QuarantineStore(tmp_path / "q"), tmp_path / "out"
    [entry] = store.entries()
    assert _notices(out) == [out / "soumu" / "tool.jpg.quarantined.txt"]

    store.owe_notice(entry.id, out, entry.meta["contact"])  # what cdr/admin.py says first
    store.update(entry.id, status="released-original", released_as=str(out / "soumu" / "tool.jpg"),
                 released_by="yamada", released_at=time.time())  # fmt: skip
    # ... and the process died here, before the notice was replaced

    assert batch(tmp_path).returncode == 0
    assert _notices(out) == [] and (out / "soumu" / "tool.jpg.released.txt").exists()
    text = (out / "soumu" / "tool.jpg.released.txt").read_text(encoding="utf-8-sig")
    assert text.startswith("【お預かりしていたファイルを原本のまま届けました】") and "管理者（yamada）" in text
    meta = store.get(entry.id).meta
    assert (meta["notice"], meta["notice_state"]) == ("soumu/tool.jpg.released.txt", "released-original")
    late = [r["notice"] for r in records(tmp_path / "audit.jsonl") if r["event"] == "notice-written"]
    assert late == ["soumu/tool.jpg.released.txt"]
    assert batch(tmp_path).returncode == 0 and not list((tmp_path / "q" / PENDING).iterdir())
