"""The units are checked by systemd's own tools, the way an installer would."""

from __future__ import annotations

import os
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


def _exec_programs(unit: Path) -> list[str]:
    """The program of every Exec*= line, without systemd's prefixes (-, @, :, +, !)."""
    programs = []
    for line in unit.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.startswith("Exec") and value.strip():
            programs.append(value.split()[0].lstrip("-@:+!"))
    return programs


def _package_of(path: str) -> str | None:
    """The package that ships ``path``, under whichever name dpkg knows it: /bin/sh and
    /usr/bin/sh are one file on a merged /usr, but a release lists only one of them."""
    names = [path, os.path.realpath(path)]
    names += ["/usr" + path] if path.startswith(("/bin/", "/sbin/")) else [path.removeprefix("/usr")]
    for name in names:
        found = subprocess.run(["dpkg-query", "-S", name], capture_output=True, text=True)
        for line in found.stdout.splitlines():
            if not line.startswith("diversion by"):
                return line.split(": ")[0].split(",")[0].split(":")[0]
    return None


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian system")
def test_units_run_only_cdr_and_what_a_minimal_debian_has() -> None:
    """debootstrap's minbase installs the packages of priority "required" and nothing else:
    a unit that runs another package's program (procps's /bin/kill) fails there."""
    for unit in UNITS:
        for program in _exec_programs(unit):
            if program.startswith("/opt/cdr/venv/bin/"):
                continue  # cdr itself, installed by systemd/install.sh
            package = _package_of(program)
            assert package, f"{unit.name}: {program} belongs to no installed package"
            priority = subprocess.run(
                ["dpkg-query", "-W", "-f=${Priority}", package], capture_output=True, text=True
            ).stdout
            assert priority == "required", f"{unit.name}: {program} is {package}'s ({priority}), not in minbase"


def test_timers_have_their_services() -> None:
    for timer in (ROOT / "systemd").glob("*.timer"):
        assert (ROOT / "systemd" / timer.name.replace(".timer", ".service")).exists()


def test_timer_jobs_that_can_wait_on_others_have_a_start_timeout() -> None:
    """A oneshot service has no start timeout of its own, and a timer does not start a job
    that is still running: a relay that answers a byte at a time (mail) or a log that does
    not answer (anchor) would end those jobs for good, not for one run."""
    for name in ("cdr-mail.service", "cdr-daily.service", "cdr-anchor.service"):
        text = (ROOT / "systemd" / name).read_text()
        assert "Type=oneshot\n" in text
        assert re.search(r"^TimeoutStartSec=\d+min$", text, re.MULTILINE), name
