"""The pipeline's side of the verified-output cache (``cdr.cache``): a copy of content already
made safe is released from the cache, through the same release as any file, and an output
the verifier has just accepted is kept for the next copy.

A hit is recorded as its own step, ``cache-hit``, naming the run that made and verified the
output (``producer``), the output's SHA-256 and what that run removed, so the file's result
line, report and lifeline say the same as the first copy's; the result line says
``"cached": true``. The kept bytes are hashed again as they are copied out, into a memfd that is
then sealed (what was checked is what the release copies, and no file is made and removed in
the work folder) — or, for an output over ``IN_MEMORY``, into a work file as before, since
memory is scarcer than disk; with the policy's
``cache.verify_hits`` (the strict policy) the kept output is also held against the current
verifier in a fresh child, as every output is before its release, so that "every release
passed the verifier as it is now" holds by construction, whatever changed since the entry was
kept that the engine digest does not see. By default it is not: the key already holds what
the verifier's answer depends on (``cdr.engine``), and a second verification would cost about
half a first run. A damaged entry, or one the verifier now refuses, is recorded as
``cache-discarded`` with why and removed, and the file runs the whole pipeline. ``cache-stored`` records an output kept.

What is never served from the cache nor kept in it:
- a file opened with a password (the administrator's, or Excel's well-known one): the key
  holds no password, so an entry would hand the unlocked content to whoever drops the same
  encrypted bytes without knowing it;
- an output this run cut short (``Flow.one_off``: a member not converted in the time budget,
  an OCR layer that failed) — another run may do better, and a kept copy would not try;
- anything quarantined: only what ``Flow.run`` returns, which the verifier accepted, is kept.
Every released output is one verified file (a mail bundle and a rebuilt archive are one
ZIP), so every kind of output can be kept.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from contextlib import ExitStack
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from cdr import engine
from cdr.cache import CacheKey, Discarded, Hit, Kept, VerifiedCache
from cdr.errors import ConfigError, SanitizeError
from cdr.flow import Flow, PolicySnapshot, Rebuilt
from cdr.model import Action, Decision, SanitizeResult
from cdr.names import display, with_extension
from cdr.trail import Trail
from cdr.types import row
from cdr.verify import verify_output

if TYPE_CHECKING:
    from cdr.sandbox import Sandbox

log = logging.getLogger(__name__)
# as cdr.sandbox seals a job's input: a sealed hit goes to a verify child without another copy
SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
IN_MEMORY = 64 << 20  # a kept output up to this size is copied into memory, a bigger one to disk


class Reuse:
    """The cache folder is opened (made, checked) only once a policy turns the cache on: a
    policy that leaves it off starts without it, whatever the folder's state."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: VerifiedCache | None = None
        self._refused = False  # a folder refused after the start: said once, then no cache

    def ready(self, enabled: bool) -> None:
        """At the start: open the folder if the policy uses it, so a folder that cannot be
        used stops the start with its ConfigError rather than being found at the first file."""
        if enabled and self._cache is None:
            self._cache = VerifiedCache(self.root)
            engine.version()  # read when the daemon starts, not on its first file's time

    @property
    def cache(self) -> VerifiedCache:
        if self._cache is None:
            self._cache = VerifiedCache(self.root)
        return self._cache

    def key(self, trail: Trail, rel: PurePosixPath, password: str | None) -> CacheKey | None:
        """This file's key; None when it must run the whole pipeline whatever is kept (the
        policy turns the cache off, a password opens it, or the folder cannot be used)."""
        if not trail.policy.cache.enabled or password is not None or self._refused:
            return None
        try:
            self.cache  # noqa: B018 - opened here when a swapped-in policy first uses it
        except ConfigError as exc:
            self._refused = True
            log.warning("the cache is not used: %s", "; ".join(exc.problems))
            return None
        return CacheKey.of(trail.verdict.sha256, trail.policy.sha256, rel.name)

    def serve(
        self,
        key: CacheKey,
        trail: Trail,
        rel: PurePosixPath,
        work: Path | None,
        cleanup: ExitStack,
        sandbox: Sandbox,
        snapshot: PolicySnapshot,
    ) -> Rebuilt | None:
        """The kept output as a file of this job (a sealed memfd, or a work file when it is
        big; released through its ``/proc/self/fd`` name), with ``cache.verify_hits`` verified
        again in a fresh child of ``sandbox``; or None (a miss: run the pipeline)."""
        made: list[tuple[int, bool]] = []  # the file, and whether it is a memfd

        def place(size: int) -> int:
            made.append(_hit_file(size, work, cleanup))
            return made[-1][0]

        try:
            found = self.cache.fetch(key, place)
        except OSError as exc:  # the cache's disk, not the file: the pipeline still works
            log.warning("the cache could not be read for %s: %s", display(trail.verdict.input), exc)
            found = None
        if found is None:
            self.cache.tally("misses")
            return None
        if isinstance(found, Discarded):
            trail.step("cache-discarded", durable=False, cache_key=found.key, producer=found.producer, why=found.why)
            return None
        ((fd, in_memory),) = made
        if in_memory:
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, SEALS)
        entry = row(found.kept.output_type)
        name = with_extension(rel, entry.extension, entry.aliases)
        why = self._verifier_refuses(fd, name, found, sandbox, snapshot) if snapshot.policy.cache.verify_hits else None
        if why is not None:
            self.cache.refuse(key)
            trail.step("cache-discarded", durable=False, cache_key=found.key, producer=found.kept.producer, why=why)
            return None
        kept, verdict = found.kept, trail.verdict
        verdict.type, verdict.findings, verdict.actions = kept.type, kept.findings, kept.actions
        verdict.cached = True
        trail.step(
            "cache-hit",
            durable=False,  # committed with the file's final record (cdr/finish.py)
            cache_key=found.key,
            producer=kept.producer,
            output_sha256=found.output_sha256,
            type=kept.type,
            output_type=kept.output_type.value,
            actions=kept.actions,
        )
        return Rebuilt(Path(f"/proc/self/fd/{fd}"), name, kept.output_type)

    @staticmethod
    def _verifier_refuses(fd: int, name: PurePosixPath, found: Hit, sandbox: Sandbox, snapshot: PolicySnapshot) -> str | None:
        """Why the current verifier refuses the kept output, or None when it accepts it: the
        same check as a fresh output's (``cdr.verify``), promised what the first run made."""
        made = found.kept.output_type
        promise = Decision(Action.REBUILD, made, made)  # verify_output reads only the promised type
        try:
            verify_output(sandbox, fd, name.name, promise, SanitizeResult(made), snapshot.policy, snapshot.as_json)
        except SanitizeError as exc:  # refused, or the check itself failed: never served unchecked
            return f"the verifier refuses the kept output now: {exc.reason}: {str(exc)[:300]}"
        return None

    def keep(self, key: CacheKey, rebuilt: Rebuilt, flow: Flow, trail: Trail) -> None:
        """Keep the verified output for the next copy, unless this run cut it short. A cache
        that cannot take it (a full disk) costs the next copy a run, never this file."""
        if flow.one_off is not None:
            log.info("not kept in the cache: %s (%s)", display(trail.verdict.input), flow.one_off)
            return
        verdict = trail.verdict
        kept = Kept(rebuilt.output_type, verdict.id, verdict.type, verdict.findings, verdict.actions)
        # this run's records (received … verified) made durable before its output is kept: a
        # kill -9 later in the run must not leave an entry whose hits name a run the log lost
        trail.log.commit()
        try:
            digest = self.cache.store(key, rebuilt.path, kept, trail.policy.cache.max_size)
        except OSError as exc:
            log.warning("the cache could not keep %s: %s", display(verdict.input), exc)
            return
        if digest is not None:
            trail.step("cache-stored", durable=False, cache_key=key.digest, output_sha256=digest)


def _hit_file(size: int, work: Path | None, cleanup: ExitStack) -> tuple[int, bool]:
    """Where a hit of ``size`` bytes is copied, and whether it is a memfd (sealed once
    checked) rather than a file in the work folder (an output over ``IN_MEMORY``); either
    is gone with the job's ``cleanup``."""
    in_memory = size <= IN_MEMORY
    if in_memory:
        fd = os.memfd_create("cdr-cached", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    else:
        if work is not None:
            work.mkdir(parents=True, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix="cached-", dir=work)
        cleanup.callback(os.unlink, path)
    cleanup.callback(os.close, fd)
    return fd, in_memory
