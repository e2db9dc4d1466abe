"""The audit log rotated into segments and kept: one chain over every file, every way of
losing part of it named, anchors outside the log, retention, and outbox cleaning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cdr.audit as audit
from cdr.audit import AuditLog, Rotation, prune, records, segments, verify
from tests.test_cli import cdr

ROOT = Path(__file__).resolve().parent.parent
SMALL = Rotation(daily=False, max_bytes=1500)  # a segment every few records


def _write(path: Path, count: int, rotation: Rotation = SMALL, prefix: str = "ID") -> list[dict]:
    log = AuditLog(path, "default", "ab" * 32, rotation=rotation)
    try:
        return [log.append("received", f"{prefix}{n}", f"soumu/file{n}.pdf", "cd" * 32) for n in range(count)]
    finally:
        log.close()


@pytest.fixture
def rotated(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    _write(path, 40)
    assert len(segments(path)) >= 4
    return path


def _python(*lines: str, args: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CDR_CONFIG": "/dev/null", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", "\n".join(lines), *args], cwd=ROOT, env=env)


# ------------------------------------------------------------------ rotation
def test_segments_sort_in_order_and_the_chain_runs_across_them(rotated: Path) -> None:
    names = sorted(p.name for p in rotated.parent.iterdir() if p.name.startswith("audit.jsonl."))
    closed = [s.path.name for s in segments(rotated)]
    assert names[: len(closed)] == closed  # by name is by seq
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 9 * 3600))
    assert closed[0] == f"audit.jsonl.{today}.000000000001"
    seqs = [r["seq"] for r in records(rotated)]
    assert seqs == list(range(1, len(seqs) + 1))
    second = next(iter(open(segments(rotated)[1].path)))
    first_of_second = json.loads(second)
    assert first_of_second["event"] == "audit-rotated"
    assert first_of_second["segment"] == closed[0]
    assert first_of_second["prev"] == audit.last_record_of(segments(rotated)[0].path)["hash"]
    result = verify(rotated)
    assert result.ok and result.records == len(seqs) and len(result.files) == len(closed) + 1


def test_daily_rotation_closes_yesterday_under_its_own_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.jsonl"
    monkeypatch.setattr(audit, "now_iso", lambda: "2026-11-27T20:00:00.000Z")  # 28th in Japan
    _write(path, 3, Rotation(daily=True))
    monkeypatch.undo()
    _write(path, 2, Rotation(daily=True))
    assert [s.path.name for s in segments(path)] == ["audit.jsonl.2026-11-28.000000000001"]
    assert [r["event"] for r in records(path)][3:] == ["audit-rotated", "received", "received"]
    assert verify(path).ok


def test_writers_in_several_processes_rotate_without_gap_or_double(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    writer = (
        "import sys; from pathlib import Path; from cdr.audit import AuditLog, Rotation",
        "log = AuditLog(Path(sys.argv[1]), rotation=Rotation(daily=False, max_bytes=4000))",
        "[log.append('step', f'{sys.argv[2]}-{n}', 'x', '00') for n in range(150)]",
    )
    procs = [_python(*writer, args=(str(path), f"W{w}")) for w in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    result = verify(path)
    assert result.ok, result.problem
    seen = [r["file_id"] for r in records(path) if r["event"] == "step"]
    assert sorted(seen) == sorted(f"W{w}-{n}" for w in range(4) for n in range(150))
    assert len(segments(path)) > 10


# ------------------------------------------------------------------ what verify finds
def test_a_removed_middle_segment_is_named(rotated: Path) -> None:
    gone = segments(rotated)[2].path
    gone.unlink()
    result = verify(rotated)
    assert not result.ok
    assert result.problem.startswith(f"{gone.name}: missing: records ")
    assert "a segment was removed" in result.problem


def test_a_segment_cut_short_is_named(rotated: Path) -> None:
    cut = segments(rotated)[1].path
    lines = cut.read_bytes().splitlines(keepends=True)
    cut.write_bytes(b"".join(lines[:-2]))
    result = verify(rotated)
    assert not result.ok and result.problem.startswith(f"{cut.name}: cut short: it ends at seq ")


def test_a_segment_replaced_with_a_consistent_chain_is_named(rotated: Path) -> None:
    """Rewritten with every hash recomputed: a chain in itself that follows the segment
    before it and ends on the same seq, but the next file does not follow it."""
    target = segments(rotated)[1].path
    rewritten, prev = [], None
    for line in target.read_bytes().splitlines():
        record = json.loads(line)
        record["prev"] = prev or record["prev"]
        record["input"] = "soumu/innocent.pdf"
        record["hash"] = audit.record_hash(record)
        prev = record["hash"]
        rewritten.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    target.write_text("".join(rewritten))
    result = verify(rotated)
    assert not result.ok
    assert result.problem.startswith(f"{segments(rotated)[2].path.name}: its first record")
    assert "was replaced" in result.problem


def test_an_edited_record_in_a_segment_names_the_file_and_line(rotated: Path) -> None:
    target = segments(rotated)[1].path
    lines = target.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("soumu/", "kikaku/")
    target.write_text("".join(lines))
    result = verify(rotated)
    assert not result.ok and result.line == 3
    assert result.problem.startswith(f"{target.name} line 3 (seq ") and "edited" in result.problem


def test_records_cut_off_the_end_are_found_through_the_head(rotated: Path) -> None:
    rotated.write_bytes(b"".join(rotated.read_bytes().splitlines(keepends=True)[:-1]))
    result = verify(rotated)
    assert not result.ok and "cut off the end" in result.problem


def test_a_log_moved_away_goes_on_after_the_head_and_verify_says_so(rotated: Path) -> None:
    last = audit.read_head(rotated)[0]
    for segment in segments(rotated):
        segment.path.unlink()
    rotated.unlink()
    _write(rotated, 2)
    assert [r["seq"] for r in records(rotated)] == [last + 1, last + 2]
    result = verify(rotated)
    assert not result.ok
    assert result.problem.startswith(f"the log starts at seq {last + 1}: records 1–{last} are missing")


def _anchor(path: Path, anchors: Path) -> subprocess.CompletedProcess[str]:
    return cdr("audit", "anchor", "--audit", path, "--anchors", anchors)


def test_a_whole_log_deleted_with_its_head_is_found_by_the_anchor(rotated: Path, tmp_path: Path) -> None:
    anchors = tmp_path / "anchor" / "anchors.jsonl"
    run = _anchor(rotated, anchors)
    assert run.returncode == 0, run.stdout + run.stderr
    head = audit.read_head(rotated)
    assert f"anchored seq {head[0]} ({head[1]})" in run.stdout
    assert oct(anchors.parent.stat().st_mode & 0o777) == "0o700" and oct(anchors.stat().st_mode & 0o777) == "0o600"
    for name in os.listdir(rotated.parent):
        if name.startswith("audit.jsonl"):
            (rotated.parent / name).unlink()
    assert verify(rotated).ok  # without the anchor it looks like a fresh install
    missing = verify(rotated, anchors)
    assert not missing.ok
    assert missing.problem == (
        f"{rotated}: the audit log is missing, but anchors.jsonl line 1 ("
        + json.loads(anchors.read_text())["ts"]
        + f") says records up to seq {head[0]} were written"
    )
    _write(rotated, 3)  # the service starts a new chain at seq 1
    restarted = verify(rotated, anchors)
    assert not restarted.ok
    assert restarted.problem.startswith("the log ends at seq 3, but anchors.jsonl line 1 (")
    assert f"names seq {head[0]}: records were cut off the end, or the log was moved away" in restarted.problem
    again = _anchor(rotated, anchors)
    assert again.returncode == 1 and "WARNING:" in again.stdout and "the log was started again" in again.stdout
    cli = cdr("audit", "verify", "--audit", rotated, "--anchors", anchors)
    assert cli.returncode == 1 and "BROKEN" in cli.stdout and "names seq" in cli.stdout


def test_a_restarted_chain_reaching_past_the_anchor_is_found(tmp_path: Path) -> None:
    path, anchors = tmp_path / "audit.jsonl", tmp_path / "anchors.jsonl"
    _write(path, 3)
    assert _anchor(path, anchors).returncode == 0
    for name in os.listdir(tmp_path):
        if name.startswith("audit.jsonl"):
            (tmp_path / name).unlink()
    _write(path, 8, prefix="NEW")
    result = verify(path, anchors)
    assert not result.ok
    assert "(seq 3): not the record anchors.jsonl line 1" in result.problem
    assert "moved away and started again" in result.problem


def test_verify_prints_each_segment_and_the_anchors_found(rotated: Path, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    _anchor(rotated, anchors)
    run = cdr("audit", "verify", "--audit", rotated, "--anchors", anchors)
    assert run.returncode == 0, run.stdout
    lines = run.stdout.splitlines()
    first = segments(rotated)[0]
    last = audit.last_record_of(first.path)["seq"]
    assert lines[0] == f"  {first.path.name}: seq 1–{last}, {last} records, OK"
    assert lines[len(segments(rotated))].startswith("  audit.jsonl: seq ")
    assert f"1 anchors from {anchors} are in the chain" in run.stdout
    assert lines[-1] == f"{rotated}: OK, {len(list(records(rotated)))} records, chain intact"


# ------------------------------------------------------------------ kill -9 during rotation
@pytest.mark.parametrize(
    ("point", "nth", "killed_written"),
    [
        ("rotate:before-rename", 1, False),
        ("rotate:after-rename", 1, False),
        ("rotate:after-open", 1, False),
        ("rotate:noted", 1, False),
        ("record:written", 1, False),  # the audit-rotated record is in, the head still behind
        ("record:written", 2, True),  # the record itself is in, the head still behind
    ],
)
def test_kill_9_anywhere_in_a_rotation_loses_and_doubles_nothing(
    tmp_path: Path, point: str, nth: int, killed_written: bool
) -> None:
    path = tmp_path / "audit.jsonl"
    every = Rotation(daily=False, max_bytes=1)  # each append rotates
    written = _write(path, 3, every)
    killed = _python(
        "import os, sys; from pathlib import Path; import cdr.audit as audit",
        "log = audit.AuditLog(Path(sys.argv[1]), rotation=audit.Rotation(daily=False, max_bytes=1))",
        "seen = []",
        "def hook(p):",
        "    seen.append(p)",
        "    if seen.count(sys.argv[2]) == int(sys.argv[3]):",
        "        os.kill(os.getpid(), 9)",
        "audit.hook = hook",
        "log.append('received', 'KILLED')",
        args=(str(path), point, str(nth)),
    )
    assert killed.wait(timeout=60) == -9
    assert verify(path).ok, verify(path).problem
    written += _write(path, 2, every, prefix="AFTER")
    result = verify(path)
    assert result.ok, result.problem
    kept = list(records(path))
    assert [r["seq"] for r in kept] == list(range(1, len(kept) + 1))
    hashes = {r["hash"] for r in kept}
    assert all(r["hash"] in hashes for r in written)  # every record an append returned is there
    assert [r["file_id"] for r in kept].count("KILLED") == killed_written
    assert [r["event"] for r in kept].count("audit-rotated") == len(segments(path))  # one per segment


# ------------------------------------------------------------------ retention
def test_prune_removes_old_segments_audited_and_the_rest_verifies(rotated: Path) -> None:
    closed = segments(rotated)
    removed = prune(rotated, 0.0, now=time.time() + 1)
    assert [item["segment"] for item in removed] == [s.path.name for s in closed]
    assert segments(rotated) == []
    result = verify(rotated)
    assert result.ok, result.problem
    pruned = [r for r in records(rotated) if r["event"] == "audit-pruned"]
    assert len(pruned) == 1 and pruned[0]["segments"][-1]["segment"] == closed[-1].path.name
    assert prune(rotated, 30 * 86400) == []  # nothing that young is removed


def test_prune_keeps_segments_younger_than_the_retention(rotated: Path) -> None:
    before = segments(rotated)
    assert prune(rotated, 86400.0) == [] and segments(rotated) == before


def test_a_beginning_removed_without_a_prune_record_is_found(rotated: Path) -> None:
    segments(rotated)[0].path.unlink()
    result = verify(rotated)
    assert not result.ok
    assert "no audit-pruned record says retention removed them" in result.problem


def test_prune_from_the_command_line_follows_the_config(rotated: Path, tmp_path: Path) -> None:
    config = tmp_path / "cdr.yaml"
    config.write_text("audit_retention: forever\n")
    env = {**os.environ, "CDR_CONFIG": str(config)}
    kept = subprocess.run(
        [sys.executable, "cli.py", "audit", "prune", "--audit", str(rotated)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert kept.returncode == 0 and "audit_retention is forever: no segment removed" in kept.stdout
    assert segments(rotated)
    count = len(segments(rotated))
    now = cdr("audit", "prune", "--audit", rotated, "--older-than", "0")
    assert now.returncode == 0, now.stdout + now.stderr
    assert segments(rotated) == [] and f"{count} segments older than 0 days removed (audited)" in now.stdout


# ------------------------------------------------------------------ configuration
def test_rotation_and_retention_settings_are_read_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cdr.config import settings
    from cdr.errors import ConfigError

    config = tmp_path / "cdr.yaml"
    config.write_text("audit_rotate: 100MiB\naudit_retention: 5y\noutbox_retention: 14d\n")
    monkeypatch.setenv("CDR_CONFIG", str(config))
    conf = settings({})
    assert conf.audit_rotate == Rotation(daily=False, max_bytes=100 * 2**20)
    assert conf.audit_retention == 5 * 366 * 86400 and conf.outbox_retention == 14 * 86400
    config.write_text("audit_rotate: weekly\n")
    with pytest.raises(ConfigError) as error:
        settings({})
    assert "audit_rotate: 'weekly' is not allowed (allowed: daily, never, or a size such as 100MiB)" in str(error.value)
    config.write_text("")
    conf = settings({})
    assert conf.audit_rotate == Rotation(daily=True) and conf.audit_retention is None and conf.outbox_retention is None


# ------------------------------------------------------------------ outbox cleaning
def _age(path: Path, days: float) -> None:
    then = time.time() - days * 86400
    os.utime(path, (then, then), follow_symlinks=False)


def test_outbox_clean_removes_only_old_released_files_audited(tmp_path: Path) -> None:
    from cdr.outbox import clean

    outbox, outside, log = tmp_path / "outbox", tmp_path / "elsewhere", tmp_path / "audit.jsonl"
    (outbox / "soumu").mkdir(parents=True)
    outside.mkdir()
    old, young = outbox / "soumu" / "old.pdf", outbox / "soumu" / "new.pdf"
    notice = outbox / "soumu" / "bad.exe.quarantined.txt"
    temp = outbox / "soumu" / ".cdr-01J.partial"
    target = outside / "precious.txt"
    for path in (old, young, notice, temp, target):
        path.write_bytes(b"content of " + path.name.encode())
    (outbox / "soumu" / "link.pdf").symlink_to(target)
    (outbox / "linked-folder").symlink_to(outside, target_is_directory=True)
    ctime_now = time.time()
    for path in (old, notice, temp, target, outbox / "soumu" / "link.pdf"):
        _age(path, 30)
    cleaned = clean(outbox, 14 * 86400, log, now=ctime_now + 20 * 86400)  # ctime is today: 20 days on
    assert sorted(c.name for c in cleaned) == ["soumu/bad.exe.quarantined.txt", "soumu/new.pdf", "soumu/old.pdf"]
    assert not old.exists() and not young.exists() and not notice.exists()
    assert temp.exists() and target.exists() and (outbox / "soumu" / "link.pdf").is_symlink()
    assert (outbox / "soumu").is_dir() and (outbox / "linked-folder").is_symlink()
    events = [r for r in records(log) if r["event"] == "outbox-cleaned"]
    import hashlib

    assert {e["output"]: e["output_sha256"] for e in events}["soumu/old.pdf"] == hashlib.sha256(
        b"content of old.pdf"
    ).hexdigest()
    assert all(e["age_days"] >= 20 for e in events) and verify(log).ok


def test_outbox_clean_leaves_files_changed_recently(tmp_path: Path) -> None:
    """The age counts from the later of mtime and ctime: a file released today from an old
    original is not old."""
    from cdr.outbox import clean

    outbox = tmp_path / "outbox"
    (outbox / "soumu").mkdir(parents=True)
    released = outbox / "soumu" / "scan.pdf"
    released.write_bytes(b"x")
    _age(released, 400)
    assert clean(outbox, 14 * 86400, tmp_path / "audit.jsonl") == []
    assert released.exists()


def test_outbox_clean_is_off_unless_configured(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (outbox / "a.pdf").write_bytes(b"x")
    _age(outbox / "a.pdf", 100)
    run = cdr("outbox", "clean", "--outbox", outbox, "--audit", tmp_path / "audit.jsonl")
    assert run.returncode == 0 and "outbox_retention is off: no file removed" in run.stdout
    assert (outbox / "a.pdf").exists()
    run = cdr("outbox", "clean", "--outbox", outbox, "--audit", tmp_path / "audit.jsonl", "--older-than", "0")
    assert run.returncode == 0 and "1 files older than 0 days removed (audited)" in run.stdout
    assert not (outbox / "a.pdf").exists()
