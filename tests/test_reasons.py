"""A held file's reason in words: a blocked file is named for what it really is — a program
is refused for what it does when opened, a macro document or another kind only because the
appliance's policy says so."""

from __future__ import annotations

import pytest

from cdr.i18n import _
from cdr.reasons import REASONS_ADMIN, REASONS_JA, for_the_administrator, in_english, in_japanese


@pytest.mark.parametrize(
    ("file_type", "japanese", "english"),
    [
        ("docm", "ポリシーで受け入れない形式です（マクロ付きの文書）", "a type the policy blocks (a document with macros)"),
        ("xlsm", "ポリシーで受け入れない形式です（マクロ付きの文書）", "a type the policy blocks (a document with macros)"),
        ("executable", "ポリシーで受け入れない形式です（プログラム、または開くとプログラムが動くおそれのあるもの）",
         "a type the policy blocks (a program, or a kind that may start one when opened)"),
        ("shortcut", "ポリシーで受け入れない形式です（プログラム、または開くとプログラムが動くおそれのあるもの）",
         "a type the policy blocks (a program, or a kind that may start one when opened)"),
        ("disk-image", "ポリシーで受け入れない形式です（プログラム、または開くとプログラムが動くおそれのあるもの）",
         "a type the policy blocks (a program, or a kind that may start one when opened)"),
        ("svg", "ポリシーで受け入れない形式です", "a type the policy blocks"),
        (None, "ポリシーで受け入れない形式です", "a type the policy blocks"),
        ("no-such-type", "ポリシーで受け入れない形式です", "a type the policy blocks"),
    ],
)  # fmt: skip
def test_a_blocked_file_is_named_for_what_it_is(file_type: str | None, japanese: str, english: str) -> None:
    assert in_japanese("blocked-type", file_type) == japanese
    assert in_english("blocked-type", file_type) == english
    assert for_the_administrator("blocked-type", file_type) == f"{_(english)} [blocked-type]"  # the CLI's language


def test_a_macro_document_is_never_called_a_program() -> None:
    for kind in ("docm", "dotm", "xlsm", "xltm", "pptm", "potm", "ppsm"):
        assert "プログラム" not in in_japanese("blocked-type", kind) and "実行" not in in_japanese("blocked-type", kind)


def test_other_reasons_do_not_depend_on_the_type() -> None:
    for reason in REASONS_JA:
        if reason != "blocked-type":
            assert in_japanese(reason, "docm") == in_japanese(reason) == REASONS_JA[reason]
            assert in_english(reason, "executable") == REASONS_ADMIN[reason]
    assert in_japanese("no-such-reason") == in_english("no-such-reason") == "no-such-reason"


def test_the_notice_of_a_held_macro_document_says_it_has_macros() -> None:
    from cdr.notices import held_text

    meta = {"relative": "soumu/集計マクロ.docm", "type": "docm", "reason": "blocked-type", "quarantined_at": 1.7e9}
    text = held_text("01M8JS7ZTJHFB7D85N1GQC8Q9C", meta, "総務課", kept=True)
    assert "ファイル「集計マクロ.docm」はマクロ付きのワードの文書です。この装置では、この形式のファイルは届けない設定になっています。" in text
    assert 'The file "集計マクロ.docm" is a Word document with macros.' in text
    assert "プログラム" not in text
