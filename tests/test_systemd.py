"""The units are checked by systemd's own tools, the way an installer would."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = sorted((ROOT / "systemd").glob("cdr-*.service")) + sorted((ROOT / "systemd").glob("cdr-*.timer"))

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """The units as installed, pointing at this checkout's cdr (verify checks ExecStart)."""
    cdr = Path(sys.executable).parent / "cdr"
    for unit in UNITS:
        text = unit.read_text().replace("/opt/cdr/venv/bin/cdr", str(cdr))
        (tmp_path / unit.name).write_text(text)
    return tmp_path


def test_units_verify_clean(installed: Path) -> None:
    run = subprocess.run(
        ["systemd-analyze", "verify", *sorted(p.name for p in installed.iterdir())],
        capture_output=True,
        text=True,
        cwd=installed,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip() == "", run.stderr


def test_watch_unit_exposure_is_low(installed: Path) -> None:
    run = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "cdr-watch.service"],
        capture_output=True,
        text=True,
        cwd=installed,
    )
    match = re.search(r"Overall exposure level for cdr-watch.service: ([\d.]+)", run.stdout)
    assert match, run.stdout[-500:] + run.stderr
    assert float(match.group(1)) <= 2.5


def test_timers_have_their_services() -> None:
    for timer in (ROOT / "systemd").glob("*.timer"):
        assert (ROOT / "systemd" / timer.name.replace(".timer", ".service")).exists()
