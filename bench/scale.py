"""Scale figures (issue 13): a year of audit log and a full quarantine, made up here.

    python bench/scale.py            # 1,000,000 records, 10,000 entries
    python bench/scale.py 200000 5000

Builds, in a temporary folder that is removed after, an audit log with a real chain
(``cdr.audit``'s own hashing and line format, daily segments with their ``audit-rotated``
records, the last day in the active file) of the events a file's life writes, and a
quarantine store of entries with their meta.json as the pipeline writes it. Then times
each administrator's command as the administrator runs it (a fresh ``cli.py`` process:
interpreter start and imports included) and its peak memory, as the child itself saw it
(``VmHWM``, read by a wrapper at its exit: the ``ru_maxrss`` that ``wait4`` reports starts
from this process's size, which an ``exec`` carries over, so it showed this builder's
300 MiB for every command). Each row has its target beside it.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cdr import audit  # noqa: E402
from cdr.names import _CROCKFORD  # noqa: E402

POLICY_SHA = "5e" * 32
EVENTS_OF_A_FILE = ("received", "analysed", "sanitized", "verified")
TYPES = ("pdf", "docx", "xlsx", "jpeg", "png", "txt")
REASONS = ("blocked-type", "verification-failed", "encrypted", "malformed", "policy-size")


class LogBuilder:
    """Writes records as ``AuditLog`` does (same fields, same hashing, same segments), without
    an fsync each: a million records in under a minute."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seq, self.prev = 0, audit.GENESIS
        self.handle = path.open("wb")
        self.day: str | None = None
        self.first_seq = 1

    def record(self, when: datetime, event: str, **fields: Any) -> None:
        day = audit.japan_day(when.isoformat())
        if self.day is not None and day != self.day:
            self._rotate(when, day)
        self.day = self.day or day
        self._write(when, event, fields)

    def _write(self, when: datetime, event: str, fields: dict[str, Any]) -> None:
        record = {
            "ts": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "seq": self.seq + 1,
            "event": event,
            "file_id": fields.pop("file_id", None),
            "input": fields.pop("input", None),
            "sha256": fields.pop("sha256", None),
            "policy": "default",
            "policy_sha256": POLICY_SHA,
            **fields,
            "prev": self.prev,
        }
        self.handle.write(audit.record_line(record))
        self.seq, self.prev = record["seq"], record["hash"]

    def _rotate(self, when: datetime, day: str) -> None:
        self.handle.close()
        closed = self.path.with_name(audit.segment_name(self.path, str(self.day), self.first_seq))
        os.rename(self.path, closed)
        self.handle = self.path.open("wb")
        self.day, self.first_seq = day, self.seq + 1
        self._write(
            when,
            audit.ROTATED,
            {
                "segment": closed.name,
                "segment_first_seq": int(closed.name.rsplit(".", 1)[1]),
                "segment_last_seq": self.seq,
                "segment_sha256": audit.file_sha256(closed),
            },
        )

    def close(self) -> None:
        self.handle.close()
        audit.head_path(self.path).write_bytes(audit.head_bytes(self.seq, self.prev))


def id_made_at(when: datetime, rng: random.Random) -> str:
    """A ULID made at ``when``, as cdr.names.new_id makes one at the moment of the claim."""
    value = (int(when.timestamp() * 1000) << 80) | rng.getrandbits(80)
    return "".join(_CROCKFORD[(value >> (5 * n)) & 31] for n in reversed(range(26)))


def build_log(path: Path, count: int, days: int = 365, seed: int = 13) -> list[str]:
    """About ``count`` records over the last ``days`` days, today's included; the IDs of the
    files that were quarantined, newest last."""
    rng = random.Random(seed)
    log = LogBuilder(path)
    files = int(count / 5.05)  # five records a file, and a rotation a day
    now = datetime.now(UTC)
    start = now - timedelta(days=days)
    step = (now - start) / max(files, 1)
    held = []
    for n in range(files):
        when = start + step * n
        file_id, kind = id_made_at(when - timedelta(milliseconds=5), rng), rng.choice(TYPES)
        name = f"総務課/{when:%Y%m}/会議資料-{n:07d}.{kind}"
        sha = f"{rng.getrandbits(256):064x}"
        common = {"file_id": file_id, "input": name, "sha256": sha}
        for event in EVENTS_OF_A_FILE:
            extra: dict[str, Any] = {}
            if event == "received":
                extra = {"size": rng.randint(2_000, 9_000_000)}
            elif event == "analysed":
                extra = {"type": kind, "findings": [{"kind": "metadata", "detail": "author"}]}
            elif event == "sanitized":
                extra = {"actions": [{"kind": "metadata", "action": "removed", "count": 3}]}
            elif event == "verified":
                extra = {"output_type": kind}
            log.record(when, event, **common, **extra)
            when += timedelta(milliseconds=40)
        if rng.random() < 0.05:
            held.append(file_id)
            log.record(when, "quarantined", **common, reason=rng.choice(REASONS), quarantine_id=file_id)
        else:
            log.record(when, "released", **common, output=name, output_sha256=sha, type=kind)
    log.close()
    return held


def build_quarantine(root: Path, count: int, held: list[str], seed: int = 13) -> None:
    """``count`` entries with meta.json as the pipeline writes it (originals of a few bytes)."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    now = datetime.now(UTC)
    extra = [id_made_at(now - timedelta(days=400 + n), rng) for n in range(max(0, count - len(held)))]
    ids = (extra[::-1] + held)[-count:]
    for n, qid in enumerate(ids):
        folder = root / qid
        folder.mkdir(mode=0o750)
        (folder / "original.bin").write_bytes(b"%PDF-1.7\n")
        kind = rng.choice(TYPES)
        meta = {
            "reason": rng.choice(REASONS),
            "message": "マクロを含む文書は受け取れません",
            "input": f"総務課/受信/見積書-{n:05d}.{kind}",
            "relative": f"総務課/受信/見積書-{n:05d}.{kind}",
            "sha256": f"{rng.getrandbits(256):064x}",
            "size": rng.randint(2_000, 9_000_000),
            "type": kind,
            "mime": "application/octet-stream",
            "findings": [{"kind": "vba-macros", "detail": "VBA project"}],
            "file_id": qid,
            "policy": "default",
            "policy_sha256": POLICY_SHA,
            "contact": "情報政策課 内線 1234",
            "retention": "90d",
            "outbox": "/srv/cdr/out",
            "quarantined_at": time.time() - rng.randint(0, 86400 * 90),
            "id": qid,
            "status": "quarantined",
            "notice": f"総務課/受信/見積書-{n:05d}.{kind}.quarantined.txt",
            "notice_state": "held",
        }
        (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")


# Runs cli.py as ``python cli.py ARGS`` would, then writes the process's own peak resident
# size (kB) to the file named by CDR_BENCH_PEAK: VmHWM belongs to the memory the process has
# since its exec, unlike ru_maxrss, which carries over the parent's size at the fork.
PEAK_WRAPPER = """
import atexit, os, runpy, sys

def peak():
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["CDR_BENCH_PEAK"], "w") as out:
        out.write(kb)

atexit.register(peak)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_cli(base: Path, *args: str) -> tuple[float, float, int]:
    """Seconds, peak resident MiB (the command's own) and output bytes of one ``cli.py`` run
    against the built stores."""
    flags = ["--audit", str(base / "audit.jsonl")] if args[0] == "audit" else []
    if args[:2] == ("audit", "show"):
        flags += ["--quarantine", str(base / "q")]
    if args[0] == "quarantine":
        flags = ["--quarantine", str(base / "q")]
    if args[0] == "status":
        flags = ["--spool", str(base / "spool"), "--audit", str(base / "audit.jsonl")]
    peak = base / "peak.txt"
    peak.unlink(missing_ok=True)
    env = {**os.environ, "LANG": "ja_JP.UTF-8", "CDR_CONFIG": str(base / "cdr.yaml"), "CDR_BENCH_PEAK": str(peak)}
    command = [sys.executable, "-c", PEAK_WRAPPER, str(ROOT / "cli.py"), *args, *flags]
    started = time.perf_counter()
    with open(base / "out.txt", "wb") as out:
        status = subprocess.run(command, stdout=out, env=env, check=False).returncode
    took = time.perf_counter() - started
    if status not in (0, 1):
        sys.exit(f"cli.py {' '.join(args)} failed: {(base / 'out.txt').read_text()[-500:]}")
    return took, int(peak.read_text()) / 1024, (base / "out.txt").stat().st_size


def hashing_floor(path: Path) -> float:
    """CPU seconds to SHA-256 every line of the log, one by one: what any check of the chain costs."""
    import hashlib

    cpu = time.process_time()
    for _, handle in audit.log_files(path):
        for line in handle.read().split(b"\n"):
            hashlib.sha256(line).hexdigest()
    return time.process_time() - cpu


def row(figure: str, value: str, target: str, ok: bool) -> None:
    print(f"  {figure:<44} {value:>18}   target {target:<12} {'ok' if ok else 'MISSED'}", flush=True)


def interpreter_floor(base: Path) -> float:
    """What any cli.py run costs before it reads anything (`cdr --help`-like: the version)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "cli.py"), "--version"], capture_output=True, check=False)
    return time.perf_counter() - started


Figure = Callable[[str, str, str, str, "bool | None"], None]  # bench/run.py's table of issue 13


def bench_scale(base: Path, records: int = 1_000_000, entries: int = 10_000, figure: Figure | None = None) -> None:
    print(f"\n== scale: {records:,} audit records over a year, {entries:,} quarantine entries", flush=True)
    started = time.perf_counter()
    held = build_log(base / "audit.jsonl", records)
    build_quarantine(base / "q", entries, held)
    (base / "spool").mkdir()
    (base / "cdr.yaml").write_text("")
    total = sum(1 for _ in audit.records(base / "audit.jsonl"))
    print(f"  built {total:,} records in {len(audit.segments(base / 'audit.jsonl')) + 1} files "
          f"and {entries:,} entries in {time.perf_counter() - started:.0f} s", flush=True)
    floor = interpreter_floor(base)
    print(f"  a cli.py run that reads nothing: {floor:.2f} s (included below)")

    started, cpu = time.perf_counter(), time.process_time()
    report = audit.verify(base / "audit.jsonl")
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert report.ok, report.problem
    rate = report.records / took
    row("audit verify (in process)", f"{rate:,.0f} rec/s", "≥ 200,000", rate >= 200_000)
    # on a machine shared with others the wall clock runs on while this process waits
    print(f"  … of this process's own CPU time: {report.records / cpu:,.0f} records/s; "
          f"hashing each line alone: {report.records / hashing_floor(base / 'audit.jsonl'):,.0f}/s")
    size = sum(os.path.getsize(base / n) for n in os.listdir(base) if n.startswith("audit.jsonl")) >> 20
    if figure:
        figure("cdr audit verify", f"{rate:,.0f} records/s", f"{report.records:,} records, {size} MiB", ">= 200,000/s", rate >= 200_000)

    from cdr.daemon.counters import japan_today, verdicts_on

    started = time.perf_counter()
    today = verdicts_on(japan_today(), base / "audit.jsonl")
    took = time.perf_counter() - started
    row(f"today's verdicts read back ({sum(today.values())} files)", f"{took:.3f} s", "< 0.5 s", took < 0.5)
    status, _, _ = run_cli(base, "status")
    row("cdr status", f"{status:.2f} s", "< 0.5 s", status < 0.5)
    first, peak, _ = run_cli(base, "quarantine", "list")  # reads every meta.json, keeps the rows
    row(f"cdr quarantine list, first ({entries:,} entries)", f"{first:.2f} s {peak:.0f} MiB", "-", True)
    listed, peak, _ = run_cli(base, "quarantine", "list")  # the rows kept, each meta.json stat'ed
    row(f"cdr quarantine list, again ({entries:,} entries)", f"{listed:.2f} s {peak:.0f} MiB", "< 0.5 s", listed < 0.5)
    if figure:
        against = f"{records:,} records, {entries:,} entries; cli.py alone {floor:.2f} s; first list {first:.2f} s"
        figure("cdr status, quarantine list", f"{status:.2f} s, {listed:.2f} s", against, "each < 0.5 s", max(status, listed) < 0.5)

    took, peak, _ = run_cli(base, "audit", "tail", "-n", "20")
    row("cdr audit tail -n 20", f"{took:.2f} s {peak:.0f} MiB", "< 0.5 s", took < 0.5)
    newest = held[-1][-8:]
    took, peak, _ = run_cli(base, "audit", "show", held[-1])
    row("cdr audit show <today's ID>", f"{took:.2f} s {peak:.0f} MiB", "< 0.5 s", took < 0.5)
    took, peak, _ = run_cli(base, "audit", "show", newest)
    row("cdr audit show <today's 受付番号>", f"{took:.2f} s {peak:.0f} MiB", "< 0.5 s", took < 0.5)
    took, peak, size = run_cli(base, "audit", "export", "--csv")
    row(f"cdr audit export --csv ({size >> 20} MiB)", f"{took:.1f} s {peak:.0f} MiB", "≤ 100 MiB", peak <= 100)


def main() -> None:
    counts = [int(a) for a in sys.argv[1:3]]
    with tempfile.TemporaryDirectory(prefix="cdr-bench-scale-") as folder:
        bench_scale(Path(folder), *counts)


if __name__ == "__main__":
    main()
