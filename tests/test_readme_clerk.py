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
