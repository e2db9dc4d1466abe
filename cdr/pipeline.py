"""One file from the spool to its verdict: intake (open, snapshot, hash, size limit), the
flow (``cdr.flow``: identify → … → verify, in a sandbox leased from the pool) and the
finish (``cdr.finish``: release or quarantine, audit, notice).

The parent only opens, hashes and copies bytes. Nothing here copies input bytes to the
outbox: what is released is always the sanitizer's output, verified by a second child.
Each file runs under the policy in force when it started; ``set_policy`` (SIGHUP) takes
effect from the next file.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import stat
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cdr.audit import AuditLog
from cdr.converters.libreoffice import LibreOffice
from cdr.descriptors import sha256_fd
from cdr.errors import (
    CdrError,
    InputUnreadable,
    LimitExceeded,
    NotRegularFile,
    OperationalError,
    SanitizeError,
)
from cdr.finish import Finish, OnIntent
from cdr.flow import Flow, PolicySnapshot, Tools
from cdr.model import Outcome, Verdict
from cdr.names import display, from_disk, new_id, safe_relative
from cdr.policy import Policy
from cdr.quarantine import QuarantineStore
from cdr.reuse import Reuse
from cdr.sandbox import SandboxPool, sealed_copy
from cdr.trail import Trail

log = logging.getLogger(__name__)


@dataclass
class Places:
    outbox: Path
    quarantine: Path
    audit: Path
    work: Path | None = None  # where sanitizer outputs are written before release
    cache: Path | None = None  # verified outputs by content (cdr/cache.py); None: none kept


def _never_both(verdict: Verdict, exc: Exception) -> None:
    """A file already published is never also quarantined: what failed after the release
    (recording it) is operational, and the retry finds the release by its intent."""
    if verdict.verdict == Outcome.RELEASED:
        raise OperationalError(f"released, but recording it failed: {type(exc).__name__}: {exc}") from exc


def open_untrusted(path: Path) -> int:
    """Open for reading without following a link or blocking on a FIFO or device."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):  # a symlink; a socket
            raise NotRegularFile("links, devices and sockets are refused") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotRegularFile("only regular files are accepted")
    os.set_blocking(fd, True)
    return fd


def _open_input(source: Path) -> int:
    """The file to process; one that cannot be opened or read now is an operational failure."""
    try:
        fd = open_untrusted(source)
    except OSError as exc:
        raise InputUnreadable(f"cannot read the file: {exc.strerror or exc}") from None
    try:
        os.pread(fd, 1, 0)  # a read error (EIO, a share gone stale) shows here, not mid-parse
    except OSError as exc:
        os.close(fd)
        raise InputUnreadable(f"cannot read the file: {exc.strerror or exc}") from None
    return fd


def _sealed_input(fd: int, verdict: Verdict, size_limit: int) -> int:
    """Hash the spooled file and, within the size limit, copy it into a sealed memfd that
    every job and the quarantine then read instead (the spooled file is closed): the bytes
    hashed are the bytes judged and kept, and no job can write to them."""
    if os.fstat(fd).st_size > size_limit:
        verdict.sha256, verdict.size = sha256_fd(fd)
        return fd
    digest = hashlib.sha256()
    try:
        copy = sealed_copy(fd, digest.update)
    finally:
        os.close(fd)
    verdict.sha256, verdict.size = digest.hexdigest(), os.fstat(copy).st_size
    return copy


class Pipeline:
    """What the daemon, batch and the CLI hold: one audit log, one quarantine, one
    LibreOffice, a sandbox pool that the caller built (and closes), the current policy."""

    def __init__(self, policy: Policy, places: Places, pool: SandboxPool, notices: bool = True) -> None:
        self.places = places
        self.notices = notices
        self.audit = AuditLog(places.audit, policy.name, policy.sha256)
        self.quarantine = QuarantineStore(places.quarantine)
        self.pool = pool  # the caller's: it closes the pool after the pipeline
        self.libreoffice = LibreOffice(places.work)
        self.finish = Finish(places.outbox, self.quarantine)
        self.reuse = Reuse(places.cache) if places.cache is not None else None
        if self.reuse is not None:  # the folder only when the policy keeps outputs (a later one: at its first file)
            self.reuse.ready(policy.cache.enabled)
        self.sandbox_layers = ""
        self.set_policy(policy)

    def start(self) -> None:
        self.sandbox_layers = self.pool.start()

    def close(self) -> None:
        self.libreoffice.close()
        if self.places.work is not None:
            shutil.rmtree(self.places.work, ignore_errors=True)  # scratch only: outputs were released
        self.audit.close()

    @property
    def policy(self) -> Policy:
        return self._snapshot.policy

    def set_policy(self, policy: Policy) -> None:
        """Swap the policy (SIGHUP): files already on their way finish under the one they
        started with (they hold its snapshot); records of no file name the new one."""
        self._snapshot = PolicySnapshot.of(policy)
        self.audit.policy_name, self.audit.policy_sha256 = policy.name, policy.sha256

    def process(
        self,
        source: Path,
        relative: str,
        file_id: str | None = None,
        password: str | None = None,
        store_failures: bool = True,
        extra: dict[str, Any] | None = None,
        on_intent: OnIntent | None = None,
    ) -> Verdict:
        """Run one file to its verdict. Raises only CdrError for operational failures
        (unwritable outbox, audit log); everything about the file itself ends in a verdict."""
        started = time.monotonic()
        snapshot = self._snapshot  # this file's policy, whatever SIGHUP does meanwhile
        policy = snapshot.policy
        relative = from_disk(relative)  # a name that is not UTF-8 (cdr sanitize of a folder)
        rel = safe_relative(relative)
        verdict = Verdict(file_id or new_id(), relative, "", 0, None, Outcome.QUARANTINED)
        trail = Trail(self.audit, verdict, policy)
        fd: int | None = None
        flow: Flow | None = None
        try:
            fd = _sealed_input(_open_input(source), verdict, policy.limits.max_file_size)
            trail.step("received", durable=False, size=verdict.size, **(extra or {}))
            if verdict.size > policy.limits.max_file_size:
                raise LimitExceeded(
                    f"{verdict.size} bytes is over the limit of {policy.limits.max_file_size}"
                )
            with ExitStack() as cleanup:
                # the same content already made safe is released from the cache (cdr/reuse.py)
                # (verified again in a fresh child: a hit leases a sandbox too)
                key = self.reuse.key(trail, rel, password) if self.reuse else None
                with self.pool.lease() as sandbox:
                    rebuilt = (
                        self.reuse.serve(key, trail, rel, self.places.work, cleanup, sandbox, snapshot)
                        if self.reuse and key
                        else None
                    )
                    if rebuilt is None:
                        flow = Flow(Tools(sandbox, self.libreoffice, self.places.work), snapshot, trail, rel, cleanup)
                        rebuilt = flow.run(fd, password)
                if self.reuse and key and flow is not None:
                    self.reuse.keep(key, rebuilt, flow, trail)
                self.finish.release(rebuilt, trail, on_intent)
        except SanitizeError as exc:
            _never_both(verdict, exc)
            verdict.reason, verdict.message = exc.reason, str(exc)
            self._quarantine(fd, rel, trail, flow, store_failures, extra)
        except (CdrError, OSError):
            raise  # operational (disk full, unwritable outbox): the file waits and is retried
        except Exception as exc:  # noqa: BLE001 - a bug or a malformed answer from a child
            _never_both(verdict, exc)
            # Fail closed on this one file; the daemon goes on with the next.
            log.exception("internal error on %s", display(relative))
            verdict.reason, verdict.message = "internal-error", f"{type(exc).__name__}: {str(exc)[:300]}"
            self._quarantine(fd, rel, trail, flow, store_failures, extra)
        finally:
            if fd is not None:
                os.close(fd)
            verdict.duration_ms = int((time.monotonic() - started) * 1000)
        return verdict

    def refuse(self, relative: str, file_id: str, why: str) -> Verdict:
        """A link, FIFO or device taken from the inbox: recorded, never opened for reading."""
        verdict = Verdict(file_id, relative, "", 0, None, Outcome.QUARANTINED)
        verdict.reason, verdict.message = NotRegularFile.reason, f"refused: {why}"
        trail = Trail(self.audit, verdict, self.policy)
        trail.step("received", durable=False, refused=why)
        self.finish.quarantine_file(None, safe_relative(relative), trail, notify=self.notices)
        return verdict

    def give_up(self, source: Path | None, relative: str, file_id: str, cause: str) -> Verdict:
        """An operational failure that outlasted its retries: quarantined as
        ``operational-error`` with the real cause; the original is kept if it can be read."""
        verdict = Verdict(file_id, relative, "", 0, None, Outcome.QUARANTINED)
        verdict.reason, verdict.message = InputUnreadable.reason, cause
        fd = None
        if source is not None:
            try:
                fd = open_untrusted(source)
                verdict.sha256, verdict.size = sha256_fd(fd)
            except (OSError, NotRegularFile):
                if fd is not None:
                    os.close(fd)
                fd = None  # unreadable still: the entry records the cause without the bytes
        try:
            trail = Trail(self.audit, verdict, self.policy)
            self.finish.quarantine_file(fd, safe_relative(relative), trail, notify=self.notices)
        finally:
            if fd is not None:
                os.close(fd)
        return verdict

    def _quarantine(
        self,
        fd: int | None,
        rel: PurePosixPath,
        trail: Trail,
        flow: Flow | None,
        store: bool,
        extra: dict[str, Any] | None,
    ) -> None:
        detection = flow.detection if flow is not None else None
        self.finish.quarantine_file(fd, rel, trail, detection, store, self.notices, extra)
