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
