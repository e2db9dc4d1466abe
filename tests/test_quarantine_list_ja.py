"""`cdr quarantine list` under a Japanese locale: the heading counts records kept (some
delivered since), each reason in a few words beside its code, the * explained, 80 cells."""

from __future__ import annotations

from pathlib import Path

from cdr.cells import cells
from cdr.quarantine_list import SHORT_JA
from cdr.reasons import REASONS_JA
from tests.test_cli import cdr
from tests.test_quarantine_list_scale import _store


def test_the_japanese_table(tmp_path: Path) -> None:
    _store(tmp_path / "q", 3)  # the second one delivered since
    run = cdr("quarantine", "list", "--quarantine", tmp_path / "q", lang="ja_JP.UTF-8")
    assert run.stdout.splitlines() == [
        "お預かり記録: 3 件（うち 1 件は届け済み）",
        "受付番号   日時         理由                              ファイル",
        "0000-0000  04-01 08:33  受け入れない形式 blocked-type     a0.pdf",
        "0000-0001  04-01 08:34  * 受け入れない形式 blocked-type   総務課/受…明細-1.xlsx",
        "0000-0002  04-01 08:35  受け入れない形式 blocked-type     a2.pdf",
        "* は届け済みの記録です（パスワード解除・再処理・原本の引き渡しのあと）。",
        "種類と詳しい理由は cdr quarantine show 受付番号 で見られます。",
    ]
    assert all(cells(line) <= 80 for line in run.stdout.splitlines())


def test_every_reason_has_short_words_that_fit_beside_its_code() -> None:
    assert set(REASONS_JA) <= set(SHORT_JA)
    assert all(cells(f"* {words} {code}") <= 32 for code, words in SHORT_JA.items())
