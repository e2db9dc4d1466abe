"""Mail 無害化: .eml, Outlook .msg and winmail.dat rebuilt as a new .eml (or as text), each
output read back independently: the email parser on the mail, oletools and pikepdf on its
attachments, and the Japanese of names and subjects compared with what was put in."""

from __future__ import annotations

import base64
import email
import email.message
import email.policy
import io
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from oletools.olevba import VBA_Parser
from PIL import Image

from cdr.detect import identify_bytes
from cdr.mail_charset import decode_words, jis_to_cp932
from cdr.mail_eml import read_eml
from cdr.model import Action, FileType, Outcome
from cdr.pipeline import Pipeline
from cdr.policy import Limits, MailOptions, Policy
from cdr.verifiers import VerifyContext, verify_structure
from tests import mail_builders as mb
from tests.test_pdf import active_content

HTML_ACTIVE = ("<script", "onload", "<iframe", "<form", "<meta", "javascript:", "http://", "url(")


def _run(pipeline: Pipeline, tmp_path: Path, data: bytes, name: str):  # noqa: ANN202 - a Verdict
    source = tmp_path / name
    source.write_bytes(data)
    return pipeline.process(source, name)


def _run_under(policy: Policy, places, sandbox_pool, tmp_path: Path, data: bytes, name: str):  # noqa: ANN001, ANN202
    """One mail through a pipeline of its own policy (a Verdict)."""
    pipe = Pipeline(policy, places, sandbox_pool)
    pipe.start()
    try:
        return _run(pipe, tmp_path, data, name)
    finally:
        pipe.close()


def _parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def _attachments(message: email.message.EmailMessage) -> dict[str, bytes]:
    """Every named part, the report (shown inline) included."""
    return {part.get_filename(): part.get_payload(decode=True) for part in message.walk() if part.get_filename()}


def _html(message: email.message.EmailMessage) -> str:
    body = message.get_body(("html",))
    return body.get_content() if body is not None else ""


def _no_macros(docx: bytes) -> bool:
    parser = VBA_Parser("a.docx", data=docx)
    try:
        return not parser.detect_vba_macros()
    finally:
        parser.close()


def test_japanese_html_mail_is_rebuilt(pipeline: Pipeline, tmp_path: Path) -> None:
    verdict = _run(pipeline, tmp_path, mb.japanese_html_mail(), "会議.eml")
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert verdict.output.endswith("会議.eml")
    message = _parse(Path(verdict.output).read_bytes())
    assert message["Subject"] == mb.SUBJECT  # ① came as CP50220 (NEC row 13)
    assert message["From"].addresses[0].display_name == mb.SENDER
    assert message["Message-ID"] == "<20261103093000.1234@example.jp>"
    assert "Received" not in message and "X-Mailer" not in message  # by policy
    assert "attachments=4 rebuilt, 1 removed" in message["X-CDR-Sanitized"]
    assert "資料を添付します" in message.get_body(("plain",)).get_content()
    html = _html(message)
    assert "会議の案内" in html and 'href="https://example.jp/kaigi"' in html
    assert not [word for word in HTML_ACTIVE if word in html.lower()]
    [picture] = [p for p in message.walk() if p.get_content_maintype() == "image"]
    assert picture["Content-ID"] == "<logo@example.jp>" and 'src="cid:logo@example.jp"' in html
    assert Image.open(io.BytesIO(picture.get_payload(decode=True))).size == (40, 20)
    attachments = _attachments(message)
    assert set(attachments) == {"議事録.docx", "報告書.pdf", "転送：見積書.eml", "cdr-removed.txt"}
    with zipfile.ZipFile(io.BytesIO(attachments["議事録.docx"])) as docx:
        assert not [n for n in docx.namelist() if "vba" in n.lower()]
    assert _no_macros(attachments["議事録.docx"])
    assert active_content(attachments["報告書.pdf"]) == []
    report = attachments["cdr-removed.txt"].decode("utf-8").splitlines()
    assert report[0].startswith("無害化できなかったため") and report[1].startswith("These attachments")
    [line] = [line for line in report if line.startswith("setup.exe\t")]
    assert line.split("\t")[1].startswith("ポリシーで受け入れない形式です") and "blocked-type: " in line
    forwarded = _parse(attachments["転送：見積書.eml"])  # rebuilt by its own run: its program left out
    assert forwarded["Subject"] == "転送：見積書" and forwarded["X-CDR-Sanitized"]
    assert "見積書をお送りします" in forwarded.get_body(("plain",)).get_content()
    assert set(_attachments(forwarded)) == {"cdr-removed.txt"}
    assert {"what": "member:blocked-type", "action": "removed", "count": 1} in verdict.actions


def test_outlook_msg_becomes_a_rebuilt_eml(pipeline: Pipeline, tmp_path: Path) -> None:
    verdict = _run(pipeline, tmp_path, mb.outlook_msg(), "連絡.msg")
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert verdict.output.endswith("連絡.eml") and verdict.type == "msg"
    message = _parse(Path(verdict.output).read_bytes())
    assert message["Subject"] == mb.SUBJECT
    assert message["From"].addresses[0].display_name == mb.SENDER
    assert message["Date"].datetime.isoformat() == "2026-11-03T09:30:00+09:00"
    assert "資料を添付します" in message.get_body(("plain",)).get_content()
    html = _html(message)
    assert "会議の案内" in html and not [word for word in HTML_ACTIVE if word in html.lower()]
    [picture] = [p for p in message.walk() if p.get_content_maintype() == "image"]
    assert picture["Content-ID"] == "<logo@example.jp>" and 'src="cid:logo@example.jp"' in html
    attachments = _attachments(message)
    assert set(attachments) == {"議事録.docx", "転送メール.eml", "cdr-removed.txt"}
    assert _no_macros(attachments["議事録.docx"])
    assert "setup.exe\t" in attachments["cdr-removed.txt"].decode("utf-8")
    forwarded = _parse(attachments["転送メール.eml"])
    assert forwarded["Subject"] == "転送：報告書"
    inner = _attachments(forwarded)
    assert set(inner) == {mb.PDF_NAME} and active_content(inner[mb.PDF_NAME]) == []


def test_winmail_dat_attachments_are_unpacked_and_rebuilt(pipeline: Pipeline, tmp_path: Path) -> None:
    data = mb.tnef_mail({"見積書.pdf": mb.pdf_with_javascript(), "run.exe": mb.EXE})
    verdict = _run(pipeline, tmp_path, data, "tnef.eml")
    assert verdict.verdict == Outcome.RELEASED, verdict
    attachments = _attachments(_parse(Path(verdict.output).read_bytes()))
    assert set(attachments) == {"見積書.pdf", "cdr-removed.txt"}
    assert active_content(attachments["見積書.pdf"]) == []
    assert "run.exe\t" in attachments["cdr-removed.txt"].decode("utf-8")


def _bundle(verdict) -> dict[str, bytes]:  # noqa: ANN001 - a Verdict
    """The members of a mail released as text (its .txt and rebuilt attachments), by name."""
    with zipfile.ZipFile(verdict.output) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def test_mail_as_text_brings_its_attachments_rebuilt(places, sandbox_pool, default_policy: Policy, tmp_path: Path) -> None:  # noqa: ANN001
    policy = replace(default_policy, actions={**default_policy.actions, FileType.EML: Action.TEXT})
    verdict = _run_under(policy, places, sandbox_pool, tmp_path, mb.japanese_html_mail(), "会議.eml")
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert verdict.output.endswith("会議.zip")
    members = _bundle(verdict)
    assert set(members) == {"会議.txt", "議事録.docx", "報告書.pdf", "転送：見積書.zip", "part-1.png"}
    text = members["会議.txt"].decode("utf-8-sig").splitlines()
    assert text[:4] == [
        "差出人 / From: 山田 太郎 <yamada@example.jp>",
        "宛先 / To: suzuki@town.example.lg.jp",
        "日付 / Date: Tue, 3 Nov 2026 09:30:00 +0900",
        f"件名 / Subject: {mb.SUBJECT}",
    ]
    assert "詳しくは https://example.jp/kaigi をご覧ください。" in text
    assert not [word for word in (*HTML_ACTIVE, "<p", "<html") if word in "\n".join(text).lower()]
    delivered = text.index("添付ファイルは無害化して、このテキストと一緒に届けています。")
    assert text[delivered + 1].startswith("The attachments were made safe")
    assert {"・議事録.docx", "・報告書.pdf"} <= set(text[delivered + 2 :])
    withheld = text.index("次の添付ファイルは無害化できなかったため、届けていません。必要な場合は管理者にご相談ください。")
    assert text[withheld + 2].startswith("・setup.exe（ポリシーで受け入れない形式です")
    assert "setup.exe" not in members and not [n for n in members if n.endswith(".exe")]
    assert _no_macros(members["議事録.docx"])
    assert active_content(members["報告書.pdf"]) == []
    assert {"what": "member:blocked-type", "action": "removed", "count": 1} in verdict.actions


def test_links_are_defanged_by_policy(places, sandbox_pool, default_policy: Policy, tmp_path: Path) -> None:  # noqa: ANN001
    policy = replace(default_policy, mail=MailOptions(defang_links=True))
    verdict = _run_under(policy, places, sandbox_pool, tmp_path, mb.japanese_html_mail(), "会議.eml")
    assert verdict.verdict == Outcome.RELEASED, verdict
    message = _parse(Path(verdict.output).read_bytes())
    plain = message.get_body(("plain",)).get_content()
    assert "hxxps://example.jp/kaigi" in plain and "https://" not in plain
    assert "https://" not in _html(message) and "links=defanged" in message["X-CDR-Sanitized"]


@pytest.mark.parametrize(
    "builder",
    [mb.nested_multipart_bomb, mb.many_parts_bomb, lambda: mb.huge_base64_mail(3 << 20)],
    ids=["deep-nesting", "10000-parts", "huge-base64"],
)
def test_mail_bombs_end_in_quarantine(places, sandbox_pool, default_policy: Policy, tmp_path: Path, builder) -> None:  # noqa: ANN001
    policy = replace(default_policy, limits=replace(default_policy.limits, max_stream_size=1 << 20))
    verdict = _run_under(policy, places, sandbox_pool, tmp_path, builder(), "bomb.eml")
    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason == "limit-exceeded", verdict


@pytest.mark.parametrize(
    ("charset", "transfer"),
    [("shift_jis", "8bit"), ("euc-jp", "8bit"), ("utf-8", "8bit"), ("iso-2022-jp", "7bit")],
)
def test_japanese_encodings_read_without_mojibake(charset: str, transfer: str) -> None:
    body = "熊の目撃情報：学校の裏山、午後３時（至急）\n"
    data = mb.simple_mail(charset, "件名：熊の目撃", body, transfer) if charset != "iso-2022-jp" else (
        b"From: a@example.jp\r\nSubject: " + mb._word("件名：熊の目撃").encode() + b"\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=ISO-2022-JP\r\n\r\n" + mb.cp50220(body)
    )
    mail = read_eml(data, Limits())
    assert mail.header("Subject") == "件名：熊の目撃"
    assert mail.text == body


def test_rfc2047_words_split_inside_a_character_are_joined() -> None:
    # UTF-8 of 見積 cut in the middle of 積 across two encoded words, as some mailers do
    raw = "=?UTF-8?B?6KaL56k=?= =?UTF-8?B?jQ==?="
    assert decode_words(raw) == "見積"
    assert jis_to_cp932(mb.cp50220("①㈱")).decode("cp932") == "①㈱"


def test_a_mail_named_txt_is_text() -> None:
    detection = identify_bytes(mb.simple_mail("utf-8", "件名", "本文\n"), "memo.txt")
    assert detection.file_type == FileType.TEXT
    assert identify_bytes(mb.simple_mail("utf-8", "件名", "本文\n"), "memo.eml").file_type == FileType.EML


def _verify(data: bytes) -> list[str]:
    return [f.kind for f in verify_structure(FileType.EML, io.BytesIO(data), VerifyContext(Policy(), "a.eml"))]


_SANITIZED = b"From: a@example.jp\r\nSubject: x\r\nX-CDR-Sanitized: cdr\r\nMIME-Version: 1.0\r\n"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"From: a@example.jp\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\naGk=\r\n", "mail-not-sanitized"),
        (_SANITIZED + b"Received: from x\r\nContent-Type: text/plain; charset=utf-8\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\naGk=\r\n", "mail-header-not-allowed"),
        (_SANITIZED + b"Content-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n", "mail-part-encoding"),
        (_SANITIZED + b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\n'
         b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
         + base64.b64encode(b'<p onclick="x()">hi</p><img src="https://t.example/p.gif">') + b"\r\n--b--\r\n",
         "mail-html-not-allowed"),
        (_SANITIZED + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
         b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=a.exe\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(mb.EXE) + b"\r\n--b--\r\n",
         "no-verifier"),
    ],
    ids=["no-mark", "received-header", "not-base64", "active-html", "program"],
)
def test_verifier_refuses_what_a_rebuilt_mail_never_holds(data: bytes, kind: str) -> None:
    assert kind in _verify(data)


def test_the_same_mail_gives_the_same_bytes() -> None:
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.registry import sanitizer_for

    def rebuilt() -> bytes:
        out = io.BytesIO()
        ctx = Context(FileType.EML, Action.REBUILD, "会議.eml", Policy())
        sanitizer_for(FileType.EML, Action.REBUILD).sanitize(io.BytesIO(mb.japanese_html_mail()), out, ctx)
        return out.getvalue()

    first = rebuilt()
    assert first == rebuilt() and b"boundary=\"=_cdr_" in first


@pytest.mark.parametrize("html", ["sanitize", "text"])
def test_an_html_only_mail_gets_a_plain_body(html: str) -> None:
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.registry import sanitizer_for

    data = (
        b"From: a@example.jp\r\nSubject: html\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        + "<p onclick='x()'>熊が出ました</p><script>alert(1)</script>".encode()
    )
    policy = replace(Policy(), mail=MailOptions(html=html))
    out = io.BytesIO()
    sanitizer_for(FileType.EML, Action.REBUILD).sanitize(io.BytesIO(data), out, Context(FileType.EML, Action.REBUILD, "a.eml", policy))
    message = _parse(out.getvalue())
    assert message.get_body(("plain",)).get_content().strip() == "熊が出ました"
    assert (_html(message) != "") == (html == "sanitize") and "alert" not in _html(message)
    assert f"html={'sanitized' if html == 'sanitize' else 'replaced-by-text'}" in message["X-CDR-Sanitized"]
    assert verify_structure(FileType.EML, io.BytesIO(out.getvalue()), VerifyContext(policy, "a.eml")) == []


@pytest.mark.parametrize(("build", "file_type"), [(mb.japanese_html_mail, FileType.EML), (mb.outlook_msg, FileType.MSG)])
def test_inspect_finds_what_the_rebuild_leaves_out(build, file_type: FileType) -> None:  # noqa: ANN001
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.registry import sanitizer_for

    ctx = Context(file_type, Action.REBUILD, "a", Policy())
    found = {(f.kind, f.detail.split(":")[0]) for f in sanitizer_for(file_type, Action.REBUILD).inspect(io.BytesIO(build()), ctx)}
    assert ("mail-active-html", "scripts, handlers, frames, forms or remote pictures") in found
    assert ("vba-macros", mb.DOCM_NAME) in found and ("blocked-member", "setup.exe (executable)") in found
    assert {kind for kind, _ in found} >= {"javascript", "open-action"}  # the PDF, also inside the attached mail


def test_verifier_refuses_raw_eight_bit_bytes() -> None:
    data = _SANITIZED + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n熊".encode()
    assert _verify(data) == ["mail-bytes"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"Message-ID: <20261103.123\xef\xbe\x8a@example.jp>\r\n", "released without its Message-ID"),
        (b"Content-Disposition: attachment; filename*=iso-2022-jp''%1B%24B%25\r\n", "read or refused"),
    ],
    ids=["non-ascii-message-id", "truncated-rfc2231-name"],
)
def test_headers_the_library_chokes_on_give_no_traceback(header: bytes, expected: str) -> None:
    """Found by mutating the builders' mails: each raised from inside the email library."""
    from cdr.errors import SanitizeError
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.registry import sanitizer_for

    data = b"From: a@example.jp\r\nSubject: x\r\n" + header + b"Content-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n"
    out = io.BytesIO()
    try:
        sanitizer_for(FileType.EML, Action.REBUILD).sanitize(io.BytesIO(data), out, Context(FileType.EML, Action.REBUILD, "a.eml", Policy()))
    except SanitizeError as exc:
        assert expected == "read or refused" and exc.reason == "malformed"
        return
    assert "Message-ID" not in _parse(out.getvalue()) and _verify(out.getvalue()) == []


def test_strict_policy_turns_an_outlook_mail_into_defanged_text(places, sandbox_pool, tmp_path: Path) -> None:  # noqa: ANN001
    from cdr.policy import load_policy

    strict = load_policy(Path(__file__).resolve().parent.parent / "policies" / "strict.yaml")
    verdict = _run_under(strict, places, sandbox_pool, tmp_path, mb.outlook_msg(), "連絡.msg")
    assert verdict.verdict == Outcome.RELEASED, verdict
    members = _bundle(verdict)
    text = members["連絡.txt"].decode("utf-8-sig").splitlines()
    assert verdict.output.endswith("連絡.zip") and "日付 / Date: Tue, 03 Nov 2026 09:30:00 +0900" in text
    assert "詳しくは hxxps://example.jp/kaigi をご覧ください。" in text and "・転送メール.zip" in text
    assert "転送メール.zip" in members and "setup.exe" not in members
    assert [line for line in text if line.startswith("・setup.exe（")]


def test_an_attachment_cannot_pose_as_the_mail_text() -> None:
    """An attachment named like the text the appliance writes gets another name in the ZIP,
    and the ZIP holds the appliance's text under the mail's name."""
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.registry import sanitizer_for

    data = (
        b'From: a@example.jp\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xe6\x9c\xac\xe6\x96\x87\r\n"
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename=memo.txt\r\n\r\n"
        b"forged headers\r\n--b--\r\n"
    )
    out = io.BytesIO()
    ctx = Context(FileType.EML, Action.TEXT, "memo.eml", Policy())
    result = sanitizer_for(FileType.EML, Action.TEXT).sanitize(io.BytesIO(data), out, ctx)
    assert result.output_type == FileType.ZIP
    with zipfile.ZipFile(out) as bundle:
        names = bundle.namelist()
        ours = bundle.read("memo.txt").decode("utf-8-sig")
        [theirs] = [n for n in names if n != "memo.txt"]
        assert bundle.read(theirs).decode("utf-8-sig").strip() == "forged headers"
    assert names[0] == "memo.txt" and theirs.endswith(".txt")
    assert "本文" in ours and f"・{theirs}" in ours.splitlines()


@pytest.mark.parametrize("continued", [False, True], ids=["one-segment", "continued"])
def test_an_rfc2231_name_in_outlooks_iso_2022_jp_keeps_its_nec_characters(continued: bool) -> None:
    """Outlook writes ① in an ISO-2022-JP file name as JIS row 13 (CP50221); Python's codec
    does not know it, and the email library then gave no name at all (part-1.doc)."""
    import urllib.parse

    quoted = urllib.parse.quote(b"\x1b$B-!;qNA\x1b(B.doc")  # ①資料.doc
    cut = quoted.index("%3B")  # between two whole escapes, as a mailer folds it
    name = (
        f"filename*0*=iso-2022-jp''{quoted[:cut]};\r\n filename*1*={quoted[cut:]}"
        if continued
        else f"filename*=iso-2022-jp''{quoted}"
    )
    raw = (
        "From: a@example.jp\r\nTo: b@example.jp\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
        f"--XX\r\nContent-Type: application/msword\r\nContent-Disposition: attachment;\r\n {name}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--XX--\r\n"
    ).encode()
    mail = read_eml(raw, Limits())
    assert [part.name for part in mail.parts if part.name.endswith(".doc")] == ["①資料.doc"]
