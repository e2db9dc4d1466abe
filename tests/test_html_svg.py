"""Web pages and SVG drawings through the whole flow (sandbox, verifier, release or quarantine),
花子 held like 一太郎, and text in Western and UTF-16 encodings recognised as text."""

from __future__ import annotations

import dataclasses
import gzip
import http.server
import io
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from cdr.detect import identify_bytes
from cdr.model import Action, FileType, Outcome
from cdr.pipeline import Pipeline, Places
from cdr.policy import Policy
from cdr.sandbox import SandboxPool
from cdr.sanitizers.text import decode

XLINK = 'xmlns:xlink="http://www.w3.org/1999/xlink"'


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        picture = io.BytesIO()
        Image.new("RGB", (8, 8), (0, 255, 0)).save(picture, "PNG")
        self.wfile.write(picture.getvalue())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[str]:
    """A server on 127.0.0.1 that records every request: a drawing or page that fetched its
    pictures would show up here."""
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, name="loopback", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _with(policy: Policy, **actions: Action) -> Policy:
    return dataclasses.replace(policy, actions={**policy.actions, **{FileType(k): a for k, a in actions.items()}})


@pytest.fixture
def rebuild_pages(places: Places, default_policy: Policy, sandbox_pool: SandboxPool) -> Iterator[Pipeline]:
    pipe = Pipeline(_with(default_policy, html=Action.REBUILD), places, sandbox_pool)
    pipe.start()
    yield pipe
    pipe.close()


# ------------------------------------------------------------------ SVG
def hostile_svg(server: str, secret: Path) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" {XLINK} width="120" height="80" onload="alert(document.cookie)">
  <script>fetch('{server}/script')</script>
  <foreignObject width="120" height="80"><div xmlns="http://www.w3.org/1999/xhtml">
    <img src="{server}/foreign.png"/><iframe src="{server}/frame"></iframe></div></foreignObject>
  <rect width="120" height="80" fill="#0000ff"/>
  <image href="{server}/image.png" x="0" y="0" width="60" height="40"/>
  <image xlink:href="{server}/xlink.png" x="60" y="0" width="60" height="40"/>
  <image href="file://{secret}" x="0" y="40" width="60" height="40"/>
  <image href="{secret}" x="60" y="40" width="60" height="40"/>
  <image href="file:///etc/passwd" width="10" height="10"/>
  <a href="javascript:alert(1)"><rect x="10" y="10" width="5" height="5" fill="#0000ff" onclick="alert(2)"/></a>
  <rect x="0" y="0" width="1" height="1" fill="#0000ff" style="fill:url({server}/style)"/>
  <use href="{server}/use.svg#x"/>
</svg>"""


def test_hostile_svg_becomes_a_png_of_its_size_and_fetches_nothing(
    pipeline: Pipeline, tmp_path: Path, loopback: str
) -> None:
    secret = tmp_path / "secret.png"
    Image.new("RGB", (60, 40), (255, 0, 0)).save(secret)  # red: would show if read from disk
    source = tmp_path / "図面.svg"
    source.write_text(hostile_svg(loopback, secret), encoding="utf-8")
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert verdict.output is not None and verdict.output.endswith("図面.png")
    data = Path(verdict.output).read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and b"<svg" not in data and b"script" not in data
    picture = Image.open(io.BytesIO(data))
    assert picture.format == "PNG" and picture.size == (120, 80)
    colours = {colour for _, colour in picture.convert("RGB").getcolors(120 * 80)}
    assert colours == {(0, 0, 255)}, colours  # the blue rectangle only: nothing loaded, from disk or net
    assert _Recorder.hits == []
    done = {a["what"] for a in verdict.actions}
    assert {"svg-script", "svg-event-handler", "svg-foreign-object", "svg-external-reference"} <= done


def test_svg_without_a_size_is_drawn_at_its_view_box(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "icon.svg"
    source.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 24"><circle cx="12" cy="12" r="10"/></svg>'
    )
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert Image.open(verdict.output).size == (48, 24)


def test_svg_text_is_drawn_in_japanese_fonts(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "label.svg"
    source.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60"><rect width="200" height="60" '
        'fill="white"/><text x="5" y="40" font-size="30" font-family="ＭＳ ゴシック">見積書</text></svg>',
        encoding="utf-8",
    )
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    grey = Image.open(str(verdict.output)).convert("L")
    dark = sum(1 for value in grey.tobytes() if value < 128)
    assert dark > 300, dark  # the three characters are there, not a blank label


def test_svg_with_a_huge_canvas_is_quarantined_before_drawing(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "bomb.svg"
    source.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><rect/></svg>')
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.QUARANTINED
    assert verdict.reason == "limit-exceeded" and "100000×100000" in (verdict.message or "")
    assert verdict.duration_ms < 5000


def test_svgz_is_drawn_like_the_svg_it_holds(pipeline: Pipeline, tmp_path: Path) -> None:
    """An .svgz (SVG's own gzip form) is an SVG, not a mismatched archive; its script goes and a
    gzip of something else under that name is still held as a mismatch."""
    drawing = (
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">'
        '<rect width="40" height="30" fill="red"/><script>alert(1)</script></svg>'
    )
    source = tmp_path / "地図.svgz"
    source.write_bytes(gzip.compress(drawing.encode()))
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    picture = Image.open(str(verdict.output))
    assert picture.format == "PNG" and picture.size == (40, 30)
    assert {colour for _, colour in picture.convert("RGB").getcolors(40 * 30)} == {(255, 0, 0)}
    assert "svg-script" in {a["what"] for a in verdict.actions}
    other = tmp_path / "note.svgz"
    other.write_bytes(gzip.compress(b"hello"))
    held = pipeline.process(other, other.name)
    assert held.verdict == Outcome.QUARANTINED and held.reason == "extension-mismatch", held


def _use_bomb(levels: int, fan: int = 10) -> str:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" {XLINK} width="100" height="100"><defs>']
    parts.append('<rect id="l0" width="1" height="1"/>')
    for level in range(1, levels + 1):
        uses = "".join(f'<use xlink:href="#l{level - 1}"/>' for _ in range(fan))
        parts.append(f'<g id="l{level}">{uses}</g>')
    parts.append(f'</defs><use href="#l{levels}"/></svg>')
    return "".join(parts)


def test_billion_laughs_of_use_is_quarantined(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "laughs.svg"
    source.write_text(_use_bomb(9))  # 10⁹ rectangles from 4 KB
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.QUARANTINED
    assert verdict.reason == "limit-exceeded" and "<use>" in (verdict.message or "")
    assert verdict.duration_ms < 5000


def test_use_that_refers_to_itself_is_quarantined(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "loop.svg"
    source.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" {XLINK}><g id="a"><use xlink:href="#a"/></g></svg>'
    )
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason == "malformed", verdict


def test_entity_laughs_are_quarantined(pipeline: Pipeline, tmp_path: Path) -> None:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    source = tmp_path / "lol.svg"
    source.write_text(f'<!DOCTYPE svg [{entities}]><svg xmlns="http://www.w3.org/2000/svg"><text>&i;</text></svg>')
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason in ("malformed", "limit-exceeded"), verdict


def test_strict_policy_still_blocks_svg(places: Places, sandbox_pool: SandboxPool, tmp_path: Path) -> None:
    from cdr.policy import load_policy

    strict = load_policy(Path(__file__).resolve().parent.parent / "policies" / "strict.yaml")
    source = tmp_path / "logo.svg"
    source.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
    pipe = Pipeline(strict, places, sandbox_pool)
    pipe.start()
    try:
        verdict = pipe.process(source, source.name)
    finally:
        pipe.close()
    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason == "blocked-type"


# ------------------------------------------------------------------ web pages
HOSTILE_PAGE = """<!DOCTYPE html>
<html><head><meta charset="shift_jis"><title>お知らせ</title>
<meta http-equiv="refresh" content="0;url={server}/refresh">
<base href="{server}/"><link rel="stylesheet" href="{server}/style.css">
<style>body {{ background: url({server}/bg.png) }}</style>
<script src="{server}/x.js"></script><script>document.write('x')</script></head>
<body onload="alert(1)"><h1>令和8年度 説明会</h1>
<p style="color:red;background-image:url({server}/p.png)">日時：<b>4月1日</b></p>
<img src="{server}/beacon.gif" width="1" height="1"><img src="data:image/svg+xml;base64,PHN2Zz4=">
<a href="https://www.city.example.lg.jp/info">市のページ</a> <a href="jav&#x61;script:alert(1)">ここ</a>
<iframe src="{server}/frame"></iframe><object data="{server}/x.swf"></object>
<form action="{server}/post"><input name="pw" type="password"></form>
<svg><script>alert(1)</script></svg><math><mtext><table><mglyph><style><img src=x onerror=alert(1)>
</body></html>"""


def test_hostile_page_rebuilt_as_static_utf8_page(rebuild_pages: Pipeline, tmp_path: Path, loopback: str) -> None:
    source = tmp_path / "案内.html"
    source.write_bytes(HOSTILE_PAGE.format(server=loopback).encode("cp932"))
    verdict = rebuild_pages.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert verdict.output is not None and verdict.output.endswith("案内.html")
    page = Path(verdict.output).read_text(encoding="utf-8")
    assert page.startswith('<!DOCTYPE html>\n<html><head><meta charset="utf-8">\n<title>お知らせ</title>')
    assert "<h1>令和8年度 説明会</h1>" in page
    assert '<p style="color:red">日時：<b>4月1日</b></p>' not in page  # the whole style went (it loads)
    assert "<p>日時：<b>4月1日</b></p>" in page
    assert '<a href="https://www.city.example.lg.jp/info" rel="noopener noreferrer">市のページ</a>' in page
    lowered = page.lower()
    for gone in ("<script", "onload", "onerror", "javascript", "<iframe", "<object", "<form", "<input",
                 "<meta http-equiv", "<base", "<link", "<style", "url(", "127.0.0.1", "<svg", "<math"):
        assert gone not in lowered, gone
    assert _Recorder.hits == []


def test_page_text_stays_the_default(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "page.htm"
    source.write_text("<html><body><p>本文</p><script>alert(1)</script></body></html>", encoding="utf-8")
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert verdict.output is not None and verdict.output.endswith("page.txt")
    assert Path(verdict.output).read_text(encoding="utf-8") == "本文\n"


def test_html_verifier_refuses_what_a_browser_would_act_on(default_policy: Policy) -> None:
    from cdr.verifiers import VerifyContext, verify_structure

    head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8">\n<title>t</title></head><body>'

    def kinds(body: str) -> list[str]:
        data = (head + body + "</body></html>").encode()
        return [f.kind for f in verify_structure(FileType.HTML, io.BytesIO(data), VerifyContext(default_policy))]

    assert kinds("<p>本文</p>") == []
    assert kinds("<script>x</script>") == ["html-element"]
    assert kinds('<p onclick="x">a</p>') == ["html-attribute"]
    assert kinds('<a href="java\tscript:x">a</a>') == ["html-attribute-value"]
    assert kinds('<img src="http://x/p.gif">') == ["html-attribute-value"]
    assert kinds('<p style="background:url(http://x)">a</p>') == ["html-attribute-value"]
    assert kinds("<!-- x -->") == ["html-comment"]
    bare = b"<html><body>x</body></html>"
    found = verify_structure(FileType.HTML, io.BytesIO(bare), VerifyContext(default_policy))
    assert [f.kind for f in found] == ["html-prologue"]


# ------------------------------------------------------------------ 花子
def justsystem_container(stream: str = "\x04JSRV_SegmentInformation") -> bytes:
    """The smallest OLE compound file (MS-CFB, version 3) holding one 4 KiB stream under a
    JustSystems name: the mark 一太郎 and 花子 documents carry in every storage."""
    free, end, fat_sector, no_stream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[24:34] = struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
    header[44:76] = struct.pack("<IIIIIIII", 1, 1, 0, 4096, end, 0, end, 0)
    header[76:512] = struct.pack("<I", 0) + struct.pack("<I", free) * 108  # DIFAT: the FAT is sector 0
    fat = [fat_sector, end, 3, 4, 5, 6, 7, 8, 9, end]
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat) + struct.pack("<I", free) * (128 - len(fat))

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0"
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(encoded), kind, 1, no_stream, no_stream, child)
            + bytes(16 + 4 + 16)
            + struct.pack("<III", start, size, 0)
        )

    directory = entry("Root Entry", 5, 1, end, 0) + entry(stream, 2, no_stream, 2, 4096) + bytes(256)
    return bytes(header) + fat_bytes + directory + b"JS" * 2048


def test_hanako_is_held_as_no_converter(pipeline: Pipeline, tmp_path: Path) -> None:
    data = justsystem_container()
    assert identify_bytes(data, "企画書.jtd").file_type == FileType.ICHITARO  # the same container
    source = tmp_path / "組織図.jhd"
    source.write_bytes(data)
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.QUARANTINED
    assert verdict.type == "hanako" and verdict.reason == "unsupported-type", verdict


# ------------------------------------------------------------------ text encodings
WESTERN = "Café au lait, résumé — naïve façade.\r\nGröße: 5 €; Zürich, Ærø, señor\r\n"


def released_as_text(pipeline: Pipeline, tmp_path: Path, data: bytes) -> bytes:
    """Detected as text with no finding (no mismatch, nothing malformed), released, read back."""
    source = tmp_path / "notes.txt"
    source.write_bytes(data)
    detection = identify_bytes(data, source.name)
    assert detection.file_type == FileType.TEXT and not detection.findings
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    return Path(str(verdict.output)).read_bytes()


@pytest.mark.parametrize("codec", ["cp1252", "latin-1"])
def test_western_text_is_text(pipeline: Pipeline, tmp_path: Path, codec: str) -> None:
    sample = WESTERN if codec == "cp1252" else WESTERN.replace("—", "-").replace("€", "EUR")
    # written back as UTF-8 with a BOM: Excel and Notepad on a Japanese Windows read it right
    assert released_as_text(pipeline, tmp_path, sample.encode(codec)) == b"\xef\xbb\xbf" + sample.encode("utf-8")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("sample", ["Hello, world\r\nline two\r\n", "見積書の件\r\nよろしくお願いします。\r\n"])
def test_utf16_without_bom_is_text(pipeline: Pipeline, tmp_path: Path, codec: str, sample: str) -> None:
    released = released_as_text(pipeline, tmp_path, sample.encode(codec))
    assert released[:2] == b"\xff\xfe" and released.decode("utf-16") == sample  # with a BOM now


@pytest.mark.parametrize(
    ("text", "codec", "named"),
    [
        ("見積書の件について、よろしくお願いします。\n", "cp932", "cp932"),
        ("山田太郎,東京都千代田区\n", "cp932", "cp932"),
        ("令和8年度予算\n", "cp932", "cp932"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ,ﾄｳｷｮｳ\n", "cp932", "cp932"),
        ("見積書の件について、よろしくお願いします。\n", "euc_jp", "euc_jp"),
        ("山田太郎,東京都千代田区\n", "euc_jp", "euc_jp"),
        ("見積書の件について、よろしくお願いします。\n", "iso2022_jp", "iso2022_jp"),
        ("見積書\n", "utf-8", "utf-8"),
        ("Größe Maße Grüße\n", "cp1252", "cp1252"),
        ("Café\n", "cp1252", "cp1252"),
    ],
)
def test_decoding_japanese_and_western(text: str, codec: str, named: str) -> None:
    assert decode(text.encode(codec)) == (text, named)


def test_iso_2022_jp_text_released_readable(pipeline: Pipeline, tmp_path: Path) -> None:
    text = "会議の件\r\n"
    source = tmp_path / "jis.txt"
    source.write_bytes(text.encode("iso2022_jp"))
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert Path(verdict.output).read_bytes() == text.encode("cp932")
