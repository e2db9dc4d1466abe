"""What a town clerk reads in README.md and follows literally holds for this checkout."""

from __future__ import annotations

import re
from pathlib import Path

from cdr.policy import Policy

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_policy_table_names_the_shipped_contact(default_policy: Policy) -> None:
    row = next(line for line in README.splitlines() if line.startswith("| `notice.contact` |"))
    assert f"(`{default_policy.notice.contact}`, a placeholder" in row


def test_the_quick_start_says_to_set_the_contact(default_policy: Policy) -> None:
    quick = _section("Quick start")
    assert "notice: contact:" in quick and "policies/default.yaml" in quick
    said = re.search(r"shipped policy says (.+?), a made-up", quick.replace("\n", " "))
    assert said and said.group(1) == default_policy.notice.contact.split(" / ")[0]


def test_the_first_administrator_is_made_the_same_way_everywhere() -> None:
    """install.sh's last lines, the README and both operator's guides give one command."""
    root = Path(__file__).resolve().parent.parent
    command = "sudo -u cdr cdr users add admin --role admin"
    install = (root / "systemd" / "install.sh").read_text(encoding="utf-8")
    assert f"the console's first administrator: {command}" in install
    assert command in README
    for guide, heading in (("operations.ja.md", "## 10. 管理画面（Web コンソール）"), ("operations.en.md", "## 10. The web console")):
        text = (root / "docs" / guide).read_text(encoding="utf-8")
        section = text.split(heading, 1)[1]
        assert command in section and "console_listen" in section and "cdr-console" in section
        assert "users passwd" in section and "users enable" in section  # lifting a lockout


def test_a_one_off_sanitize_keeps_its_records_in_the_configured_store_unless_told(tmp_path: Path) -> None:
    """As the README says: from another folder, the held file and its records go where the
    daemon keeps them (CDR_QUARANTINE and CDR_AUDIT stand for the defaults here); named
    places keep a trial apart."""
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    elsewhere = tmp_path / "desk"
    elsewhere.mkdir()
    (elsewhere / "tool.exe").write_bytes(Path("/bin/true").read_bytes())
    env = {**os.environ, "LANG": "C", "CDR_CONFIG": "/dev/null"}
    env |= {"CDR_QUARANTINE": str(tmp_path / "store" / "q"), "CDR_AUDIT": str(tmp_path / "store" / "audit.jsonl")}

    def sanitize(*more: str) -> dict:
        run = subprocess.run([sys.executable, str(root / "cli.py"), "sanitize", "tool.exe", "--out", "clean", "--json", *more],
                             cwd=elsewhere, env=env, capture_output=True, text=True)  # fmt: skip
        return json.loads(run.stdout)

    held = sanitize()
    assert (tmp_path / "store" / "q" / held["quarantine_id"] / "meta.json").exists()
    assert held["quarantine_id"] in (tmp_path / "store" / "audit.jsonl").read_text()
    apart = sanitize("--quarantine", str(tmp_path / "trial" / "q"), "--audit", str(tmp_path / "trial" / "a.jsonl"))
    assert (tmp_path / "trial" / "q" / apart["quarantine_id"]).is_dir()
    assert apart["quarantine_id"] not in (tmp_path / "store" / "audit.jsonl").read_text()
