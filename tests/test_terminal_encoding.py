"""A terminal or pipe whose encoding cannot show every character: the admin CLI still
answers in one readable piece, never a traceback (a Japanese locale on a terminal that is
set to ASCII, EUC-JP or Latin-1; a dash or a file name it has no character for)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cdr.audit import AuditLog, Rotation

ROOT = Path(__file__).resolve().parent.parent


def cdr(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    plain = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *map(str, args)],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
        env={**plain, "CDR_CONFIG": "/dev/null", **env},
    )


@pytest.fixture
def rotated_log(tmp_path: Path) -> Path:
    """A log of two files: verify prints a line per file with a seq range ("seq 1–3")."""
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, rotation=Rotation(daily=False, max_bytes=400))
    for number in range(4):
        log.append("received", file_id=f"f{number}", input=f"報告書{number}.docx")
    log.close()
    return path


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "euc-jp"])
def test_verify_under_a_narrow_stdout_encoding_prints_no_traceback(rotated_log: Path, encoding: str) -> None:
    run = cdr("audit", "verify", "--audit", rotated_log, env={"LANG": "ja_JP.UTF-8", "PYTHONIOENCODING": encoding})
    out, err = run.stdout.decode(encoding), run.stderr.decode(encoding)
    assert run.returncode == 0, err
    assert "Traceback" not in err and err == ""
    assert "chain intact" in out or "正常です" in out, out


def test_japanese_locale_on_an_ascii_terminal_speaks_english(rotated_log: Path) -> None:
    run = cdr("audit", "verify", "--audit", rotated_log, env={"LANG": "ja_JP.UTF-8", "PYTHONIOENCODING": "ascii"})
    lines = run.stdout.decode("ascii").splitlines()
    assert lines[-1] == f"{rotated_log}: OK, 6 records, chain intact", lines
    assert lines[0].startswith("  audit.jsonl.") and "seq 1\\u20132" in lines[0], lines


def test_a_name_the_terminal_cannot_show_is_escaped_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, rotation=Rotation(daily=False, max_bytes=None))
    log.append("received", file_id="f1", input="予算.xlsx")
    log.close()
    run = cdr("audit", "tail", "--audit", path, env={"LANG": "C", "PYTHONIOENCODING": "ascii"})
    assert run.returncode == 0 and b"Traceback" not in run.stderr, run.stderr
    assert b"\\u4e88\\u7b97.xlsx" in run.stdout, run.stdout
