"""`cdr scan`: what the child found reaches the report through typed fields, not strings.

The sanitizer's refusal is a field of the inspect answer (``wire.InspectAnswer.refused``)
and an extension mismatch's suspicion a field of its finding; the report an operator
reads is the same as it has always been, plus that flag.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cdr import wire
from cdr.errors import BadAnswer
from tests import builders
from tests.test_cli import cdr


def _scan(path: Path, status: int = 1) -> dict:
    run = cdr("scan", path, "--json")
    assert run.returncode == status, run.stderr  # 1: something found, 0: clean (ClamAV's convention)
    return json.loads(run.stdout)


def test_a_file_its_sanitizer_refuses_is_reported_with_the_reason(tmp_path: Path) -> None:
    damaged = tmp_path / "photo.png"
    damaged.write_bytes(builders.simple("PNG")[:40] + b"\x00garbage" * 20)
    report = _scan(damaged)
    assert report["type"] == "png" and report["would"] == "quarantine"
    assert report["reason"] == "malformed" and report["details"] == {"refused": "malformed"}
    assert [f["kind"] for f in report["findings"]] == ["malformed"]


def test_a_program_named_as_a_photo_is_reported_as_suspicious(tmp_path: Path) -> None:
    disguised = tmp_path / "photo.jpg"
    disguised.write_bytes(Path("/bin/ls").read_bytes())
    report = _scan(disguised)
    assert report["type"] == "executable" and report["would"] == "quarantine"
    assert report["findings"] == [
        {
            "kind": "extension-mismatch",
            "detail": "the name says .jpg (jpeg) but the content is executable",
            "count": 1,
            "suspicious": True,
        }
    ]
    assert report["reason"] == "extension-mismatch: the name says .jpg (jpeg) but the content is executable"


def test_the_text_report_says_suspicious(tmp_path: Path) -> None:
    disguised = tmp_path / "invoice.pdf"
    disguised.write_bytes(Path("/bin/ls").read_bytes())
    run = cdr("scan", disguised)
    assert run.returncode == 1, run.stderr
    assert "extension-mismatch: the name says .pdf (pdf) but the content is executable; suspicious" in run.stdout


def test_the_text_report_in_japanese_has_words_and_codes_and_no_parser_english(tmp_path: Path) -> None:
    from tests import office_builders as ob

    (tmp_path / "a.docm").write_bytes(ob.docm_with_vba())
    (tmp_path / "report.pdf").write_bytes(ob.docx_bytes())
    run = cdr("scan", tmp_path / "a.docm", tmp_path / "report.pdf", lang="ja_JP.UTF-8")
    assert run.returncode == 1, run.stderr
    assert run.stdout.splitlines() == [
        "a.docm: マクロ付きのワードの文書 (docm) → ポリシーの判断: 作り直して届けます (rebuild)",
        "    マクロ [vba-macros]",
        "    マクロ付きの形式 [macro-enabled-type]",
        "report.pdf: ワードの文書 (docx) → ポリシーの判断: 隔離します (quarantine)",
        "    理由: 拡張子と中身が一致しません（偽装の疑い） [extension-mismatch]",
        "    名前と中身の不一致 [extension-mismatch]（要注意）",
    ]
    english = cdr("scan", tmp_path / "a.docm").stdout.splitlines()
    assert english[1:] == ["    vba-macros", "    macro-enabled-type"]  # no colon before nothing


def test_a_clean_file_gets_no_refusal_and_no_suspicion(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(builders.simple("PNG"))
    report = _scan(photo, status=0)
    assert report["would"] == "rebuild" and report["reason"] is None
    assert "refused" not in report["details"]
    assert all("suspicious" not in f for f in report["findings"])


@pytest.mark.parametrize("refused", ["because", "", 11, ["malformed"], {"reason": "malformed"}])
def test_a_refusal_outside_the_known_reasons_is_a_lie(refused: object) -> None:
    answer = {
        "detection": {
            "file_type": "png",
            "mime": "image/png",
            "description": "",
            "encrypted": False,
            "findings": [],
        },
        "findings": [],
        "details": {},
        "refused": refused,
    }
    with pytest.raises(BadAnswer):
        wire.inspect_answer(answer)
    answer["refused"] = "malformed"
    assert wire.inspect_answer(answer).refused == "malformed"
    del answer["refused"]
    assert wire.inspect_answer(answer).refused is None
