"""Names that disagree with the content, judged by who writes them.

Web systems (e-Tax, 電子申請, banks, procurement) export an HTML table or a CSV under an
Excel name; that is not a disguise, and the table crosses as what it really is: a real
.xlsx imported by LibreOffice, or a sanitized .csv. A program or an archive under a
document's or a picture's name stays a disguise. 一太郎 and DocuWorks, which nothing here
can convert, are recognised and held as "not supported", not as dangerous.
"""

from __future__ import annotations

import http.server
import io
import struct
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from cdr.decide import decide
from cdr.detect import identify_bytes
from cdr.errors import Blocked, ExtensionMismatch, UnsupportedType
from cdr.model import EXTENSION_MISMATCH, Action, FileType, Outcome, Verdict
from cdr.pipeline import Pipeline, Places
from cdr.policy import Policy, parse_policy
from cdr.reasons import in_japanese
from cdr.sandbox import SandboxPool

# ---------------------------------------------------------------- samples
ROWS = [("氏名", "金額"), ("山田太郎", 1200), ("鈴木花子", 3400.5)]


def _table(rows: list[tuple[object, ...]], cell: str = "<td>{}</td>") -> str:
    return "".join("<tr>" + "".join(cell.format(v) for v in r) + "</tr>" for r in rows)


def html_shift_jis() -> bytes:
    """What an older web system sends: Shift_JIS bytes, the charset in a meta element."""
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"></head>'
        f"<body><table>{_table(ROWS)}</table></body></html>\r\n"
    ).encode("cp932")


def html_utf8() -> bytes:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>一覧</title></head>'
        f"<body><table>{_table(ROWS)}</table></body></html>\n"
    ).encode()


def html_undeclared(encoding: str) -> bytes:
    """No meta charset: the web server named the encoding in a header the saved file lost."""
    return f"<html><body><table>{_table(ROWS)}</table></body></html>".encode(encoding)


def html_excel_web_page() -> bytes:
    """What Excel's own "Web page" save writes: Office namespaces, ProgId, x:num cells."""
    return (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"\n'
        'xmlns:x="urn:schemas-microsoft-com:office:excel"\n'
        'xmlns="http://www.w3.org/TR/REC-html40">\n<head>\n'
        '<meta http-equiv=Content-Type content="text/html; charset=utf-8">\n'
        "<meta name=ProgId content=Excel.Sheet>\n"
        '<meta name=Generator content="Microsoft Excel 15">\n'
        "<!--[if gte mso 9]><xml><x:ExcelWorkbook><x:ExcelWorksheets><x:ExcelWorksheet>"
        "<x:Name>一覧</x:Name></x:ExcelWorksheet></x:ExcelWorksheets></x:ExcelWorkbook>"
        "</xml><![endif]-->\n</head>\n<body link=blue vlink=purple>\n"
        "<table border=0 cellpadding=0 cellspacing=0>\n"
        f"{_table(ROWS[:1])}"
        + "".join(f"<tr><td>{name}</td><td x:num>{amount}</td></tr>" for name, amount in ROWS[1:])
        +         "\n</table>\n</body>\n</html>\n"
    ).encode()


def xml_spreadsheet_2003() -> bytes:
    """Excel's XML Spreadsheet 2003, which web systems also save as .xls."""
    cells = "".join(
        "<Row>"
        + "".join(
            f'<Cell><Data ss:Type="{"Number" if isinstance(v, float | int) else "String"}">{v}</Data></Cell>'
            for v in r
        )
        + "</Row>"
        for r in ROWS
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"\n'
        ' xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">\n'
        f' <Worksheet ss:Name="一覧"><Table>{cells}</Table></Worksheet>\n</Workbook>\n'
    ).encode()


CSV_WITH_DDE = "氏名,金額\r\n山田,100\r\n1,=cmd|' /C calc'!A0\r\n".encode("cp932")


def compound_file(*names: str) -> bytes:
    """A minimal OLE compound file (version 3, 512-byte sectors) whose root holds empty
    streams of these names: enough for olefile to list them, as detection does."""
    free, end, fat_sector, no_stream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIII", header, 40, 0, 1, 1, 0, 4096, end, 0, end)  # 1 FAT sector, directory at 1
    header[76:512] = b"\xff" * 436
    struct.pack_into("<I", header, 76, 0)  # the FAT is sector 0
    fat = struct.pack("<II", fat_sector, end) + struct.pack("<I", free) * 126

    def entry(name: str, kind: int, right: int, child: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        raw = bytearray(128)
        raw[: len(encoded)] = encoded
        struct.pack_into("<HBBIII", raw, 64, len(encoded), kind, 1, no_stream, right, child)
        struct.pack_into("<IQ", raw, 116, end, 0)
        return bytes(raw)

    entries = [entry("Root Entry", 5, no_stream, 1 if names else no_stream)]
    for index, name in enumerate(names, start=1):
        entries.append(entry(name, 2, index + 1 if index < len(names) else no_stream, no_stream))
    unused = bytes(68) + struct.pack("<III", no_stream, no_stream, no_stream) + bytes(48)
    directory = b"".join(entries) + unused * (4 - len(entries))
    return bytes(header) + fat + directory


ICHITARO = compound_file("\x05JSRV_SegmentInformation", "DocumentText", "\x05SummaryInformation")
DOCUWORKS = b"XDWF" + bytes(range(1, 60)) + b"\x00" * 200


# ---------------------------------------------------------------- detection and decision
@pytest.mark.parametrize(
    "build", [html_shift_jis, html_utf8, html_excel_web_page], ids=["shift_jis", "utf-8", "excel-web-page"]
)
@pytest.mark.parametrize("name", ["report.xls", "一覧.xlsx"])
def test_an_html_table_under_an_excel_name_is_a_spreadsheet_not_a_disguise(build: object, name: str) -> None:
    detection = identify_bytes(build(), name)  # type: ignore[operator]
    assert detection.file_type == FileType.HTML_SPREADSHEET
    mismatch = next(f for f in detection.findings if f.kind == EXTENSION_MISMATCH)
    assert mismatch.detail.endswith("but the content is html") and not mismatch.suspicious
    decision = decide(detection, Policy())
    assert (decision.action, decision.output_type) == (Action.REBUILD, FileType.XLSX)


@pytest.mark.parametrize(
    ("encoding", "named"), [("cp932", "Shift_JIS"), ("euc_jp", "EUC-JP"), ("utf-8", "UTF-8")]
)
def test_the_encoding_an_html_table_does_not_declare_is_guessed(encoding: str, named: str) -> None:
    detection = identify_bytes(html_undeclared(encoding), "report.xls")
    assert [f.detail for f in detection.findings if f.kind == "html-charset"] == [named]
    assert not [f for f in identify_bytes(html_shift_jis(), "report.xls").findings if f.kind == "html-charset"]


def test_only_a_known_encoding_name_is_declared_to_the_converter() -> None:
    """The guess crosses from the sandbox as a finding's text: the converter writes a meta
    element only for names it knows, so a lying child cannot put markup ahead of the table."""
    from cdr.converters.libreoffice import _declaration
    from cdr.types import row

    html_in, xml_in = row(FileType.HTML_SPREADSHEET).converter, row(FileType.XML_SPREADSHEET).converter
    assert html_in is not None and xml_in is not None
    assert _declaration(html_in, "Shift_JIS") == (
        b'<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">\n'
    )
    assert _declaration(html_in, 'x"><script>alert(1)</script>') == b""
    assert _declaration(html_in, None) == b""
    assert _declaration(xml_in, "Shift_JIS") == b""  # XML declares its own encoding


def test_an_html_table_named_html_is_still_html() -> None:
    assert identify_bytes(html_utf8(), "report.html").file_type == FileType.HTML


def test_the_xml_spreadsheet_2003_is_recognised_by_content_and_one_with_a_doctype_is_not() -> None:
    for name in ("report.xls", "report.xml"):
        detection = identify_bytes(xml_spreadsheet_2003(), name)
        assert detection.file_type == FileType.XML_SPREADSHEET and not detection.findings
        assert decide(detection, Policy()).output_type == FileType.XLSX
    with_entities = xml_spreadsheet_2003().replace(
        b"<Workbook", b'<!DOCTYPE Workbook [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<Workbook', 1
    )
    assert identify_bytes(with_entities, "report.xml").file_type == FileType.TEXT


@pytest.mark.parametrize("name", ["list.xlsx", "list.xls"])
def test_a_csv_or_plain_text_under_an_excel_name_is_a_csv(name: str) -> None:
    for content in (CSV_WITH_DDE, "メモ\r\n".encode("cp932")):
        detection = identify_bytes(content, name)
        assert detection.file_type == FileType.CSV
        assert not next(f for f in detection.findings if f.kind == EXTENSION_MISMATCH).suspicious
        decision = decide(detection, Policy())
        assert (decision.action, decision.file_type, decision.output_type) == (
            Action.TEXT,
            FileType.CSV,
            FileType.CSV,
        )


def test_a_csv_under_an_excel_name_is_split_as_the_csv_it_is_released_as() -> None:
    """Released as list.csv, Excel splits it on commas: the formula in the second cell is
    neutralised although the name it came with (.xlsx) would be split on tabs."""
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.text import TextSanitizer

    out = io.BytesIO()
    ctx = Context(FileType.CSV, Action.TEXT, "list.xlsx", Policy())
    TextSanitizer().sanitize(io.BytesIO(CSV_WITH_DDE), out, ctx)
    assert out.getvalue().decode("cp932").splitlines()[2] == "1,'=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("content", "name", "real"),
    [
        (Path("/bin/ls").read_bytes(), "invoice.xls", "executable"),
        (b"MZ\x90\x00" + b"\0" * 200, "請求書.xlsx", "executable"),
        (b"Set s = CreateObject(\"WScript.Shell\")\r\n", "list.xls", "script"),
        (None, "photo.jpg", "zip"),
        (None, "report.xls", "zip"),
    ],
)
def test_a_program_or_an_archive_under_a_harmless_name_stays_a_disguise(
    content: bytes | None, name: str, real: str
) -> None:
    if content is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("payload.exe", b"MZ")
        content = buffer.getvalue()
    detection = identify_bytes(content, name)
    assert detection.file_type.value == real
    assert next(f for f in detection.findings if f.kind == EXTENSION_MISMATCH).suspicious
    with pytest.raises(ExtensionMismatch, match=rf"but the content is {real}\Z") as raised:
        decide(detection, Policy())
    assert in_japanese(raised.value.reason) == "拡張子と中身が一致しません（偽装の疑い）"


def test_the_policy_chooses_what_an_html_table_becomes() -> None:
    """types.html-spreadsheet: rebuild (a real .xlsx, the default), text (its visible text,
    read as the HTML it is), block (held, as a kind the policy does not take — not as a
    disguise)."""
    detection = identify_bytes(html_shift_jis(), "report.xls")
    as_text = decide(detection, parse_policy("types:\n  html-spreadsheet: text\n", "p"))
    assert (as_text.action, as_text.file_type, as_text.output_type) == (Action.TEXT, FileType.HTML, FileType.TEXT)
    with pytest.raises(Blocked) as raised:
        decide(detection, parse_policy("types:\n  html-spreadsheet: block\n", "p"))
    assert raised.value.reason == "blocked-type"
    strict = Policy(actions={FileType.HTML: Action.BLOCK})  # HTML blocked, the table still rebuilt
    assert decide(detection, strict).output_type == FileType.XLSX


@pytest.mark.parametrize(
    ("content", "name", "kind"),
    [
        (ICHITARO, "議事録.jtd", FileType.ICHITARO),
        (ICHITARO, "議事録.bin", FileType.ICHITARO),
        (DOCUWORKS, "回覧.xdw", FileType.DOCUWORKS),
        (DOCUWORKS, "回覧.xbd", FileType.DOCUWORKS),
    ],
)
def test_ichitaro_and_docuworks_are_recognised_and_held_as_not_supported(
    content: bytes, name: str, kind: FileType
) -> None:
    detection = identify_bytes(content, name)
    assert detection.file_type == kind
    assert not [f for f in detection.findings if f.suspicious]
    for policy in (Policy(), parse_policy((Path(__file__).parent.parent / "policies/strict.yaml").read_text(), "s")):
        with pytest.raises(UnsupportedType, match="no converter") as raised:
            decide(detection, policy)
        assert raised.value.reason == "unsupported-type"
        assert in_japanese(raised.value.reason) == "対応していない形式です"


def test_an_ole_file_without_ichitaro_streams_is_not_ichitaro() -> None:
    detection = identify_bytes(compound_file("Contents", "Data"), "a.jtd")
    assert detection.file_type == FileType.UNKNOWN
    assert detection.findings[0].kind == "unknown-ole" and detection.findings[0].detail == "contents, data"


def test_a_program_named_as_ichitaro_is_a_disguise() -> None:
    detection = identify_bytes(b"MZ\x90\x00" + b"\0" * 200, "議事録.jtd")
    with pytest.raises(ExtensionMismatch):
        decide(detection, Policy())


# ---------------------------------------------------------------- the whole flow
def _run(pipeline: Pipeline, tmp_path: Path, data: bytes, name: str) -> Verdict:
    source = tmp_path / "in" / name
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(data)
    return pipeline.process(source, name)


def _values(xlsx: Path) -> list[list[object]]:
    sheet = openpyxl.load_workbook(xlsx).worksheets[0]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_a_csv_named_xlsx_is_released_as_a_neutralised_csv(pipeline: Pipeline, tmp_path: Path) -> None:
    verdict = _run(pipeline, tmp_path, CSV_WITH_DDE, "list.xlsx")
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert verdict.output is not None and verdict.output.endswith("/list.csv")
    released = Path(verdict.output).read_bytes().decode("cp932")
    assert released == "氏名,金額\r\n山田,100\r\n1,'=cmd|' /C calc'!A0\r\n"
    assert {"what": "csv-formula", "action": "neutralised", "count": 1} in verdict.actions


@pytest.mark.parametrize(
    ("content", "name", "reason"),
    [
        (Path("/bin/ls").read_bytes(), "invoice.xls", "extension-mismatch"),
        (ICHITARO, "議事録.jtd", "unsupported-type"),
        (DOCUWORKS, "回覧.xdw", "unsupported-type"),
    ],
)
def test_held_files_carry_the_reason_that_fits(
    pipeline: Pipeline, tmp_path: Path, content: bytes, name: str, reason: str
) -> None:
    verdict = _run(pipeline, tmp_path, content, name)
    assert (verdict.verdict, verdict.reason) == (Outcome.QUARANTINED, reason)


def test_a_zip_named_jpg_stays_quarantined_as_a_disguise(pipeline: Pipeline, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.exe", b"MZ")
    verdict = _run(pipeline, tmp_path, buffer.getvalue(), "photo.jpg")
    assert (verdict.verdict, verdict.reason, verdict.type) == (Outcome.QUARANTINED, "extension-mismatch", "zip")


@pytest.mark.slow  # LibreOffice
@pytest.mark.parametrize(
    ("build", "name"),
    [
        (html_shift_jis, "report.xls"),
        (html_utf8, "一覧.xlsx"),
        (html_excel_web_page, "申請一覧.xls"),
        (xml_spreadsheet_2003, "集計.xls"),
        (lambda: html_undeclared("cp932"), "sjis.xls"),
        (lambda: html_undeclared("euc_jp"), "euc.xls"),
    ],
    ids=["shift_jis", "utf-8", "excel-web-page", "xml-2003", "undeclared-cp932", "undeclared-euc-jp"],
)
def test_a_spreadsheet_written_as_markup_becomes_a_real_xlsx(
    pipeline: Pipeline, tmp_path: Path, build: object, name: str
) -> None:
    verdict = _run(pipeline, tmp_path, build(), name)  # type: ignore[operator]
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert verdict.output is not None and verdict.output.endswith(name.rsplit(".", 1)[0] + ".xlsx")
    assert _values(Path(verdict.output)) == [list(r) for r in ROWS]  # read back independently


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def _any(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        self.send_response(404)
        self.end_headers()

    do_GET = do_HEAD = do_OPTIONS = do_PROPFIND = _any  # noqa: N815 - http.server's names

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[tuple[str, list[str]]]:
    """A web server on this host's loopback that records every request it gets."""
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.slow  # LibreOffice
def test_scripts_and_links_in_an_html_table_do_not_survive_and_nothing_is_fetched(
    pipeline: Pipeline, tmp_path: Path, loopback_server: tuple[str, list[str]]
) -> None:
    """LibreOffice runs no script; its HTML import would fetch linked pictures, but the
    converter sandbox has no network: the server on the host's loopback hears nothing, and
    no part of the released workbook names a script, a handler or the server."""
    base, seen = loopback_server
    hostile = (
        f'<html><head><meta charset="utf-8"><link rel="stylesheet" href="{base}/style.css">'
        f'<script src="{base}/s.js"></script><script>document.write("injected")</script></head>'
        f'<body onload="alert(1)"><table><tr><td>氏名</td><td><img src="{base}/pic.png"></td></tr>'
        f'<tr><td>山田</td><td><iframe src="{base}/frame.html"></iframe></td></tr>'
        "<tr><td>計</td><td>=cmd|' /C calc'!A0</td></tr></table></body></html>"
    ).encode()
    verdict = _run(pipeline, tmp_path, hostile, "report.xls")
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert seen == []
    output = Path(verdict.output or "")
    with zipfile.ZipFile(output) as package:
        for part in package.namelist():
            data = package.read(part).lower()
            for word in (b"<script", b"document.write", b"injected", b"s.js", b"alert(", b"onload", b"iframe"):
                assert word not in data, (part, word)
            for link in (b"127.0.0.1", b'targetmode="external"', b"cmd|"):
                assert link not in data, (part, link)
    values = _values(output)
    assert values[0][0] == "氏名" and values[1][0] == "山田"


def test_an_html_table_is_refused_where_the_converter_would_have_a_network(
    tmp_path: Path, default_policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With sandbox.isolation: best-effort LibreOffice may convert legacy files without
    bubblewrap; an HTML import, which fetches links, still needs it. Here bubblewrap is
    made unavailable: the table is not converted (an operational failure, retried),
    instead of being imported with the host's network."""
    from dataclasses import replace

    from cdr.converters import exec_sandbox
    from cdr.converters.libreoffice import LibreOffice
    from cdr.errors import ConverterCannotStart, OperationalError
    from cdr.policy import SandboxOptions

    def no_bubblewrap() -> list[str]:
        raise OperationalError("bubblewrap is not available")

    monkeypatch.setattr(exec_sandbox, "bubblewrap_command", no_bubblewrap)
    policy = replace(default_policy, sandbox=SandboxOptions(isolation="best-effort"))
    converter = LibreOffice(tmp_path / "work")
    converter._profile = tmp_path / "profile"  # noqa: SLF001 - prepared; the import is what is tested
    converter._profile.mkdir()  # noqa: SLF001
    source = tmp_path / "report.xls"
    source.write_bytes(html_utf8())
    with open(source, "rb") as handle, pytest.raises(ConverterCannotStart, match="bubblewrap is not available"):
        converter.convert(handle.fileno(), FileType.HTML_SPREADSHEET, policy)
    assert not list((tmp_path / "work").glob("cdr-convert-*"))  # its work folder is gone too


def test_the_text_choice_releases_the_visible_text(tmp_path: Path, sandbox_pool: SandboxPool) -> None:
    (tmp_path / "out").mkdir()
    places = Places(tmp_path / "out", tmp_path / "q", tmp_path / "a.jsonl", tmp_path / "work")
    policy = parse_policy("types:\n  html-spreadsheet: text\n", "p")
    pipe = Pipeline(policy, places, sandbox_pool)
    pipe.start()
    try:
        verdict = _run(pipe, tmp_path, html_shift_jis(), "report.xls")
    finally:
        pipe.close()
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert verdict.output is not None and verdict.output.endswith("/report.txt")
    text = Path(verdict.output).read_bytes().decode("cp932")
    assert "山田太郎" in text and "<td>" not in text
