"""The fixes for atkmail's crossings, one unit at a time (the attack run in
tests/test_attacks_mail_archive.py proves them end to end): names that climb on another code
page, long member paths, mailto: links that attach files, files and share paths hidden in a
plain body, and a mail's text taken for HTML by the archive verifier."""

from __future__ import annotations

import base64
import io
from pathlib import PurePosixPath

from cdr.htmlclean import clean_html
from cdr.model import FileType
from cdr.names import capped, folded, safe_component, safe_relative
from cdr.policy import Policy
from cdr.text_payloads import ENCODED_FILE_REMOVED, defang_shares, neutralise_body, remove_encoded_files
from cdr.verifiers import VerifyContext, verify_structure
from cdr.zipwriter import write_zip


def test_a_name_that_climbs_on_another_code_page_is_judged_as_it_climbs() -> None:
    assert folded("..¥..¥Startup¥run.txt") == "../../Startup/run.txt"  # CP932 best fit: ¥ is 0x5C
    assert folded("．．／．．／x.txt") == "../../x.txt"  # NFKC
    assert folded("‥/evil.txt") == "../evil.txt"
    assert folded("..∕..∕evil.txt") == "../../evil.txt"  # best fit, although NFKC keeps U+2215
    assert folded("令和6年度 予算書（案）.xlsx") == "令和6年度 予算書(案).xlsx"


def test_look_alike_separators_and_dots_leave_a_released_name() -> None:
    assert safe_component("..¥..¥Startup¥run.txt") == "_.._Startup_run.txt"
    assert safe_component("．．／．．／x.txt") == "______x.txt"
    assert safe_component("₩x＼y﹨z.txt") == "_x_y_z.txt"
    assert safe_relative("‥/evil.txt") == PurePosixPath("_/evil.txt")
    assert safe_component("令和6年度 予算書（案）.xlsx") == "令和6年度 予算書（案）.xlsx"  # the rest stays


def test_a_long_member_path_is_capped_and_stays_distinct() -> None:
    deep = capped(safe_relative("d/" * 150 + "x.txt"))
    other = capped(safe_relative("d/" * 149 + "e/x.txt"))
    assert len(str(deep)) <= 200 and deep.name == "x.txt" and deep != other
    long_name = capped(PurePosixPath("a" * 150 + ".txt"))
    assert len(long_name.name) == 100 and long_name.suffix == ".txt"
    assert capped(PurePosixPath("a" * 150 + ".txt")) != capped(PurePosixPath("a" * 149 + "b.txt"))
    assert capped(PurePosixPath("soumu/会議.txt")) == PurePosixPath("soumu/会議.txt")


def test_a_mailto_link_keeps_only_a_new_mail() -> None:
    page = (
        '<a href="mailto:x@example.jp?attach=\\\\10.66.66.66\\share\\x&amp;body=y">m</a>'
        '<a href="mailto:x@example.jp?ATT%41CH=/etc/passwd">p</a>'
        '<a href="mailto:x@example.jp?body=file:///C:/x">f</a>'
        '<a href="mailto:x@example.jp?subject=%E4%BC%9A%E8%AD%B0&amp;cc=y@example.jp">ok</a>'
    )
    cleaned = clean_html(page, link_schemes=["mailto"], defang=False)
    assert cleaned.count("href=") == 1
    assert 'href="mailto:x@example.jp?subject=%E4%BC%9A%E8%AD%B0&amp;cc=y@example.jp"' in cleaned


def test_the_html_verifier_refuses_a_mailto_that_attaches(default_policy: Policy) -> None:
    head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8">\n<title>t</title></head><body>'

    def kinds(link: str) -> list[str]:
        data = f'{head}<a href="{link}">a</a></body></html>'.encode()
        return [f.kind for f in verify_structure(FileType.HTML, io.BytesIO(data), VerifyContext(default_policy))]

    assert kinds("mailto:x@example.jp?attach=/etc/passwd") == ["html-attribute-value"]
    assert kinds("mailto:x@example.jp?subject=a&amp;file=b") == ["html-attribute-value"]
    assert kinds("mailto:\\\\host\\share") == ["html-attribute-value"]
    assert kinds("mailto:x@example.jp?subject=a&amp;body=b") == []


def test_an_encoded_file_in_a_plain_body_is_replaced_by_a_line_that_says_so() -> None:
    body = "ご確認ください。\r\nbegin 644 run.bat\r\nM86)C\r\n`\r\nend\r\n以上です。\r\n"
    text, removed = remove_encoded_files(body)
    assert text == "ご確認ください。\r\n" + ENCODED_FILE_REMOVED.replace("\n", "\r\n") + "以上です。\r\n"
    assert removed == 1
    assert "（添付ファイルらしき符号化データを取り除きました）" in ENCODED_FILE_REMOVED
    yenc = "=ybegin line=128 size=3 name=a.exe\nabc\n=yend size=3\nafter\n"
    assert remove_encoded_files(yenc) == (ENCODED_FILE_REMOVED + "after\n", 1)
    binhex = "(This file must be converted with BinHex 4.0)\n\n:abc\ndef:\nafter\n"
    assert remove_encoded_files(binhex) == (ENCODED_FILE_REMOVED + "after\n", 1)
    unended = "begin 644 x.exe\nM86)C\nmore\n"  # no end line: to the end of the text
    assert remove_encoded_files(unended) == (ENCODED_FILE_REMOVED, 1)
    assert remove_encoded_files("begin 会議は10時から\n") == ("begin 会議は10時から\n", 0)


def test_share_paths_and_file_addresses_are_written_so_no_client_links_them() -> None:
    text, count = defang_shares("資料は \\\\10.66.66.66\\share\\資料.docx と <file://host/share/x.exe> です")
    assert text == "資料は ＼＼10.66.66.66\\share\\資料.docx と <file[:]//host/share/x.exe> です"
    assert count == 2
    assert defang_shares("file: 報告書 C:\\Users\\x") == ("file: 報告書 C:\\Users\\x", 0)
    assert neutralise_body("\\\\h\\s\nbegin 644 a\nend\n")[1:] == (1, 1)


def test_a_mail_text_that_quotes_markup_is_verified_as_text(default_policy: Policy) -> None:
    """A .txt member is opened by a text editor: libmagic's "HTML" for a subject holding
    <script> does not make it a page; a .txt that begins as a page is still refused."""

    def kinds(text: bytes) -> list[str]:
        out = io.BytesIO()
        write_zip(out, [("mail.txt", text)])
        found = verify_structure(FileType.ZIP, io.BytesIO(out.getvalue()), VerifyContext(default_policy, "m.zip"))
        return [f.kind for f in found]

    quoted = "\ufeff件名 / Subject: 件名 <script>alert(1)</script>\r\n\r\n本文\r\n".encode()
    assert kinds(quoted) == []
    assert kinds(b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>") == ["html-prologue"]
    assert kinds("件名 <script>\x1b[31m</script>\r\n".encode()) == ["text-character-not-allowed"]


_REBUILT = b"From: a@example.jp\r\nSubject: x\r\nX-CDR-Sanitized: cdr\r\nMIME-Version: 1.0\r\n"


def _mail_findings(plain: bytes, html: bytes = b"<p>x</p>") -> list[str]:
    data = (
        _REBUILT + b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(plain) + b"\r\n--b\r\n"
        b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(html) + b"\r\n--b--\r\n"
    )
    return [f.kind for f in verify_structure(FileType.EML, io.BytesIO(data), VerifyContext(Policy(), "a.eml"))]


def test_the_mail_verifier_refuses_what_a_client_would_decode_or_link() -> None:
    assert _mail_findings("本文です\r\n".encode()) == []
    assert _mail_findings(b"x\r\nbegin 644 run.bat\r\nM86)C\r\nend\r\n") == ["mail-text-encoded-file"]
    assert _mail_findings(b"=ybegin line=128 size=3 name=a.exe\r\n") == ["mail-text-encoded-file"]
    assert _mail_findings(b"see \\\\10.66.66.66\\share\\x\r\n") == ["mail-text-share-link"]
    assert _mail_findings(b"see <file://host/x.exe>\r\n") == ["mail-text-share-link"]
    assert _mail_findings("see ＼＼10.66.66.66\\share and file[:]//host/x\r\n".encode()) == []  # as cdr writes them
    assert _mail_findings(b"x", b'<a href="mailto:x@example.jp?attach=/etc/passwd">m</a>') == ["mail-html-not-allowed"]
    assert _mail_findings(b"x", b'<a href="mailto:x@example.jp?subject=a&amp;body=b">m</a>') == []
