"""/usr/local/bin/cdr as root: the commands that change the appliance's state run as the
service user also when an option comes before the command's words (``cdr -v quarantine …``),
so root never leaves an audit file, a quarantine entry or a spool job the daemon cannot change."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.test_install import Installed, can_install, installed, wheelhouse  # noqa: F401 (fixtures)


def _clean_outbox_as_root(installed: Installed, tmp_path: Path, *before: str) -> Path:  # noqa: F811
    """``cdr [before…] outbox clean`` typed by root, removing one released file: the audit
    head it writes (a file replaced whole, so its owner is whoever wrote it)."""
    work = tmp_path / "work"
    (work / "outbox").mkdir(parents=True)
    for step in (work, work / "outbox"):
        os.chown(step, installed.uid, installed.gid)
    for step in (tmp_path, *tmp_path.parents):  # the service user must reach the folder
        if step == Path("/"):
            break
        step.chmod(step.stat().st_mode | 0o055)
    released = work / "outbox" / "report.pdf"
    released.write_bytes(b"%PDF-1.7 released")
    time.sleep(1.1)  # the age counts from the change time, which cannot be set back
    audit = work / "audit.jsonl"
    run = subprocess.run(
        [installed.root / "usr/local/bin/cdr", *before, "outbox", "clean", "--outbox", work / "outbox",
         "--audit", audit, "--older-than", "1s"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "CDR_CONFIG": "/dev/null"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert not released.exists() and "removed report.pdf" in run.stdout, run.stdout
    return audit.with_name("audit.jsonl.head")


@can_install
@pytest.mark.slow
@pytest.mark.parametrize("before", [(), ("-v",), ("--verbose",)])
def test_state_changing_commands_run_as_the_service_user_after_an_option(
    installed: Installed, tmp_path: Path, before: tuple[str, ...]  # noqa: F811
) -> None:
    head = _clean_outbox_as_root(installed, tmp_path, *before)
    assert head.stat().st_uid == installed.uid, f"cdr {' '.join(before)} outbox clean ran as root"
