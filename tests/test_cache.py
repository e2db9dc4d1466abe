"""The cache of verified outputs (cdr/cache.py, cdr/reuse.py): the same circular dropped by
forty staff is sanitized once; every other copy is released from the kept, verified output
with records of its own, and nothing unsafe, damaged or unlocked is ever served from it."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import stat
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pikepdf
import pytest

from cdr import engine
from cdr.audit import records, verify
from cdr.cache import CacheKey, Discarded, Hit, Kept, VerifiedCache, cache_place
from cdr.cells import cells
from cdr.config import Settings
from cdr.errors import ConfigError
from cdr.model import FileType, Outcome, Verdict
from cdr.pipeline import Pipeline, Places
from cdr.policy import CacheOptions, Policy, parse_policy
from cdr.sandbox import SandboxPool
from tests import office_builders as ob
from tests.test_office import _encrypt
from tests.test_watch import killed_three_times_while

ROOT = Path(__file__).resolve().parent.parent
LIFE_OF_A_HIT = ["received", "cache-hit", "released"]


def circular() -> bytes:
    """A one-page PDF with an OpenAction script: the rebuild removes something, so the
    actions a hit carries can be compared with the first run's."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    out = io.BytesIO()
    pdf.save(out, deterministic_id=True)  # the same bytes at every call: one content
    return out.getvalue()


@pytest.fixture
def places(tmp_path: Path) -> Places:
    """conftest's places with a cache folder: conftest's ``pipeline`` then keeps outputs."""
    (tmp_path / "out").mkdir()
    return Places(tmp_path / "out", tmp_path / "q", tmp_path / "audit.jsonl", tmp_path / "work", tmp_path / "cache")


def drop(pipeline: Pipeline, rel: str, data: bytes) -> Verdict:
    source = pipeline.places.outbox.parent / "in" / rel
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(data)
    return pipeline.process(source, rel)


def events_of(pipeline: Pipeline, verdict: Verdict) -> list[dict]:
    return [r for r in records(pipeline.places.audit) if r.get("file_id") == verdict.id]


def entry_folders(pipeline: Pipeline) -> list[Path]:
    assert pipeline.places.cache is not None
    return [entry.folder for entry in VerifiedCache(pipeline.places.cache, make=False).entries()]


# ------------------------------------------------------------------ hits and misses
def test_a_second_copy_is_released_from_the_cache_with_records_of_its_own(pipeline: Pipeline) -> None:
    first = drop(pipeline, "soumu/circular.pdf", circular())
    second = drop(pipeline, "kikaku/circular.pdf", circular())
    assert (first.verdict, second.verdict) == (Outcome.RELEASED, Outcome.RELEASED)
    assert (first.cached, second.cached) == (False, True)
    assert Path(second.output).read_bytes() == Path(first.output).read_bytes()
    assert second.output == str(pipeline.places.outbox / "kikaku" / "circular.pdf")
    # the result line is the first run's but for what belongs to this copy
    mine = ("id", "input", "output", "duration_ms", "cached")
    assert {k: v for k, v in second.to_json().items() if k not in mine} == {
        k: v for k, v in first.to_json().items() if k not in mine
    }
    assert {"what": "open-action", "action": "removed", "count": 1} in second.actions
    assert json.loads(json.dumps(second.to_json()))["cached"] is True
    life = events_of(pipeline, second)
    assert [r["event"] for r in life] == LIFE_OF_A_HIT
    hit = life[1]
    assert hit["producer"] == first.id and hit["output_sha256"] == first.output_sha256 == second.output_sha256
    assert hit["actions"] == first.actions and hit["type"] == "pdf"
    assert "sanitized" in [r["event"] for r in events_of(pipeline, first)]
    assert [r["event"] for r in events_of(pipeline, first)][-2:] == ["cache-stored", "released"]
    report = verify(pipeline.places.audit)
    assert report.ok, report.problem


def test_a_hit_reports_what_the_first_run_removed(pipeline: Pipeline) -> None:
    from cdr.lifeline import Life

    drop(pipeline, "soumu/circular.pdf", circular())
    second = drop(pipeline, "kikaku/circular.pdf", circular())
    life = Life(second.id)
    for record in events_of(pipeline, second):
        life.add(record)
    assert life.actions == second.actions and life.output == "kikaku/circular.pdf"


def test_another_name_is_another_key(pipeline: Pipeline) -> None:
    drop(pipeline, "soumu/circular.pdf", circular())
    renamed = drop(pipeline, "soumu/circular-copy.pdf", circular())
    assert not renamed.cached and len(entry_folders(pipeline)) == 2


def test_a_changed_policy_misses(pipeline: Pipeline, default_policy: Policy) -> None:
    drop(pipeline, "soumu/circular.pdf", circular())
    other = parse_policy((ROOT / "policies" / "default.yaml").read_text() + "# edited\n", "edited.yaml")
    assert other.sha256 != default_policy.sha256
    pipeline.set_policy(other)
    again = drop(pipeline, "kikaku/circular.pdf", circular())
    assert not again.cached and "cache-hit" not in [r["event"] for r in events_of(pipeline, again)]
    assert len(entry_folders(pipeline)) == 2


def test_a_changed_engine_misses(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    drop(pipeline, "soumu/circular.pdf", circular())
    newer = {**engine.version(), "pikepdf": "99.0.0"}
    monkeypatch.setattr(engine, "version", lambda: newer)
    again = drop(pipeline, "kikaku/circular.pdf", circular())
    assert not again.cached and len(entry_folders(pipeline)) == 2
    stored = json.loads((entry_folders(pipeline)[0] / "entry.json").read_text())
    assert set(stored) >= {"input_sha256", "policy_sha256", "engine", "name", "output_sha256", "producer", "created"}


def test_the_policy_switch_turns_it_off(pipeline: Pipeline, default_policy: Policy) -> None:
    pipeline.set_policy(replace(default_policy, cache=CacheOptions(enabled=False)))
    drop(pipeline, "soumu/circular.pdf", circular())
    again = drop(pipeline, "kikaku/circular.pdf", circular())
    assert not again.cached and entry_folders(pipeline) == []


def test_a_policy_without_the_cache_starts_whatever_its_folder_is(
    places: Places, default_policy: Policy, sandbox_pool: SandboxPool, tmp_path: Path
) -> None:
    """A cache folder that cannot be used (here a file, as an unwritable parent would be)
    stops a start only when the policy keeps outputs; a later policy that turns the cache on
    runs its files without it."""
    assert places.cache is not None
    places.cache.write_text("not a folder")
    with pytest.raises(ConfigError, match="cache"):
        Pipeline(default_policy, places, sandbox_pool)
    off = Pipeline(replace(default_policy, cache=CacheOptions(enabled=False)), places, sandbox_pool)
    try:
        off.start()
        assert drop(off, "soumu/circular.pdf", circular()).verdict == Outcome.RELEASED
        off.set_policy(default_policy)  # SIGHUP: the cache on, its folder still unusable
        again = drop(off, "kikaku/circular.pdf", circular())
        assert again.verdict == Outcome.RELEASED and not again.cached
        assert places.cache.read_text() == "not a folder"
    finally:
        off.close()


# ------------------------------------------------------------------ never served
@pytest.mark.parametrize("damage", ["output", "record"])
def test_a_tampered_entry_is_discarded_and_not_released(pipeline: Pipeline, damage: str) -> None:
    first = drop(pipeline, "soumu/circular.pdf", circular())
    (folder,) = entry_folders(pipeline)
    if damage == "output":
        tampered = Path(first.output).read_bytes().replace(b"%%EOF", b"%%EOF\n/JS (app.alert(2))")
        (folder / "output").write_bytes(tampered)
    else:
        (folder / "entry.json").write_text("{not json")
    again = drop(pipeline, "kikaku/circular.pdf", circular())
    assert again.verdict == Outcome.RELEASED and not again.cached
    assert Path(again.output).read_bytes() == Path(first.output).read_bytes(), "rebuilt, not the tampered bytes"
    life = [r["event"] for r in events_of(pipeline, again)]
    assert life[:2] == ["received", "cache-discarded"] and "sanitized" in life and "verified" in life
    discarded = events_of(pipeline, again)[1]
    assert discarded["producer"] == (first.id if damage == "output" else None)
    assert ("SHA-256" if damage == "output" else "record cannot be read") in discarded["why"]
    # the damaged entry is gone; the new run's verified output took its place
    (fresh,) = entry_folders(pipeline)
    assert (fresh / "output").read_bytes() == Path(first.output).read_bytes()
    assert verify(pipeline.places.audit).ok


def test_a_kept_output_the_verifier_now_refuses_is_discarded_not_served(pipeline: Pipeline, default_policy: Policy) -> None:
    """Under ``cache.verify_hits`` (the strict policy's setting) a hit is verified again in a
    fresh child: an entry whose bytes match its record but which the verifier as it is now
    refuses (here a script put back in, its record rewritten to match, as a changed verifier
    would find an old output) is discarded and rebuilt."""
    pipeline.set_policy(replace(default_policy, cache=CacheOptions(verify_hits=True)))
    first = drop(pipeline, "soumu/circular.pdf", circular())
    (folder,) = entry_folders(pipeline)
    planted = circular()  # the input itself: its OpenAction script is what the verifier refuses
    (folder / "output").write_bytes(planted)
    record = json.loads((folder / "entry.json").read_text())
    record.update(output_sha256=hashlib.sha256(planted).hexdigest(), output_size=len(planted))
    (folder / "entry.json").write_text(json.dumps(record))
    again = drop(pipeline, "kikaku/circular.pdf", circular())
    assert again.verdict == Outcome.RELEASED and not again.cached
    assert Path(again.output).read_bytes() == Path(first.output).read_bytes(), "rebuilt, not the kept bytes"
    life = events_of(pipeline, again)
    assert [r["event"] for r in life][:2] == ["received", "cache-discarded"] and "verified" in [r["event"] for r in life]
    assert life[1]["producer"] == first.id
    assert life[1]["why"].startswith("the verifier refuses the kept output now: verification-failed: "), life[1]["why"]
    (fresh,) = entry_folders(pipeline)
    assert (fresh / "output").read_bytes() == Path(first.output).read_bytes()
    stats = VerifiedCache(pipeline.places.cache, make=False).stats().tallies
    assert (stats["hits"], stats["discarded"], stats["misses"]) == (0, 1, 2)


def test_the_strict_policy_verifies_hits_again_and_the_default_does_not() -> None:
    shipped = {
        name: parse_policy((ROOT / "policies" / f"{name}.yaml").read_text(), f"{name}.yaml").cache.verify_hits
        for name in ("default", "strict")
    }
    assert shipped == {"default": False, "strict": True}
    edited = (ROOT / "policies" / "default.yaml").read_text().replace("verify_hits: false", "verify_hits: true")
    assert parse_policy(edited, "edited.yaml").cache.verify_hits


def test_a_quarantined_file_is_never_kept(pipeline: Pipeline) -> None:
    program = Path("/bin/true").read_bytes()
    runs = [drop(pipeline, f"{dept}/invoice.pdf", program) for dept in ("soumu", "kikaku")]
    assert [v.verdict for v in runs] == [Outcome.QUARANTINED] * 2
    assert [v.reason for v in runs] == ["extension-mismatch"] * 2 and not any(v.cached for v in runs)
    for verdict in runs:
        life = [r["event"] for r in events_of(pipeline, verdict)]
        assert life[0] == "received" and "identified" in life and life[-1] == "quarantined", life
        assert not [e for e in life if e.startswith("cache-")]
        assert (pipeline.places.quarantine / verdict.quarantine_id / "meta.json").exists()
    assert entry_folders(pipeline) == []


def test_a_file_opened_with_a_password_is_never_kept_nor_served(pipeline: Pipeline, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with pikepdf.open(io.BytesIO(circular())) as pdf:
        pdf.save(buffer, encryption=pikepdf.Encryption(user="kuma2024", owner="owner", R=6))
    locked = tmp_path / "in" / "secret.pdf"
    locked.parent.mkdir(parents=True, exist_ok=True)
    locked.write_bytes(buffer.getvalue())
    assert pipeline.process(locked, "secret.pdf").reason == "encrypted"
    runs = [pipeline.process(locked, "secret.pdf", password="kuma2024") for _ in range(2)]
    assert [v.verdict for v in runs] == [Outcome.RELEASED] * 2 and not any(v.cached for v in runs)
    # Excel's well-known password opens a workbook without asking: still an unlock
    readonly = _encrypt(ob.xlsx_bytes(), "VelvetSweatshop")
    books = [drop(pipeline, f"{dept}/readonly.xlsx", readonly) for dept in ("soumu", "kikaku")]
    assert [v.verdict for v in books] == [Outcome.RELEASED] * 2 and not any(v.cached for v in books)
    assert entry_folders(pipeline) == []
    events = [r["event"] for r in records(pipeline.places.audit)]
    assert "cache-stored" not in events and "cache-hit" not in events


# ------------------------------------------------------------------ the store itself
def _kept(n: int) -> Kept:
    return Kept(FileType.TEXT, f"producer{n}", "text", [], [])


def _key(n: int) -> CacheKey:
    return CacheKey(f"{n:064x}", "p" * 64, "e" * 64, f"note{n}.txt")


def _counted(tmp_path: Path) -> int:
    """The running size of the store, which spares each store a walk of every entry."""
    return json.loads((tmp_path / "cache" / "counters.json").read_text())["bytes"]


def test_least_recently_used_entries_go_beyond_the_size(tmp_path: Path) -> None:
    store = VerifiedCache(tmp_path / "cache")
    outputs = []
    for n in range(3):
        outputs.append(tmp_path / f"out{n}")
        outputs[-1].write_bytes(bytes([n]) * 10_000)
    bound = 25_000  # two entries of 10 kB and their records fit, three do not
    assert store.store(_key(0), outputs[0], _kept(0), bound) is not None
    time.sleep(0.02)
    assert store.store(_key(1), outputs[1], _kept(1), bound) is not None
    assert _counted(tmp_path) == sum(e.size for e in store.entries()), "kept up without a walk"
    time.sleep(0.02)
    into = os.open(tmp_path / "read", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        assert store.fetch(_key(0), into) is not None  # 0 used after 1: 1 is now the oldest use
    finally:
        os.close(into)
    time.sleep(0.02)
    assert store.store(_key(2), outputs[2], _kept(2), bound) is not None
    kept = {json.loads((e.folder / "entry.json").read_text())["producer"] for e in store.entries()}
    assert kept == {"producer0", "producer2"}
    assert sum(e.size for e in store.entries()) <= bound
    assert _counted(tmp_path) == sum(e.size for e in store.entries()), "set by the eviction's walk"
    assert store.stats().tallies == {"hits": 1, "misses": 0, "stored": 3, "discarded": 0, "evicted": 1}


def test_a_cache_folder_opened_to_others_after_the_start_is_neither_read_nor_written(tmp_path: Path) -> None:
    store = VerifiedCache(tmp_path / "cache")
    output = tmp_path / "out"
    output.write_bytes(b"kept")
    assert store.store(_key(1), output, _kept(1), 2**20) is not None
    into = os.open(tmp_path / "released", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        assert isinstance(store.fetch(_key(1), into), Hit)  # control: served while it is closed
        (tmp_path / "cache").chmod(0o777)
        assert store.fetch(_key(1), into) is None
        assert store.store(_key(2), output, _kept(2), 2**20) is None
    finally:
        os.close(into)
    assert len(list(store.entries())) == 1


def test_the_second_of_two_stores_of_one_content_leaves_the_first(tmp_path: Path) -> None:
    store = VerifiedCache(tmp_path / "cache")
    output = tmp_path / "out"
    output.write_bytes(b"same")
    assert store.store(_key(7), output, _kept(1), 2**20) is not None
    assert store.store(_key(7), output, _kept(2), 2**20) is None
    (entry,) = store.entries()
    assert json.loads((entry.folder / "entry.json").read_text())["producer"] == "producer1"
    assert [p.name for p in (tmp_path / "cache" / ".incoming").iterdir()] == [], "no half entry left"


def test_concurrent_stores_and_reads_never_see_half_an_entry(tmp_path: Path) -> None:
    store = VerifiedCache(tmp_path / "cache")
    output = tmp_path / "out"
    output.write_bytes(os.urandom(300_000))
    seen: list[object] = []
    done = threading.Event()

    def write() -> None:
        for _ in range(30):
            store.store(_key(3), output, _kept(1), 2**30)
            time.sleep(0.003)  # long enough for a reader to find it whole
            store.clear()
        done.set()

    def read(n: int) -> None:
        target = tmp_path / f"read{n}"
        while not done.is_set():
            fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                seen.append(store.fetch(_key(3), fd))
            finally:
                os.close(fd)

    threads = [threading.Thread(target=write), *(threading.Thread(target=read, args=(n,)) for n in range(2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [s for s in seen if isinstance(s, Discarded)], "a reader took an entry on its way out for damaged"
    assert [s for s in seen if isinstance(s, Hit)], "the readers found the entry at times"


def test_folder_0700_files_0600_and_a_folder_open_to_others_is_refused(pipeline: Pipeline, tmp_path: Path) -> None:
    drop(pipeline, "soumu/circular.pdf", circular())
    root = pipeline.places.cache
    assert root is not None and stat.S_IMODE(root.stat().st_mode) == 0o700
    for path in root.rglob("*"):
        wanted = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == wanted, path
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    with pytest.raises(ConfigError, match="open to other users"):
        VerifiedCache(loose)
    (tmp_path / "link").symlink_to(root)
    with pytest.raises(ConfigError, match="owned by the service user"):
        VerifiedCache(tmp_path / "link")


def test_the_cache_is_never_inside_the_outbox(tmp_path: Path) -> None:
    places = {k: tmp_path / k for k in ("inbox", "outbox", "spool", "quarantine")}
    base = Settings(**places, audit=tmp_path / "a.jsonl", policy=None, workers=1, cache_dir=tmp_path / "cache")
    assert cache_place(base) == tmp_path / "cache"
    for inside in ("outbox", "inbox"):
        with pytest.raises(ConfigError, match=f"apart from the {inside}"):
            cache_place(replace(base, cache_dir=tmp_path / inside / "cache"))


# ------------------------------------------------------------------ the command line
def cdr(*args: str | Path, env: dict[str, str], lang: str = "C") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *map(str, args)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "CDR_CONFIG": "/dev/null", "LANG": lang, **env},
    )  # fmt: skip


def test_cache_stats_and_clear(pipeline: Pipeline, tmp_path: Path) -> None:
    for dept in ("soumu", "kikaku", "kenko"):
        drop(pipeline, f"{dept}/circular.pdf", circular())
    env = {"CDR_CACHE_DIR": str(pipeline.places.cache), "CDR_AUDIT": str(pipeline.places.audit)}
    shown = cdr("cache", "stats", env=env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == str(pipeline.places.cache)
    assert lines[1].startswith("1 entry, ") and lines[1].endswith("of at most 2.0 GiB")
    assert "2 hits, 1 misses" in lines[2] and lines[3] == "kept 1, discarded as damaged 0, evicted 0"
    assert all(len(line) <= 80 for line in lines)
    japanese = cdr("cache", "stats", env=env, lang="ja_JP.UTF-8")
    assert "ヒット 2 件" in japanese.stdout, japanese.stdout
    assert all(cells(line) <= 80 for line in japanese.stdout.splitlines()), japanese.stdout
    assert japanese.stdout.splitlines()[-1].startswith("保存日時: 古いもの 20")
    cleared = cdr("cache", "clear", env=env)
    assert cleared.returncode == 0, cleared.stderr
    assert cleared.stdout.strip() == f"{pipeline.places.cache}: 1 entry removed (audited)"
    assert entry_folders(pipeline) == []
    (record,) = [r for r in records(pipeline.places.audit) if r["event"] == "cache-cleared"]
    assert record["entries"] == 1 and record["admin"] and record["bytes"] > 0
    assert verify(pipeline.places.audit).ok
    after = cdr("cache", "stats", env=env).stdout.splitlines()
    assert after[1].startswith("0 entries, 0 B") and "0 hits, 0 misses" in after[2]


# ------------------------------------------------------------------ kill -9 with the cache on
@pytest.mark.slow
def test_kill_minus_nine_with_the_cache_on_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """Forty departments get the same circular (and a program disguised as a PDF), while the
    daemon is killed three times: each copy ends released or quarantined exactly once, every
    released circular is the same whole file, and most of them came from the cache."""
    rng = random.Random(20261129)
    program, pdf = Path("/bin/true").read_bytes(), circular()

    def drop_all() -> dict[str, bytes | None]:
        expected: dict[str, bytes | None] = {}
        for n in range(40):
            dept = tmp_path / "in" / f"ka{n:02d}"
            dept.mkdir(parents=True, exist_ok=True)
            (dept / "circular.pdf").write_bytes(pdf)
            (dept / "invoice.pdf").write_bytes(program)
            expected[f"ka{n:02d}/circular.pdf"] = b"png"  # released; its bytes are compared below
            expected[f"ka{n:02d}/invoice.pdf"] = None
            time.sleep(rng.uniform(0, 0.05))
        return expected

    killed_three_times_while(tmp_path, drop_all, rng)
    released = {p.read_bytes() for p in (tmp_path / "out").rglob("circular*.pdf")}
    assert len(released) == 1, "every copy is the one verified output"
    with pikepdf.open(io.BytesIO(released.pop())) as clean:
        assert "/OpenAction" not in clean.Root
    log = list(records(tmp_path / "audit.jsonl"))
    events = [r["event"] for r in log]
    assert events.count("cache-hit") >= 20, events.count("cache-hit")
    # each hit names a run the log kept, verified: its records are made durable before its
    # output enters the cache (its own cache-stored record may go with a kill -9 after that)
    verified = {r["file_id"] for r in log if r["event"] == "verified"}
    producers = {r["producer"] for r in log if r["event"] == "cache-hit"}
    assert producers and producers <= verified, producers - verified
    report = verify(tmp_path / "audit.jsonl")
    assert report.ok, report.problem
