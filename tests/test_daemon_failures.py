"""Operational failures: bounded retries then quarantine with the real cause, one line for
the operator, and shared folders that went away are waited for, never recreated.

How the failures are made, for real and without test hooks in the product:
- *LibreOffice cannot start*: a ``soffice`` first on PATH that lives outside the
  sandbox's view of the file system, so bubblewrap fails to exec it — the same failure
  as a bind that cannot be made.
- *Unreadable*: the tests run as root, whom mode 000 does not stop; ``setpriv`` drops
  CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the run, and then it does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cdr.audit import records
from tests.test_watch import ROOT, _env, _folders, batch, start_watch, stop, wait_until_drained

RTF = rb"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}\pard Minutes of the bear committee. \par}"
FAST_RETRY = {"CDR_RETRY_ATTEMPTS": "3", "CDR_RETRY_DELAY": "0.2"}
NO_DAC = (
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
)


def _broken_soffice(tmp_path: Path) -> dict[str, str]:
    """PATH with an ``soffice`` the sandbox cannot see (its /tmp is a fresh tmpfs)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "soffice").write_text("#!/bin/sh\nexit 0\n")
    (fake / "soffice").chmod(0o755)
    return {"PATH": f"{fake}:{os.environ['PATH']}", **FAST_RETRY}


def _sanitize(
    tmp_path: Path, *paths: str, env: dict[str, str], prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    common = ["--out", "out", "--quarantine", "q", "--audit", "audit.jsonl", "--spool", "spool"]
    return subprocess.run(
        [*prefix, sys.executable, str(ROOT / "cli.py"), "sanitize", *paths, *common],
        capture_output=True,
        text=True,
        env={**_env(), **env},
        cwd=tmp_path,  # relative paths, as an operator in a folder types them
        timeout=120,
    )


def _quarantined_meta(store: Path) -> dict:
    [meta] = [json.loads(p.read_text()) for p in store.glob("*/meta.json")]
    return meta


def test_sanitize_quarantines_when_libreoffice_cannot_start(tmp_path: Path) -> None:
    (tmp_path / "minutes.rtf").write_bytes(RTF)
    run = _sanitize(tmp_path, "minutes.rtf", env=_broken_soffice(tmp_path))
    assert run.returncode == 2, run.stdout + run.stderr
    [line] = run.stdout.splitlines()
    assert line.startswith(
        "quarantined  minutes.rtf  the appliance could not work on it (see the log) [operational-error]  id="
    ), "the reason in the administrator's words; the raw message is the log's"
    assert "LibreOffice's sandbox could not start" in run.stderr and "No such file or directory" in run.stderr
    assert "Traceback" not in run.stderr and "malformed" not in run.stdout
    assert run.stderr.count("try 2 of 3") == 1 and run.stderr.count("try 3 of 3") == 1
    meta = _quarantined_meta(tmp_path / "q")
    assert meta["reason"] == "operational-error" and meta["notice"] == "minutes.rtf.quarantined.txt"
    assert (tmp_path / "q" / meta["id"] / "original.bin").read_bytes() == RTF
    notice = (tmp_path / "out" / "minutes.rtf.quarantined.txt").read_text(encoding="utf-8-sig")
    assert notice.startswith("【装置の不具合のため、お預かりしています】")
    assert "operational-error" not in notice and "LibreOffice" not in notice  # those are for the administrator


@pytest.mark.skipif(not shutil.which("setpriv") or os.geteuid() != 0, reason="needs root and setpriv")
def test_sanitize_quarantines_an_unreadable_file_after_retries(tmp_path: Path) -> None:
    (tmp_path / "locked.txt").write_text("the minutes\n")
    (tmp_path / "locked.txt").chmod(0)
    (tmp_path / "fine.txt").write_text("fine\n")
    started = time.monotonic()
    run = _sanitize(tmp_path, "locked.txt", "fine.txt", env=FAST_RETRY, prefix=NO_DAC)
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("quarantined  locked.txt  the appliance could not work on it (see the log) [operational-error]")
    assert "cannot read the file: Permission denied" in run.stderr
    assert lines[1] == f"released     fine.txt → {Path('out') / 'fine.txt'}"
    assert time.monotonic() - started >= 0.2 + 0.4, "back-off between the tries"
    assert "Traceback" not in run.stderr


@pytest.mark.skipif(not shutil.which("setpriv") or os.geteuid() != 0, reason="needs root and setpriv")
def test_watch_moves_an_unreadable_original_into_its_quarantine_entry(tmp_path: Path) -> None:
    proc = start_watch(tmp_path, env=FAST_RETRY, wrapper=NO_DAC)
    try:
        (tmp_path / "in" / "soumu").mkdir()
        locked = tmp_path / "in" / "soumu" / "locked.txt"
        locked.write_text("the minutes\n")
        locked.chmod(0)
        wait_until_drained(tmp_path, timeout=60)
    finally:
        assert stop(proc) == 0
    meta = _quarantined_meta(tmp_path / "q")
    assert meta["reason"] == "operational-error" and meta["relative"] == "soumu/locked.txt"
    assert meta["message"] == "cannot read the file: Permission denied (gave up after 3 tries)"
    assert (tmp_path / "q" / meta["id"] / "original.bin").read_text() == "the minutes\n", "never lost"
    assert (tmp_path / "out" / "soumu" / "locked.txt.quarantined.txt").exists()
    assert [p.name for p in (tmp_path / "spool").iterdir() if len(p.name) > 20] == []


def test_watch_retries_then_quarantines_when_libreoffice_cannot_start(tmp_path: Path) -> None:
    proc = start_watch(tmp_path, env=_broken_soffice(tmp_path))
    try:
        (tmp_path / "in" / "minutes.rtf").write_bytes(RTF)
        (tmp_path / "in" / "note.txt").write_text("not held up by the other file\n")
        wait_until_drained(tmp_path, timeout=60)
    finally:
        assert stop(proc) == 0
    log = (tmp_path / "watch.log").read_text()
    assert "try 2 of 3" in log and "try 3 of 3" in log and "Traceback" not in log
    meta = _quarantined_meta(tmp_path / "q")
    assert meta["reason"] == "operational-error" and "bwrap" in meta["message"]
    assert (tmp_path / "out" / "note.txt").exists() and (
        tmp_path / "out" / "minutes.rtf.quarantined.txt"
    ).exists()
    finals = [
        r["event"] for r in records(tmp_path / "audit.jsonl") if r["event"] in ("released", "quarantined")
    ]
    assert sorted(finals) == ["quarantined", "released"]


def test_batch_retries_then_quarantines_when_libreoffice_cannot_start(tmp_path: Path) -> None:
    _folders(tmp_path, settle=0.01)
    (tmp_path / "in" / "minutes.rtf").write_bytes(RTF)
    time.sleep(0.05)
    run = batch(tmp_path, settle=0.01, env=_broken_soffice(tmp_path))
    assert run.returncode == 2, run.stderr
    [line] = [json.loads(text) for text in run.stdout.splitlines()]
    assert line["reason"] == "operational-error" and "gave up after 3 tries" in line["message"]
    assert "try 3 of 3" in run.stderr and "Traceback" not in run.stderr
    assert [p.name for p in (tmp_path / "spool").iterdir() if len(p.name) > 20] == []


def test_watch_waits_for_a_missing_outbox_and_never_creates_it(tmp_path: Path) -> None:
    proc = start_watch(tmp_path, ready="waiting for the outbox", outbox=False)
    try:
        (tmp_path / "in" / "a.txt").write_text("waits\n")
        time.sleep(1.5)
        status = json.loads((tmp_path / "spool" / "status.json").read_text())
        assert any("outbox" in what for what in status["waiting_for"])
        assert not (tmp_path / "out").exists(), "the missing share was created as a local folder"
        assert (tmp_path / "in" / "a.txt").exists(), "claimed while the outbox was missing"
        (tmp_path / "out").mkdir()  # the share is mounted again
        wait_until_drained(tmp_path, timeout=30)
        assert (tmp_path / "out" / "a.txt").read_text() == "waits\n"
        logged = len((tmp_path / "watch.log").read_text())
        (tmp_path / "out").rename(tmp_path / "out.gone")  # and it goes away while running
        _log_says(tmp_path, f"waiting for the outbox {tmp_path / 'out'}: gone", logged)
        (tmp_path / "in" / "b.txt").write_text("waits too\n")
        time.sleep(1.5)
        assert not (tmp_path / "out").exists() and (tmp_path / "in" / "b.txt").exists()
        (tmp_path / "out.gone").rename(tmp_path / "out")
        wait_until_drained(tmp_path, timeout=30)
    finally:
        assert stop(proc) == 0
    assert (tmp_path / "out" / "b.txt").read_text() == "waits too\n"
    assert "claiming and releasing resume" in (tmp_path / "watch.log").read_text()


def test_watch_never_releases_into_the_mount_point_of_an_unmounted_share(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(out)], capture_output=True).returncode:
        pytest.skip("mounting a tmpfs needs root")
    proc = start_watch(tmp_path)
    try:
        (tmp_path / "in" / "a.txt").write_text("first\n")
        wait_until_drained(tmp_path, timeout=30)
        subprocess.run(["umount", str(out)], check=True)  # the LGWAN share drops
        _log_says(tmp_path, f"waiting for the outbox {out} (no longer mounted)", 0)
        (tmp_path / "in" / "b.txt").write_text("second\n")
        time.sleep(1.5)
        assert list(out.iterdir()) == [], "released into the empty local mount point"
        assert (tmp_path / "in" / "b.txt").exists()
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(out)], check=True)  # and is back
        wait_until_drained(tmp_path, timeout=30)
        assert (out / "b.txt").read_text() == "second\n"
    finally:
        assert stop(proc) == 0
        subprocess.run(["umount", "-l", str(out)], capture_output=True)


def _log_says(tmp_path: Path, text: str, since: int, timeout: float = 20) -> None:
    """Wait until the daemon's log, from offset ``since`` on, says ``text``."""
    deadline = time.monotonic() + timeout
    while text not in (tmp_path / "watch.log").read_text()[since:]:
        assert time.monotonic() < deadline, f"the log never said {text!r}"
        time.sleep(0.1)


def test_batch_with_a_missing_outbox_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("stays\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out").rmdir()
    args = ["--inbox", "in", "--outbox", "out", "--spool", "spool", "--quarantine", "q", "--audit", "a.jsonl"]
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "batch", *args],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("cdr: error: the outbox out does not exist") and run.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists() and (tmp_path / "in" / "a.txt").exists()
