"""Sanitize once per content: a store of verified outputs, keyed by everything that decides them.

The same circular reaches forty staff of a town. The first copy runs the whole pipeline; the
output its verifier accepted is kept here, and the next thirty-nine copies are released from
it (``cdr.reuse`` is the pipeline's side: what a hit records, when an output may be kept).

**The key** is the SHA-256 of: the input's SHA-256 (taken once at intake), the policy's
SHA-256, the engine (``cdr.engine``: cdr and the parser libraries and programs that shape an
output) and the file's own name as the sanitizer sees it — the name decides an extension
mismatch, the CSV a ``list.xlsx`` becomes, a mail's text file and a gzip member's name, so two
names are two keys. Nothing else reaches a sanitizer (its descriptors and the policy's JSON).

**An entry** is one folder, ``<key[:2]>/<key>/`` holding ``output`` (the verified bytes) and
``entry.json`` (key parts, the output's SHA-256 and size, the file_id of the run that made and
verified it, the type, findings and actions, when it was made). It is written whole into
``.incoming/`` (every file fsync'd) and renamed into place: a reader finds a whole entry or
none, a crash leaves only ``.incoming/`` litter (removed by a start an hour later), and of two
workers storing the same content at once the second rename fails and its copy is dropped.
Eviction and ``clear`` rename an entry back out before removing it, for the same reason.

**A hit** copies ``output`` out while hashing it; bytes that do not match the recorded
SHA-256 (or size) discard the entry and are never released. What does match is then held
against the current verifier in a fresh child, as every release is (``cdr.reuse``); an
output it refuses is discarded (``refuse``). Last use is the mtime of
``entry.json``, set on each hit (atime is off on most mounts; rewriting the JSON would cost a
write and an fsync per hit); once the store is over its ``cache.max_size`` the least recently
used entries go until it is down to 90 % of it. The folder is 0700 and every file 0600, owned by the service user; a
folder owned by anyone else, or open to others, is refused rather than read.

Hits, misses and the rest are tallied in ``counters.json`` (under a lock, not fsync'd) since
the folder was made or cleared, for ``cdr cache stats``; with them a running size of the store,
which only says when to walk the entries for eviction (the walk decides what goes).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import stat
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdr import engine
from cdr.descriptors import write_all
from cdr.durable import durable_file, fsync_dir
from cdr.errors import ConfigError
from cdr.i18n import _
from cdr.model import FileType

if TYPE_CHECKING:
    from cdr.config import Settings

log = logging.getLogger(__name__)
OUTPUT = "output"
META = "entry.json"
COUNTERS = "counters.json"
INCOMING = ".incoming"
FOLDER_MODE = 0o700
FILE_MODE = 0o600
LOW_WATER = 0.9  # an eviction leaves the store at this part of cache.max_size
LITTER_SECONDS = 3600.0  # an .incoming folder this old belongs to a writer that died
_HEX = re.compile(r"[0-9a-f]+")
COUNTERS_LENGTH = 512
COPY_CHUNK = 1 << 20
ENGINE_SECONDS = 1.0  # how long a key trusts the programs' fingerprints it last took (engine_digest)
TALLIES = ("hits", "misses", "stored", "discarded", "evicted")

# ------------------------------------------------------------------ where it lives
SEPARATE_FROM = ("inbox", "outbox", "spool", "quarantine")


def cache_place(settings: Settings) -> Path | None:
    """The configured ``cache_dir``, refused where it would meet a folder of staff or jobs:
    inside the outbox its outputs would be released to the LGWAN side unasked, inside the
    inbox taken for drops, inside the spool or the quarantine mixed with their entries.
    None (no cache) only for settings made by hand: ``cdr.config`` always names a folder."""
    if settings.cache_dir is None:
        return None
    folder = settings.cache_dir.resolve()
    for name in SEPARATE_FROM:
        other = Path(getattr(settings, name)).resolve()
        if folder.is_relative_to(other) or other.is_relative_to(folder):
            raise ConfigError(
                _("cache_dir: {folder} must be apart from the {name} ({other})").format(folder=folder, name=name, other=other)
            )
    return settings.cache_dir


# ------------------------------------------------------------------ keys and entries
@dataclass(frozen=True)
class CacheKey:
    input_sha256: str
    policy_sha256: str
    engine: str
    name: str  # the file's own name, as the sanitizer child is told it

    @classmethod
    def of(cls, input_sha256: str, policy_sha256: str, name: str) -> CacheKey:
        return cls(input_sha256, policy_sha256, engine_digest(), name)

    def parts(self) -> dict[str, str]:
        return {"input_sha256": self.input_sha256, "policy_sha256": self.policy_sha256, "engine": self.engine, "name": self.name}

    @functools.cached_property  # read at each step of a hit: serialised and hashed once
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.parts(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


_engine_taken: tuple[float, dict[str, str], str] | None = None  # (when, the loaded engine, its digest)


def engine_digest() -> str:
    """``engine.digest()``, taken again once ``ENGINE_SECONDS`` have passed or when the loaded
    engine is another object (a test standing one in). Its stats of LibreOffice, Tesseract and
    magic.mgc on disk cost a tenth of a hit's own work when taken for every file; a package
    upgrade is still seen, a second later instead of at once — a file already on its way
    when the upgrade lands has its key from before it either way."""
    global _engine_taken
    now, loaded = time.monotonic(), engine.version()
    taken = _engine_taken
    if taken is not None and taken[1] is loaded and now - taken[0] < ENGINE_SECONDS:
        return taken[2]
    digest = engine.digest()
    _engine_taken = (now, loaded, digest)
    return digest


@dataclass(frozen=True)
class Kept:
    """What a run knew about its verified output, as the next copy's result reports it."""

    output_type: FileType
    producer: str  # file_id of the run that made and verified the output
    type: str | None
    findings: list[dict[str, Any]]
    actions: list[dict[str, Any]]


@dataclass(frozen=True)
class Hit:
    kept: Kept
    output_sha256: str
    key: str


@dataclass(frozen=True)
class Discarded:
    """An entry that was found but not served: its bytes or record no longer hold."""

    why: str
    producer: str | None
    key: str


@dataclass(frozen=True)
class Listed:
    """One entry as ``stats`` and eviction see it."""

    folder: Path
    size: int
    last_used: float
    created: float


@dataclass(frozen=True)
class Stats:
    entries: int
    size: int
    oldest: float | None  # when the oldest entry was made
    newest: float | None
    tallies: dict[str, int]
    since: float | None  # when the tallies began (the first one after the folder was made or cleared)


class VerifiedCache:
    """The store under one folder. Several workers (threads) and processes (a watcher, a
    batch run) may use one folder at once: every change is a rename of a whole entry."""

    def __init__(self, root: Path, make: bool = True) -> None:
        """``make``: the service's own use (the folder made and checked, old litter removed);
        without it (``cdr cache stats``, possibly run as root) nothing is created."""
        self.root = root
        self._root_fd: int | None = None  # the folder as checked at the start (the service's use)
        if make:
            self._prepare()
            self._root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            # closed with the object, or at the interpreter's exit while ``os`` is still
            # there (a __del__ run at exit found it gone and printed a traceback to stderr)
            weakref.finalize(self, os.close, self._root_fd)

    def still_ours(self) -> bool:
        """The folder checked at the start is still the one at its path, ours and closed to
        others (a link or another folder put in its place since would serve its entries):
        an lstat and an fstat, at every hit and store. Nothing was checked without ``make``."""
        if self._root_fd is None:
            return True
        held = os.fstat(self._root_fd)
        try:
            placed = os.lstat(self.root)
        except OSError:
            placed = None
        if placed is None or not os.path.samestat(placed, held) or held.st_uid != os.geteuid() or held.st_mode & 0o077:
            log.warning("%s: the cache folder was replaced or opened to others since the start: not used", self.root)
            return False
        return True

    # --------------------------------------------------------------- a hit
    def fetch(self, key: CacheKey, into: int | Callable[[int], int]) -> Hit | Discarded | None:
        """Copy the entry's output into ``into`` (the caller's fresh file, or a function that
        makes one for the recorded size) when there is one whose bytes match its record; a
        damaged entry is discarded, never served."""
        if not self.still_ours():
            return None
        try:
            folder_fd = self._open_entry(key.digest)
        except FileNotFoundError:
            return None
        try:  # both files through the one folder descriptor: a pair, even if evicted meanwhile
            return self._read(folder_fd, key, into)
        finally:
            os.close(folder_fd)

    def _read(self, folder_fd: int, key: CacheKey, into: int | Callable[[int], int]) -> Hit | Discarded | None:
        try:
            meta_fd = os.open(META, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder_fd)
        except FileNotFoundError:
            return None  # evicted between the look and the open
        try:
            try:
                meta = json.loads(os.read(meta_fd, 1 << 20))
                kept, recorded, size = _kept(meta), str(meta["output_sha256"]), int(meta["output_size"])
            except (ValueError, KeyError, TypeError) as exc:
                return self._damaged(folder_fd, key, f"the entry's record cannot be read ({type(exc).__name__})", None)
            try:
                digest, copied = _copy_hashing(folder_fd, into(size) if callable(into) else into, size + 1)
            except FileNotFoundError:
                return self._damaged(folder_fd, key, "the entry has no output", kept.producer)
            if copied != size or digest != recorded:
                why = f"the output's SHA-256 is {digest}, the entry recorded {recorded}"
                return self._damaged(folder_fd, key, why, kept.producer)
            os.utime(meta_fd)  # last used: now
        finally:
            os.close(meta_fd)
        self.tally("hits")
        return Hit(kept, recorded, key.digest)

    def _damaged(self, folder_fd: int, key: CacheKey, why: str, producer: str | None) -> Discarded | None:
        """Discard a damaged entry — unless what was read is an entry being evicted or
        cleared meanwhile (its files go one by one): that one is simply not there, and a new
        entry placed since under the same key stays."""
        folder = self._folder(key.digest)
        try:
            placed = os.lstat(folder)
        except FileNotFoundError:
            return None
        if not os.path.samestat(placed, os.fstat(folder_fd)):
            return None
        self._remove(folder)
        self.tally("discarded", "misses")
        return Discarded(why, producer, key.digest)

    def refuse(self, key: CacheKey) -> None:
        """An entry served whole that the current verifier refuses (a verifier or libmagic
        changed since it was kept): removed, and its hit counted as a discard and a miss."""
        self._remove(self._folder(key.digest))
        self.tally("hits", count=-1)
        self.tally("discarded", "misses")

    # --------------------------------------------------------------- a miss
    def store(self, key: CacheKey, output: Path, kept: Kept, max_size: int) -> str | None:
        """Keep a verified output, whole or not at all; its SHA-256 as recorded, or None when
        it was not kept (too big for the store, or another worker kept the same content first)."""
        size = output.stat().st_size
        if size >= max_size or not self.still_ours():
            return None
        incoming = self._incoming()
        try:
            digest = hashlib.sha256()
            with output.open("rb") as source, durable_file(incoming / OUTPUT, FILE_MODE) as target:
                while block := source.read(1 << 20):
                    digest.update(block)
                    target.write(block)
            meta = {
                "key": key.digest,
                **key.parts(),
                "engine_version": engine.version(),
                "output_sha256": digest.hexdigest(),
                "output_size": size,
                "output_type": kept.output_type.value,
                "producer": kept.producer,
                "type": kept.type,
                "findings": kept.findings,
                "actions": kept.actions,
                "created": time.time(),
            }
            record = json.dumps(meta, ensure_ascii=False).encode("utf-8")
            with durable_file(incoming / META, FILE_MODE) as handle:
                handle.write(record)
            fsync_dir(incoming)
            if not self._place(incoming, self._folder(key.digest)):
                return None
        finally:
            shutil.rmtree(incoming, ignore_errors=True)  # gone once placed; litter otherwise
        total = self.tally("stored", grown=size + len(record))
        if total is None or total > max_size:
            self.evict(max_size)
        return digest.hexdigest()

    def _place(self, incoming: Path, folder: Path) -> bool:
        folder.parent.mkdir(mode=FOLDER_MODE, exist_ok=True)
        try:
            os.rename(incoming, folder)
        except OSError as exc:
            if folder.is_dir():  # another worker placed the same content first: theirs stays
                return False
            raise exc
        fsync_dir(folder.parent)
        return True

    # --------------------------------------------------------------- the bound
    def evict(self, max_size: int) -> int:
        """Remove the least recently used entries until the store fits ``LOW_WATER`` of
        ``max_size``: a full store is walked once per tenth of its size stored, not at every
        store. The running size is set to what the walk counted (it drifts only by discarded
        entries and stores that raced, and only until the next walk)."""
        listed = sorted(self.entries(), key=lambda entry: entry.last_used)
        total = sum(entry.size for entry in listed)
        evicted = 0
        for entry in listed:
            if total <= max_size * LOW_WATER:
                break
            if self._remove(entry.folder):
                evicted += 1
            total -= entry.size
        self.tally("evicted", count=evicted, size=total)
        return evicted

    def clear(self) -> tuple[int, int]:
        """Remove every entry and start the tallies afresh; (entries, bytes) removed."""
        listed = list(self.entries())
        removed = sum(1 for entry in listed if self._remove(entry.folder))
        # the service's next tally starts them afresh, in a file of its own (not root's)
        (self.root / COUNTERS).unlink(missing_ok=True)
        return removed, sum(entry.size for entry in listed)

    def entries(self) -> Iterator[Listed]:
        for shard in _subfolders(self.root, 2):
            for folder in _subfolders(shard, 64):
                try:
                    meta = (folder / META).stat()
                    output = (folder / OUTPUT).stat()
                except FileNotFoundError:
                    continue  # being removed
                # the output is written once, never touched: its mtime is when the entry was made
                yield Listed(folder, meta.st_size + output.st_size, meta.st_mtime, output.st_mtime)

    def stats(self) -> Stats:
        listed = list(self.entries())
        made = [entry.created for entry in listed]
        try:
            counters = _parse_counters((self.root / COUNTERS).read_bytes())
        except FileNotFoundError:
            counters = {}
        tallies = {name: int(counters.get(name, 0)) for name in TALLIES}
        since = counters.get("since")
        return Stats(
            len(listed), sum(e.size for e in listed), min(made, default=None), max(made, default=None),
            tallies, float(since) if since is not None else None,
        )  # fmt: skip

    # --------------------------------------------------------------- tallies
    def tally(self, *names: str, count: int = 1, grown: int = 0, size: int | None = None) -> int | None:
        """Add to the named tallies (several processes at once: under a lock) and to the
        running size of the store (``grown``; ``size`` sets it, as counted by a walk); the
        running size after, or None when the tallies cannot be written (logged: they only
        inform, and keep a walk of every entry off each store)."""
        try:
            with _Locked(self.root / COUNTERS) as fd:
                counters = _parse_counters(os.pread(fd, 1 << 16, 0))
                for name in names:
                    counters[name] = int(counters.get(name, 0)) + count
                if size is not None:
                    counters["bytes"] = size
                elif "bytes" not in counters:  # new, cleared or cut short by a crash: what is placed now
                    counters["bytes"] = sum(entry.size for entry in self.entries())
                else:
                    counters["bytes"] = int(counters["bytes"]) + grown
                # padded to a fixed length and written in place: a truncate costs ~2 ms here
                os.pwrite(fd, json.dumps(counters).encode().ljust(COUNTERS_LENGTH), 0)
                return int(counters["bytes"])
        except OSError as exc:
            log.warning("%s: the cache's tallies cannot be written: %s", self.root / COUNTERS, exc.strerror)
            return None

    # --------------------------------------------------------------- the folder
    def _prepare(self) -> None:
        """The folder, made 0700 if missing; refused if it is a link, not ours or open to
        others (an entry anyone else could write would be released as verified)."""
        try:
            self.root.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
            info = os.lstat(self.root)
        except OSError as exc:
            raise ConfigError(_("{path}: the cache folder cannot be made: {why}").format(path=self.root, why=exc.strerror)) from None
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            raise ConfigError(
                _("{path}: the cache folder must be a folder owned by the service user").format(path=self.root)
            )
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise ConfigError(
                _("{path}: the cache folder is open to other users (mode {mode:o}); it must be 0700").format(
                    path=self.root, mode=stat.S_IMODE(info.st_mode)
                )
            )
        litter = self.root / INCOMING
        litter.mkdir(mode=FOLDER_MODE, exist_ok=True)
        for leftover in _subfolders(litter, 16):
            try:
                if time.time() - leftover.lstat().st_mtime > LITTER_SECONDS:
                    shutil.rmtree(leftover, ignore_errors=True)
            except FileNotFoundError:
                continue

    def _incoming(self) -> Path:
        folder = self._incoming_name()
        folder.mkdir(mode=FOLDER_MODE, parents=True)
        return folder

    def _incoming_name(self) -> Path:
        """A fresh name in ``.incoming/``: an entry on its way in, or on its way out."""
        return self.root / INCOMING / secrets.token_hex(8)

    def _open_entry(self, digest: str) -> int:
        """The entry's folder, opened through the folder checked at the start (no link
        followed on the way), or by its path when nothing was checked."""
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        if self._root_fd is None:
            return os.open(self._folder(digest), flags)
        shard = os.open(digest[:2], flags, dir_fd=self._root_fd)
        try:
            return os.open(digest, flags, dir_fd=shard)
        finally:
            os.close(shard)

    def _folder(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def _remove(self, folder: Path) -> bool:
        """Rename the entry out of sight, then delete it: readers see it whole or not at all."""
        gone = self._incoming_name()
        try:
            os.rename(folder, gone)
        except FileNotFoundError:
            return False  # someone else removed it first
        shutil.rmtree(gone, ignore_errors=True)
        return True


class _Locked:
    """``counters.json`` open and locked for the length of a ``with`` block."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> int:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self.fd

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # the lock goes with the descriptor


def _parse_counters(raw: bytes) -> dict[str, Any]:
    try:
        counters = json.loads(raw)
    except ValueError:
        counters = None
    if not isinstance(counters, dict) or not isinstance(counters.get("since"), (int, float)):
        return {"since": time.time()}  # new, or cut short by a crash: counted afresh from now
    return counters


def _kept(meta: dict[str, Any]) -> Kept:
    findings, actions = meta["findings"], meta["actions"]
    if not isinstance(findings, list) or not isinstance(actions, list):
        raise TypeError("findings and actions are lists")
    producer = meta["producer"]
    if not isinstance(producer, str):
        raise TypeError("producer is a file_id")
    kind = meta["type"]
    return Kept(FileType(meta["output_type"]), producer, kind if isinstance(kind, str) else None, findings, actions)


def _copy_hashing(folder_fd: int, into: int, limit: int) -> tuple[str, int]:
    """The entry's output copied into ``into``, ``limit`` bytes at most (one more than its
    record says: an output that grew is damaged, and is not copied whole into memory); its
    SHA-256 and size. Each block is read once into one buffer, then hashed and written from
    it: the bytes checked are the bytes copied, whatever happens to the file meanwhile (a
    mapping of it would be read twice)."""
    source = os.open(OUTPUT, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder_fd)
    digest, copied = hashlib.sha256(), 0
    try:
        buffer = memoryview(bytearray(max(1, min(limit, COPY_CHUNK))))
        while copied < limit and (read := os.readv(source, [buffer[: min(len(buffer), limit - copied)]])):
            block = buffer[:read]
            digest.update(block)
            write_all(into, block)
            copied += read
    finally:
        os.close(source)
    return digest.hexdigest(), copied


def _subfolders(folder: Path, length: int) -> Iterator[Path]:
    """Folders named by ``length`` hex digits (a shard, an entry, an incoming write): nothing
    else found here is ever listed, evicted or removed."""
    try:
        with os.scandir(folder) as found:
            names = [
                entry.name
                for entry in found
                if len(entry.name) == length and _HEX.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)
            ]
    except FileNotFoundError:
        return
    for name in sorted(names):
        yield folder / name


# ------------------------------------------------------------------ for the administrator
def stats_lines(folder: Path, stats: Stats | None, enabled: bool, max_size: int) -> list[str]:
    """``cdr cache stats``: what is kept and how often it served, in lines under 80 columns.
    ``stats`` is None when the folder does not exist yet (nothing was ever kept)."""
    from datetime import datetime

    from cdr.daemon.counters import JAPAN
    from cdr.i18n import ngettext

    def when(moment: float | None) -> str:
        return datetime.fromtimestamp(moment, JAPAN).strftime("%Y-%m-%d %H:%M") if moment is not None else "—"

    lines = [str(folder)]
    if not enabled:
        lines.append(_("The policy turns the cache off: files are not released from it."))
    if stats is None:
        lines.append(_("Nothing has been kept yet."))
        return lines
    said = ngettext("{count} entry, {size} of at most {limit}", "{count} entries, {size} of at most {limit}", stats.entries)
    lines.append(said.format(count=stats.entries, size=_in_units(stats.size), limit=_in_units(max_size)))
    tallies = stats.tallies
    lines.append(
        _("Since {since} (Japan time): {hits} hits, {misses} misses").format(
            since=when(stats.since), hits=tallies["hits"], misses=tallies["misses"]
        )
    )
    lines.append(
        _("kept {stored}, discarded as damaged {discarded}, evicted {evicted}").format(**tallies)
    )
    lines.append(_("Oldest entry {oldest}, newest {newest} (Japan time)").format(oldest=when(stats.oldest), newest=when(stats.newest)))
    return lines


def _in_units(size: int) -> str:
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"
