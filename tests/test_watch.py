"""The daemon and batch runs, as an operator runs them: subprocesses, signals, kill -9."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from cdr.audit import records, verify
from tests import builders

ROOT = Path(__file__).resolve().parent.parent
SETTLE = 0.4


def _env() -> dict[str, str]:
    return {**os.environ, "CDR_CONFIG": "/dev/null"}


def _folders(tmp_path: Path, settle: float = SETTLE, outbox: bool = True) -> tuple[list[str], Path]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"watch:\n  settle_seconds: {settle}s\n")
    args = [
        "--inbox",
        str(tmp_path / "in"),
        "--outbox",
        str(tmp_path / "out"),
        "--spool",
        str(tmp_path / "spool"),
        "--quarantine",
        str(tmp_path / "q"),
        "--audit",
        str(tmp_path / "audit.jsonl"),
        "--policy",
        str(policy),
    ]
    (tmp_path / "in").mkdir(exist_ok=True)
    if outbox:
        (tmp_path / "out").mkdir(exist_ok=True)  # shares exist before the daemon: it never makes them
    return args, policy


def start_watch(
    tmp_path: Path,
    workers: int = 2,
    settle: float = SETTLE,
    env: dict[str, str] | None = None,
    ready: str = "watching",
    outbox: bool = True,
    wrapper: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:
    """Start ``cdr watch`` on ``tmp_path``'s folders; returns once its log says ``ready``."""
    args, _ = _folders(tmp_path, settle, outbox)
    with open(tmp_path / "watch.log", "ab") as log:  # the child keeps its own copy
        before = log.tell()  # what earlier daemons wrote (one killed by -9 wrote no "stopped")
        proc = subprocess.Popen(
            [*wrapper, sys.executable, str(ROOT / "cli.py"), "watch", *args, "--workers", str(workers)],
            stdout=log,
            stderr=log,
            env={**_env(), **(env or {})},
            cwd=ROOT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if ready in (tmp_path / "watch.log").read_bytes()[before:].decode(errors="replace"):
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the daemon did not start: " + (tmp_path / "watch.log").read_text())


def batch(
    tmp_path: Path, settle: float = SETTLE, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """One ``cdr batch --json`` pass over ``tmp_path``'s folders, as the timer runs it."""
    args, _ = _folders(tmp_path, settle)
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "batch", *args, "--json"],
        capture_output=True,
        text=True,
        env={**_env(), **(env or {})},
        cwd=ROOT,
        timeout=120,
    )


def wait_until_drained(tmp_path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inbox = [p for p in (tmp_path / "in").rglob("*") if p.is_file()]
        spool = (
            [p for p in (tmp_path / "spool").iterdir() if len(p.name) == 26]
            if (tmp_path / "spool").exists()
            else []
        )
        if not inbox and not spool:
            return
        time.sleep(0.2)
    raise AssertionError(f"not drained: inbox {inbox[:5]}, spool {spool[:5]}")


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


def _drop_mixed(inbox: Path, count: int, rng: random.Random) -> dict[str, bytes | None]:
    """Write ``count`` files; the value is the expected output bytes (None: quarantined)."""
    expected: dict[str, bytes | None] = {}
    png = builders.simple("PNG", (40, 30))
    elf = Path("/bin/true").read_bytes()
    slow: list[tuple[Path, bytes]] = []
    for n in range(count):
        dept = ("soumu", "kikaku", "kenko")[n % 3]
        kind = n % 10
        if kind == 0:
            rel, data, out = f"{dept}/photo{n}.jpg", elf, None
        elif kind in (1, 2, 3):
            rel, data = f"{dept}/figure{n}.png", png
            out = b"png"
        elif kind == 4 and len(slow) < 6:
            body = "".join(f"line {i} of a slowly written report {n}\n" for i in range(400)).encode()
            rel, data, out = f"{dept}/slow{n}.txt", body, body
            slow.append((inbox / rel, body))
        else:
            body = f"お知らせ {n}: 熊の目撃情報\n".encode()
            rel, data, out = f"{dept}/note{n}.txt", body, body
        expected[rel] = out
        if (inbox / rel) in [p for p, _ in slow]:
            continue
        path = inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if n % 25 == 0:
            time.sleep(rng.uniform(0, 0.05))
    threads = [threading.Thread(target=_write_slowly, args=(p, b)) for p, b in slow]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return expected


def _write_slowly(path: Path, body: bytes) -> None:
    """Chunks 0.1 s apart — well inside the settle time, so a half file must never be taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        for start in range(0, len(body), len(body) // 20 + 1):
            handle.write(body[start : start + len(body) // 20 + 1])
            handle.flush()
            time.sleep(0.1)


def _check_exactly_once(tmp_path: Path, expected: dict[str, bytes | None]) -> None:
    out, quarantine = tmp_path / "out", tmp_path / "q"
    released = {
        p.relative_to(out).as_posix(): p
        for p in out.rglob("*")
        if p.is_file() and not p.name.endswith(".quarantined.txt")
    }
    assert not [name for name in released if ".partial" in name or ".cdr-" in name]
    assert not [name for name in released if " (2)" in name], "a file was released twice"
    quarantined = Counter(json.loads(m.read_text())["relative"] for m in quarantine.glob("*/meta.json"))
    assert all(n == 1 for n in quarantined.values()), quarantined
    for rel, output in expected.items():
        if output is None:
            assert rel in quarantined and rel not in released, rel
        else:
            assert rel in released and rel not in quarantined, rel
            if output != b"png":
                assert released[rel].read_bytes() == output, f"{rel} is not whole"
    assert len(released) + len(quarantined) == len(expected)
    report = verify(tmp_path / "audit.jsonl")
    assert report.ok, report.problem
    finals = Counter(
        r["input"] for r in records(tmp_path / "audit.jsonl") if r["event"] in ("released", "quarantined")
    )
    assert set(finals) == set(expected) and set(finals.values()) == {1}, finals.most_common(3)


def killed_three_times_while(
    tmp_path: Path, drop: Callable[[], dict[str, bytes | None]], rng: random.Random
) -> dict[str, bytes | None]:
    """``cdr watch`` killed with -9 three times while ``drop`` fills the inbox, restarted
    each time, then drained and stopped; each file ended exactly once. What ``drop`` expected."""
    proc = start_watch(tmp_path)
    expected: dict[str, bytes | None] = {}
    dropper = threading.Thread(target=lambda: expected.update(drop()))
    dropper.start()
    for _ in range(3):
        time.sleep(rng.uniform(0.5, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc = start_watch(tmp_path)
    dropper.join()
    wait_until_drained(tmp_path)
    assert stop(proc) == 0
    _check_exactly_once(tmp_path, expected)
    assert (tmp_path / "watch.log").read_text().count("watching") == 4
    return expected


@pytest.mark.slow
def test_kill_minus_nine_three_times_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261126)
    killed_three_times_while(tmp_path, lambda: _drop_mixed(tmp_path / "in", 300, rng), rng)


def test_two_batches_never_take_the_same_file(tmp_path: Path) -> None:
    args, _ = _folders(tmp_path, settle=0.01)
    expected = {f"soumu/n{n}.txt": f"note {n}\n".encode() for n in range(80)}
    for rel, body in expected.items():
        (tmp_path / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / rel).write_bytes(body)
    time.sleep(0.05)
    runs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), "batch", *args, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    lines = [json.loads(line) for stdout, _ in outputs for line in stdout.decode().splitlines()]
    assert sorted(line["input"] for line in lines) == sorted(expected)
    assert all(len(stdout.splitlines()) > 0 for stdout, _ in outputs), "both batches took a share"
    _check_exactly_once(tmp_path, expected)


def test_sigterm_drains_and_sighup_keeps_a_good_policy(tmp_path: Path) -> None:
    proc = start_watch(tmp_path)
    _, policy = _folders(tmp_path)
    policy.write_text("types:\n  png: explode\n")
    proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    (tmp_path / "in" / "a.png").write_bytes(builders.simple("PNG"))
    wait_until_drained(tmp_path)
    assert (tmp_path / "out" / "a.png").exists(), "the old policy must stay in force"
    policy.write_text(f"types:\n  png: block\nwatch:\n  settle_seconds: {SETTLE}s\n")
    proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    (tmp_path / "in" / "b.png").write_bytes(builders.simple("PNG"))
    wait_until_drained(tmp_path)
    assert (tmp_path / "out" / "b.png.quarantined.txt").exists(), "the new policy must be in force"
    for n in range(20):
        (tmp_path / "in" / f"c{n}.txt").write_text(f"{n}\n")
    time.sleep(SETTLE + 0.3)
    assert stop(proc) == 0
    log = (tmp_path / "watch.log").read_text()
    assert "policy reload refused" in log and "'explode' is not allowed" in log and "stopped" in log
    spool = [p for p in (tmp_path / "spool").iterdir() if len(p.name) == 26]
    assert spool == [], "a stopped daemon leaves no half-done job behind"
    left = {p.name for p in (tmp_path / "in").iterdir()}
    done = {p.name for p in (tmp_path / "out").iterdir()}
    assert all(f"c{n}.txt" in left ^ done for n in range(20))  # each either done or handed back


def test_full_outbox_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(out)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        proc = start_watch(tmp_path)
        from PIL import Image

        noise = Image.effect_noise((700, 700), 80).convert("RGB")
        noise.save(tmp_path / "in" / "big.png")  # ~1 MB after the rebuild: cannot fit
        (tmp_path / "in" / "small.txt").write_text("fits\n")
        deadline = time.monotonic() + 30
        while (
            "waits in the spool" not in (tmp_path / "watch.log").read_text() and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        assert "No space left on device" in (tmp_path / "watch.log").read_text()
        assert not list(out.rglob(".cdr-*")), "a partial file was left in the outbox"
        assert not (out / "big.png").exists()
        subprocess.run(["mount", "-o", "remount,size=16m", str(out)], check=True)
        wait_until_drained(tmp_path, timeout=90)
        assert stop(proc) == 0
        assert (out / "big.png").stat().st_size > 256 * 1024 and (out / "small.txt").read_text() == "fits\n"
        assert verify(tmp_path / "audit.jsonl").ok
    finally:
        subprocess.run(["umount", "-l", str(out)], capture_output=True)


def test_links_and_fifos_are_refused_unread(tmp_path: Path) -> None:
    _folders(tmp_path, settle=0.01)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the LGWAN side\n")
    (tmp_path / "in" / "link.txt").symlink_to(secret)
    os.link(secret, tmp_path / "in" / "hard.txt")
    os.mkfifo(tmp_path / "in" / "pipe.txt")
    (tmp_path / "in" / "~$lock.docx").write_text("office lock")
    (tmp_path / "in" / "Thumbs.db").write_bytes(b"x")
    time.sleep(0.05)
    run = batch(tmp_path, settle=0.01)
    lines = {json.loads(line)["input"]: json.loads(line) for line in run.stdout.splitlines()}
    assert set(lines) == {"link.txt", "hard.txt", "pipe.txt"}
    assert all(line["reason"] == "not-a-regular-file" for line in lines.values())
    assert not any((tmp_path / "q").glob("*/original.bin")), "nothing was read into the quarantine"
    assert secret.read_text() == "not for the LGWAN side\n" and not (tmp_path / "out" / "link.txt").exists()
    assert (tmp_path / "in" / "~$lock.docx").exists() and (tmp_path / "in" / "Thumbs.db").exists()


def test_status_reports_a_running_daemon(tmp_path: Path) -> None:
    proc = start_watch(tmp_path, workers=1)
    try:
        time.sleep(1.3)
        run = subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), "status", "--spool", str(tmp_path / "spool"), "--json"],
            capture_output=True,
            text=True,
            env=_env(),
            cwd=ROOT,
        )
        status = json.loads(run.stdout)
        assert run.returncode == 0 and status["alive"] and status["workers"] == 1
        assert status["contact_placeholder"] is True  # the shipped policy's made-up extension
    finally:
        assert stop(proc) == 0
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "status", "--spool", str(tmp_path / "spool")],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
    )
    assert run.returncode == 1 and "NOT RUNNING" in run.stdout
    assert "CONTACT:" in run.stdout and "notice.contact" in run.stdout
