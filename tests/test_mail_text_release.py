"""A mail released as text (the .txt and its rebuilt attachments in one ZIP) keeps the
release invariants: the same mail twice gives two whole bundles, never a mix, and a kill -9
at any step of the publish leaves exactly one complete bundle after recovery, released
once in the audit log. The bundles are read back with zipfile, oletools and pikepdf."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from oletools.olevba import VBA_Parser

from cdr.audit import records
from cdr.daemon.claim import recover
from cdr.daemon.jobs import run_job
from cdr.model import Action, FileType, Outcome
from cdr.pipeline import Pipeline, Places
from cdr.policy import Policy
from cdr.release import remove_partials
from cdr.sandbox import SandboxPool
from tests import mail_builders as mb
from tests.test_pdf import active_content

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = {"会議.txt", "議事録.docx", "報告書.pdf", "転送：見積書.zip", "part-1.png"}

# One job claimed from an inbox and run by the daemon's own code, killed with SIGKILL at
# the named step of its release (the hook wraps the real step, before or after it).
_KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    from dataclasses import replace
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from cdr import release
    from cdr.daemon import claim as claim_module
    from cdr.daemon.jobs import run_job
    from cdr.model import Action, FileType
    from cdr.pipeline import Pipeline, Places
    from cdr.policy import load_policy
    from cdr.sandbox import SandboxPool

    base, point = Path(sys.argv[1]), sys.argv[2]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def hooked(real, before):
        def step(*args, **kwargs):
            if before:
                die()
            done = real(*args, **kwargs)
            die()
            return done
        return step

    if point == "after-intent":
        claim_module.SpoolJob.write_intent = hooked(claim_module.SpoolJob.write_intent, False)
    elif point == "before-link":
        release.link_noreplace = hooked(release.link_noreplace, True)
    elif point == "between-link-and-unlink":  # both names on the file, the temp not yet gone
        os.link = hooked(os.link, False)
    elif point == "after-publish":  # published, nothing recorded yet
        release.link_noreplace = hooked(release.link_noreplace, False)
    elif point == "between-records":  # its intermediate records written (not yet committed), the final not
        from cdr import audit
        real_append = audit.AuditLog.append
        def append(self, event, *args, **kwargs):
            done = real_append(self, event, *args, **kwargs)
            if event == "verified":
                die()
            return done
        audit.AuditLog.append = append
    policy = load_policy(Path({root!r}) / "policies" / "default.yaml")
    policy = replace(policy, actions={{**policy.actions, FileType.EML: Action.TEXT}})
    places = Places(base / "out", base / "quarantine", base / "audit.jsonl", base / "work")
    with SandboxPool(1, policy.sandbox.isolation) as pool:
        pipeline = Pipeline(policy, places, pool)
        pipeline.start()
        job = claim_module.claim(base / "in" / "会議.eml", base / "in", base / "spool")
        run_job(pipeline, job)
    """
)


def _text_policy(policy: Policy) -> Policy:
    return replace(policy, actions={**policy.actions, FileType.EML: Action.TEXT})


def _bundle(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as bundle:
        assert bundle.testzip() is None
        return {name: bundle.read(name) for name in bundle.namelist()}


def _assert_whole(members: dict[str, bytes]) -> None:
    """One mail's bundle, complete: its text and every attachment rebuilt, nothing else."""
    assert set(members) == MEMBERS
    text = members["会議.txt"].decode("utf-8-sig")
    assert f"件名 / Subject: {mb.SUBJECT}" in text and "・setup.exe（" in text
    parser = VBA_Parser("a.docx", data=members["議事録.docx"])
    try:
        assert not parser.detect_vba_macros()
    finally:
        parser.close()
    assert active_content(members["報告書.pdf"]) == []


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_same_mail_twice_gives_two_whole_bundles(places: Places, sandbox_pool: SandboxPool, default_policy: Policy, tmp_path: Path) -> None:
    pipe = Pipeline(_text_policy(default_policy), places, sandbox_pool)
    pipe.start()
    try:
        verdicts = []
        for _ in range(2):
            source = tmp_path / "会議.eml"
            source.write_bytes(mb.japanese_html_mail())
            verdicts.append(pipe.process(source, "会議.eml"))
    finally:
        pipe.close()
    assert [v.verdict for v in verdicts] == [Outcome.RELEASED, Outcome.RELEASED]
    assert _visible(places.outbox) == ["会議 (2).zip", "会議.zip"]
    for verdict in verdicts:
        _assert_whole(_bundle(Path(verdict.output)))


PUBLISHED = ("between-link-and-unlink", "after-publish")


@pytest.mark.parametrize("point", ["between-records", "after-intent", "before-link", *PUBLISHED])
def test_kill_9_in_the_publish_leaves_one_whole_bundle(point: str, sandbox_pool: SandboxPool, default_policy: Policy, tmp_path: Path) -> None:
    for folder in ("in", "out", "spool"):
        (tmp_path / folder).mkdir()
    (tmp_path / "in" / "会議.eml").write_bytes(mb.japanese_html_mail())
    env = {**os.environ, "CDR_ALLOW_TEST_OPS": "1"}
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_RUN.format(root=str(ROOT)), str(tmp_path), point],
        env=env, capture_output=True, timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode(errors="replace")[-2000:]
    # what the kill left: the cut really fell where the test says
    left = {p.name.startswith(".") for p in (tmp_path / "out").iterdir()}
    # the intent is written once the temp file is whole (it names the temp's inode): a kill
    # right after it leaves the temp, which the next start clears
    assert left == {"between-records": set(), "after-intent": {True}, "before-link": {True}, "between-link-and-unlink": {True, False},
                    "after-publish": {False}}[point]

    events = [r["event"] for r in records(tmp_path / "audit.jsonl")]
    assert "verified" in events and "released" not in events
    places = Places(tmp_path / "out", tmp_path / "quarantine", tmp_path / "audit.jsonl", tmp_path / "work")
    pipe = Pipeline(_text_policy(default_policy), places, sandbox_pool)
    pipe.start()
    try:
        remove_partials(places.outbox)
        jobs = recover(tmp_path / "spool")
        assert len(jobs) == 1
        for job in jobs:
            run_job(pipe, job)
    finally:
        pipe.close()

    assert _visible(places.outbox) == ["会議.zip"]
    _assert_whole(_bundle(places.outbox / "会議.zip"))
    [job_id] = {r["file_id"] for r in records(places.audit) if r.get("file_id")}  # one file, one life
    finals = [r for r in records(places.audit) if r["event"] in ("released", "quarantined")]
    assert [(r["event"], r["file_id"], r.get("output")) for r in finals] == [("released", job_id, "会議.zip")]
    assert not [p for p in (tmp_path / "spool").iterdir() if p.name != "work"]
    assert json.dumps(finals[0].get("recovered", False)) == ("true" if point in PUBLISHED else "false")
