"""Review of issue 13's durability and speed work (rev13): what a reviewer could break.

Each strict xfail is a problem shown on the code as it stands; it starts passing (and so
failing the suite) when the problem is fixed, and then loses its mark. The plain tests
beside them are controls: they show that what the xfail expects is what the slower or
older path already does, so the xfail fails for the reason it names and no other.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import magic
import pytest

from cdr import audit, detect, engine
from cdr.audit import AuditLog, Rotation, has_final_event, head_path, record_line, records, verify
from cdr.cache import CacheKey, Hit, Kept, VerifiedCache, cache_place
from cdr.config import settings
from cdr.daemon import jobs
from cdr.durable import write_json
from cdr.errors import ConfigError
from cdr.model import FileType
from cdr.policy import Policy
from cdr.quarantine_rows import listed
from cdr.verifiers import VerifyContext, verify_structure
from cdr.zipwriter import write_zip

NEVER = Rotation(daily=False)
ROOT = Path(__file__).resolve().parent.parent
SERVICE = 65534  # a user that is not root, as the service user cdr is
DAY = 86400.0
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid_at(moment: float) -> str:
    """A file ID as cdr.names.new_id makes it, at ``moment`` on the clock that made it."""
    value = (int(moment * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def _ts(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment * 1000) % 1000:03d}Z"


# ------------------------------------------------------------------ audit verify's fast path
def _record(seq: int, prev: str, **fields: object) -> dict:
    base = {"ts": "2026-11-29T01:00:00.000Z", "seq": seq, "event": "received", "file_id": "01JREV13000000000000000000"}
    return {**base, "input": "soumu/会議.pdf", "sha256": "ab" * 32, "policy": "default", "policy_sha256": "cd" * 32,
            **fields, "prev": prev}  # fmt: skip


def _with_hash(body: bytes) -> bytes:
    """``body`` (a line up to its closing brace) with the hash of its bytes added last, the way
    ``record_line`` ends a line: what the fast path checks."""
    digest = hashlib.sha256(body).hexdigest().encode()
    return body[:-1] + b',"hash":"' + digest + b'"}\n'


def _forged(kind: str, prev: str) -> bytes:
    """Seq 2 stored in a shape ``record_line`` never writes, its hash over its own bytes."""
    record = _record(2, prev)
    canonical = audit._canonical(record)
    if kind == "not-json":
        return _with_hash(b'{"event":"received" this is not JSON at all ,"prev":"' + prev.encode() + b'","seq":2}')
    if kind == "duplicate-seq":  # json.loads keeps the last: readers see seq 9
        return _with_hash(canonical[:-1] + b',"seq":9}')
    if kind == "duplicate-event":  # readers see a release the record never made
        return _with_hash(canonical[:-1] + b',"event":"released"}')
    if kind == "whitespace":
        return _with_hash(b"{ " + canonical[1:])
    if kind == "unicode-escape":  # the same text as \\uXXXX escapes: parsed, it is the canonical record
        escaped = json.dumps(json.loads(canonical), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return _with_hash(escaped.encode())
    raise AssertionError(kind)


def _stored_hash(line: bytes) -> str:
    return line[line.rindex(b',"hash":"') + len(b',"hash":"') : -3].decode()


def _log_with(path: Path, kind: str, first: bool = False) -> None:
    """A log holding a forged seq 2 after a proper seq 1 (or, ``first``, opening the file with
    the chain's genesis as its prev), a proper record after it, and a head on that last one."""
    lines = []
    prev = audit.GENESIS
    if not first:
        one = _record(1, prev)
        lines.append(record_line(one))
        prev = one["hash"]
    forged = _forged(kind, prev)
    after = _record(3, _stored_hash(forged))
    lines += [forged, record_line(after)]
    path.write_bytes(b"".join(lines))
    head_path(path).write_bytes(audit.head_bytes(after["seq"], after["hash"]))


@pytest.mark.parametrize(
    "kind",
    [
        "not-json",
        "duplicate-seq",
        "duplicate-event",
        "whitespace",
        "unicode-escape",
    ],
)
def test_verify_names_a_line_not_in_the_stored_form(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "audit.jsonl"
    _log_with(path, kind)
    report = verify(path)
    assert not report.ok and report.line == 2, report


@pytest.mark.parametrize("kind", ["not-json", "duplicate-seq", "duplicate-event", "whitespace", "unicode-escape"])
def test_control_the_same_line_read_the_long_way_is_refused(tmp_path: Path, kind: str) -> None:
    """The first line of a file always goes the long way: there each forged line is named."""
    path = tmp_path / "audit.jsonl"
    _log_with(path, kind, first=True)
    report = verify(path)
    assert not report.ok and report.line == 1, report


# ------------------------------------------------------------------ the head
def _five_records_then_cut(path: Path) -> None:
    log = AuditLog(path, rotation=NEVER)
    for n in range(5):
        log.append("received", f"01JREV1300000000000000000{n}")
    log.close()
    kept = path.read_bytes().splitlines(keepends=True)[:3]
    path.write_bytes(b"".join(kept))  # records 4 and 5 cut off the end


@pytest.mark.parametrize("head", ["deleted", "damaged"])
def test_records_cut_off_with_the_head_removed_are_still_named_after_the_next_record(tmp_path: Path, head: str) -> None:
    path = tmp_path / "audit.jsonl"
    _five_records_then_cut(path)
    if head == "deleted":
        head_path(path).unlink()
    else:
        head_path(path).write_bytes(b"garbage\n")
    assert not verify(path).ok  # control: right after the cut, verify names it
    log = AuditLog(path, rotation=NEVER)
    log.append("received", "01JREV13000000000000000009")
    log.close()
    report = verify(path)
    assert not report.ok, "four records remain, seq 4 and 5 are gone, and verify says all is well"


# ------------------------------------------------------------------ recovery and the clock
@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The time the audit log stamps on the next record (one millisecond on at each)."""
    now = [time.time()]

    def stamp() -> str:
        now[0] += 0.001
        return _ts(now[0])

    monkeypatch.setattr(audit, "now_iso", stamp)
    yield now


@pytest.mark.parametrize(
    ("id_ahead", "records_ahead"),
    [
        pytest.param(0.0, -2 * DAY, id="clock-stepped-back-two-days-after-the-claim"),
        pytest.param(30 * DAY, 0.0, id="id-made-by-a-clock-a-month-ahead"),
    ],
)
def test_recovery_finds_the_released_record_whatever_the_clock_did(
    tmp_path: Path, clock: list[float], id_ahead: float, records_ahead: float
) -> None:
    path = tmp_path / "audit.jsonl"
    now = clock[0]
    file_id = _ulid_at(now + id_ahead)  # claimed: the ID takes the clock of that moment
    clock[0] = now + records_ahead  # the clock stepped (NTP) before the file was released
    log = AuditLog(path, rotation=NEVER)
    log.append("received", file_id, "soumu/a.pdf", "ab" * 32, durable=False)
    log.append("released", file_id, "soumu/a.pdf", "ab" * 32, output="soumu/a.pdf", output_sha256="cd" * 32)
    for n in range(400):  # other files after it: more than the search's last window (64 KiB)
        log.append("received", _ulid_at(clock[0]), f"soumu/{n}.pdf", "ef" * 32, durable=False, size=n)
    log.close()
    # the process was killed after the release, before the spool job went: recovery closes it
    pipeline = SimpleNamespace(places=SimpleNamespace(audit=path), audit=AuditLog(path, rotation=NEVER))
    job = SimpleNamespace(id=file_id, relative="soumu/a.pdf")
    jobs._close_in_audit(pipeline, job, "released", output="soumu/a.pdf", output_sha256="cd" * 32, recovered=True)
    pipeline.audit.close()
    finals = [r for r in records(path) if r.get("file_id") == file_id and r["event"] == "released"]
    assert has_final_event(path, file_id)
    assert len(finals) == 1, f"{len(finals)} released records for one release"


def test_control_recovery_finds_it_when_the_clock_held(tmp_path: Path, clock: list[float]) -> None:
    path = tmp_path / "audit.jsonl"
    file_id = _ulid_at(clock[0])
    log = AuditLog(path, rotation=NEVER)
    log.append("released", file_id, "soumu/a.pdf", "ab" * 32, output="soumu/a.pdf", output_sha256="cd" * 32)
    for n in range(400):
        log.append("received", _ulid_at(clock[0]), f"soumu/{n}.pdf", "ef" * 32, durable=False, size=n)
    log.close()
    assert has_final_event(path, file_id)


# ------------------------------------------------------------------ the cache
KEY = CacheKey("a" * 64, "b" * 64, "e" * 64, "circular.pdf")


def _kept() -> Kept:
    return Kept(FileType.PDF, "01JREV13000000000000000000", "pdf", [], [])


def test_a_cache_folder_swapped_for_a_link_after_the_start_is_not_served(tmp_path: Path) -> None:
    root, evil = tmp_path / "cache", tmp_path / "elsewhere"
    cache = VerifiedCache(root)
    planted = tmp_path / "planted.pdf"
    planted.write_bytes(b"%PDF-1.7 not what any verifier accepted")
    VerifiedCache(evil).store(KEY, planted, _kept(), 1 << 30)
    os.rename(root, tmp_path / "cache-was")
    os.symlink(evil, root)
    with pytest.raises(ConfigError):  # control: a start now would refuse the link
        VerifiedCache(root)
    into = os.open(tmp_path / "released", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        found = cache.fetch(KEY, into)
    finally:
        os.close(into)
    assert not isinstance(found, Hit), (tmp_path / "released").read_bytes()


def test_the_engine_digest_moves_when_libmagic_does(monkeypatch: pytest.MonkeyPatch) -> None:
    text = b"echo hello\nls -l\n"
    kept = io.BytesIO()
    write_zip(kept, [("memo.txt", text)])  # an archive output as the rebuild writes it
    context = VerifyContext(Policy(), "files.zip")
    assert verify_structure(FileType.ZIP, io.BytesIO(kept.getvalue()), context) == []  # accepted: kept
    assert detect.identify(io.BytesIO(text), "memo.txt").file_type == FileType.TEXT
    before = json.dumps(engine.version.__wrapped__(), sort_keys=True)
    # a newer libmagic (and magic.mgc) names the same bytes a shell script
    installed = magic.version  # the lambda must not call itself through the patched name
    monkeypatch.setattr(magic, "version", lambda: installed() + 1)
    monkeypatch.setattr(detect._magic, "from_buffer", lambda head: "text/x-shellscript")
    assert detect.identify(io.BytesIO(text), "memo.txt").file_type == FileType.SCRIPT
    refused = verify_structure(FileType.ZIP, io.BytesIO(kept.getvalue()), context)
    assert [f.kind for f in refused] == ["no-verifier"]  # the current verifier refuses the kept output
    after = json.dumps(engine.version.__wrapped__(), sort_keys=True)
    assert before != after, "the same engine digest: the kept outputs would be served"


@pytest.fixture
def installed_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The cache folder the shipped cdr.yaml gives in the layout install.sh makes (what
    Daemon and run_batch give the pipeline); the layout under a scratch root open to others."""
    top = Path(tempfile.mkdtemp(prefix="rev13-install-", dir="/tmp"))
    try:
        top.chmod(0o755)
        _install_layout(top)
        monkeypatch.setenv("CDR_CONFIG", str(top / "etc" / "cdr" / "cdr.yaml"))
        folder = cache_place(settings({}))
        assert folder == top / "srv" / "cdr" / "cache"
        yield folder
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _install_layout(top: Path) -> None:
    """The folders systemd/install.sh makes (its lines 78-84: /srv/cdr root's and 0755, the
    inbox, outbox, spool and cache the service user's; tests/test_install.py checks that
    install.sh makes them so) and its cdr.yaml, under ``top``."""
    srv = top / "srv" / "cdr"
    srv.mkdir(parents=True, mode=0o755)
    for name, mode in (("inbox", 0o2770), ("outbox", 0o2750), ("spool", 0o750), ("cache", 0o700)):
        (srv / name).mkdir(mode=mode)
        os.chown(srv / name, SERVICE, SERVICE)
    (top / "etc" / "cdr").mkdir(parents=True)
    shutil.copy(ROOT / "policies" / "default.yaml", top / "etc" / "cdr" / "policy.yaml")
    shipped = (ROOT / "systemd" / "cdr.yaml").read_text(encoding="utf-8")
    for place in ("/srv/cdr", "/var/lib/cdr", "/var/log/cdr", "/etc/cdr"):  # as install.sh's sed
        shipped = shipped.replace(" " + place, f" {top}{place}")
    (top / "etc" / "cdr" / "cdr.yaml").write_text(shipped, encoding="utf-8")


def _opened_as_service(folder: Path) -> int:
    """How ``VerifiedCache(folder)`` (what Reuse does when the pipeline is made) ends for the
    service user, as systemd starts cdr watch (User=cdr): 0 opened, 3 ConfigError, 4 else."""
    child = os.fork()
    if child == 0:
        code = 0
        try:
            os.setgroups([])
            os.setgid(SERVICE)
            os.setuid(SERVICE)
            VerifiedCache(folder)
        except ConfigError:
            code = 3
        except BaseException:  # noqa: BLE001 - any other failure of the child
            code = 4
        os._exit(code)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become the service user")
def test_control_the_service_user_opens_a_cache_folder_made_for_it(installed_cache: Path) -> None:
    """What install.sh would need to do: ``install -d -o cdr -g cdr -m 0700 /srv/cdr/cache``."""
    installed_cache.mkdir(mode=0o700, exist_ok=True)  # as the layout now has it
    os.chown(installed_cache, SERVICE, SERVICE)
    assert _opened_as_service(installed_cache) == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become the service user")
def test_the_service_user_can_open_the_default_cache_in_the_installed_layout(installed_cache: Path) -> None:
    assert _opened_as_service(installed_cache) == 0, "the service user cannot make its cache folder"


# ------------------------------------------------------------------ quarantine list's rows
def test_a_row_follows_an_update_that_reuses_the_inode_size_and_mtime(tmp_path: Path) -> None:
    root = tmp_path / "quarantine"
    entry = root / _ulid_at(time.time())
    entry.mkdir(parents=True)
    meta = entry / "meta.json"
    write_json(meta, {"status": "quarantined", "reason": "encrypted", "type": "pdf", "input": "soumu/a.pdf"})
    assert listed(root)[0][1]["reason"] == "encrypted"
    first = meta.stat()
    # what the allocator and a coarse clock do, made certain: the next meta.json has the first's
    # inode (held here by a link while another version is in place) and its mtime
    held = entry / "held"
    os.link(meta, held)
    write_json(meta, {"status": "released", "reason": None, "type": "pdf", "input": "soumu/a.pdf"})
    same_size = json.dumps({"status": "quarantined", "reason": "malformed", "type": "pdf", "input": "soumu/a.pdf"}) + "\n"
    with open(held, "r+b") as handle:
        handle.write(same_size.encode())
        handle.truncate()
    os.utime(held, ns=(first.st_atime_ns, first.st_mtime_ns))
    os.replace(held, meta)
    now = meta.stat()
    assert (now.st_ino, now.st_size, now.st_mtime_ns) == (first.st_ino, first.st_size, first.st_mtime_ns)
    assert stat.S_ISREG(now.st_mode)
    assert listed(root)[0][1]["reason"] == "malformed"


def test_a_full_cache_does_not_walk_every_entry_at_every_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = VerifiedCache(tmp_path / "cache")
    output = tmp_path / "out"
    output.write_bytes(b"x" * 1000)
    # about 150 entries of 1 kB and their records: a tenth of the store (what a walk down to
    # 90 % frees) is more than the ten stores counted (with 15 entries, a walk every other store)
    bound = 200_000
    for n in range(160):  # the store is full
        store.store(CacheKey(f"{n:064x}", "b" * 64, "e" * 64, "a.pdf"), output, _kept(), bound)
    walks = []
    entries = VerifiedCache.entries
    monkeypatch.setattr(VerifiedCache, "entries", lambda self: (walks.append(1), entries(self))[1])
    for n in range(160, 170):
        store.store(CacheKey(f"{n:064x}", "b" * 64, "e" * 64, "a.pdf"), output, _kept(), bound)
    assert len(walks) <= 2, f"{len(walks)} walks of every entry for 10 stores"
    assert sum(entry.size for entry in entries(store)) <= bound  # and the bound still holds


@pytest.fixture
def fresh_engine() -> Iterator[None]:
    engine.version.cache_clear()
    yield
    engine.version.cache_clear()  # the next reader sees the real programs again


def test_a_converter_upgraded_under_a_running_daemon_changes_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_engine: None
) -> None:
    program = tmp_path / "libmergedlo.so"
    program.write_bytes(b"LibreOffice 7.4")
    monkeypatch.setattr(engine, "_program_files", lambda _program, *names: [program])
    before = engine.digest()
    program.write_bytes(b"LibreOffice 7.4.7 (a security update)")  # apt replaced it
    assert engine._fingerprint(program) != engine.version()["libreoffice"]  # what the key still holds
    assert engine.digest() != before


def _entry(root: Path, seconds_ago: float = 0.0) -> Path:
    entry = root / _ulid_at(time.time() - seconds_ago)
    entry.mkdir(parents=True)
    return entry


def test_a_damaged_meta_json_is_one_row_not_a_traceback(tmp_path: Path) -> None:
    root = tmp_path / "quarantine"
    # a second earlier: two IDs of one millisecond sort by their random part, either way round
    write_json(_entry(root, 1.0) / "meta.json", {"status": "quarantined", "reason": "encrypted", "input": "soumu/a.pdf"})
    (_entry(root) / "meta.json").write_text("{cut short by a power cut")
    rows = listed(root)
    assert [row["reason"] for _, row in rows][:1] == ["encrypted"]


def test_a_fifo_in_place_of_meta_json_does_not_hang_the_listing(tmp_path: Path) -> None:
    root = tmp_path / "quarantine"
    fifo = _entry(root) / "meta.json"
    os.mkfifo(fifo)
    def listing() -> None:
        with contextlib.suppress(ValueError):  # the FIFO let go empty: not JSON
            listed(root)

    reader = threading.Thread(target=listing, daemon=True)
    reader.start()
    reader.join(2.0)
    hung = reader.is_alive()
    if hung:  # let the blocked open go: a writer opens and closes, the reader reads nothing
        os.close(os.open(fifo, os.O_WRONLY))
        reader.join(5.0)
    assert not hung, "the listing waits on the FIFO for ever"
