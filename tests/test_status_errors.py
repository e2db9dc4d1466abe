"""`cdr status` shows what is wrong now, and a problem leaves "now" once its condition is
seen gone: the outbox takes files again, the next policy reload works.

An outbox that cannot be written is made for real: the tests run as root, whom mode 555
does not stop, so the daemon runs under ``setpriv`` without CAP_DAC_OVERRIDE.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cdr.daemon.counters import Counters, Trouble
from tests.test_daemon_failures import NO_DAC
from tests.test_watch import ROOT, _env, start_watch, stop, wait_until_drained


def _status(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "spool" / "status.json").read_text(encoding="utf-8"))


def _until(tmp_path: Path, test: Callable[[dict[str, Any]], bool], what: str, timeout: float = 30) -> dict[str, Any]:
    """The first status the daemon writes for which ``test`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = _status(tmp_path)
        except (FileNotFoundError, ValueError):
            status = {}
        if status and test(status):
            return status
        time.sleep(0.2)
    raise AssertionError(f"the status never showed {what}: {status}")


def _status_text(tmp_path: Path) -> str:
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "status", "--spool", str(tmp_path / "spool")],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def _kinds(status: dict[str, Any]) -> list[str]:
    return [problem["kind"] for problem in status["problems"]]


# ------------------------------------------------------------------ the tally itself
def test_a_problem_keeps_its_first_time_and_clears_into_resolved() -> None:
    tally = Counters()
    tally.error(Trouble.POLICY_RELOAD, "policy reload refused: bad key")
    first = tally.snapshot()["problems"][0]["since"]
    time.sleep(0.01)
    tally.error(Trouble.POLICY_RELOAD, "policy reload refused: another bad key")
    [problem] = tally.snapshot()["problems"]
    assert problem["since"] == first and problem["message"] == "policy reload refused: another bad key"

    tally.resolved(Trouble.POLICY_RELOAD)
    snapshot = tally.snapshot()
    assert snapshot["problems"] == [] and snapshot["last_error"] is None
    assert snapshot["resolved"]["kind"] == "policy-reload" and snapshot["resolved"]["since"] == first
    assert snapshot["resolved"]["cleared"] >= first


def test_a_finished_job_clears_only_its_own_problems() -> None:
    tally = Counters()
    tally.error(Trouble.PLACE, "a.txt waits in the spool: Permission denied", about="01A")
    tally.error(Trouble.JOB, "a.txt waits in the spool, try 2 of 5", about="01A")
    tally.error(Trouble.PLACE, "b.txt waits in the spool: Permission denied", about="01B")
    tally.resolved_about("01A")
    assert [p["message"] for p in tally.snapshot()["problems"]] == ["b.txt waits in the spool: Permission denied"]
    assert tally.snapshot()["last_error"].endswith(" b.txt waits in the spool: Permission denied")


# ------------------------------------------------------------------ the daemon
@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv")
def test_an_unwritable_outbox_is_a_problem_until_it_takes_the_file(tmp_path: Path) -> None:
    wrapper = NO_DAC if os.geteuid() == 0 else ()
    proc = start_watch(tmp_path, workers=1, wrapper=wrapper)
    try:
        (tmp_path / "out").chmod(0o555)
        (tmp_path / "in" / "minutes.txt").write_text("the minutes\n")
        status = _until(tmp_path, lambda s: "place" in _kinds(s), "the outbox problem")
        [problem] = status["problems"]
        assert problem["message"].startswith("minutes.txt waits in the spool, retry in ")
        assert "Permission denied" in problem["message"]
        text = _status_text(tmp_path)
        assert "PROBLEMS:    1 now (times in JST)" in text
        assert "[place] minutes.txt waits in the spool" in text

        (tmp_path / "out").chmod(0o755)
        wait_until_drained(tmp_path, timeout=60)
        status = _until(tmp_path, lambda s: s["problems"] == [], "no problem")
        assert status["resolved"]["kind"] == "place" and "minutes.txt" in status["resolved"]["message"]
        text = _status_text(tmp_path)
        assert "problems:    none now" in text and "PROBLEMS" not in text
        assert "resolved:    [place] minutes.txt waits in the spool" in text and " until " in text
    finally:
        (tmp_path / "out").chmod(0o755)
        assert stop(proc) == 0
    assert (tmp_path / "out" / "minutes.txt").read_text() == "the minutes\n"


def test_a_refused_policy_reload_is_a_problem_until_a_reload_works(tmp_path: Path) -> None:
    proc = start_watch(tmp_path, workers=1)
    policy = tmp_path / "policy.yaml"
    good = policy.read_text()
    try:
        policy.write_text(good + "colour: blue\n")
        proc.send_signal(signal.SIGHUP)
        status = _until(tmp_path, lambda s: "policy-reload" in _kinds(s), "the refused reload")
        assert status["problems"][0]["message"].startswith("policy reload refused, the old policy stays in force")
        assert "[policy-reload] policy reload refused" in _status_text(tmp_path)

        policy.write_text(good)
        proc.send_signal(signal.SIGHUP)
        status = _until(tmp_path, lambda s: s["problems"] == [], "no problem")
        assert status["resolved"]["kind"] == "policy-reload"
        text = _status_text(tmp_path)
        assert "problems:    none now" in text and "resolved:    [policy-reload]" in text
    finally:
        assert stop(proc) == 0
