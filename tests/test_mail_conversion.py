"""A top-level mail's attachments that need LibreOffice are converted inside the mail, as an
archive's members are (issue 11): the released .eml (or text bundle) carries the rebuilt
OOXML without macros; an attachment of a forwarded mail inside it is listed, not converted;
one past the mail's time budget is listed with that reason. Outputs are read back with the
email parser, zipfile, oletools and python-docx."""

from __future__ import annotations

import dataclasses
import email
import email.message
import email.policy
import io
import zipfile
from pathlib import Path

import docx
import pytest

from cdr.model import Action, FileType, Outcome, Verdict
from cdr.pipeline import Pipeline, Places
from cdr.policy import Policy
from cdr.sandbox import SandboxPool
from tests import mail_builders as mb
from tests import office_builders as ob
from tests.test_archive_conversion import broken_doc, word97_with_macros
from tests.test_office import office_active, vba_found

DOC_NAME = "古い文書.doc"
BODY = "総務課の皆様\n古い形式の文書を添付します。\n"
REPORT = "cdr-removed.txt"


@pytest.fixture(scope="module")
def macro_doc(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return word97_with_macros(tmp_path_factory.mktemp("maildoc"))


def _mail(doc: bytes) -> bytes:
    """ISO-2022-JP (CP50220) subject and body, the .doc under an RFC 2231 ISO-2022-JP name,
    and a forwarded mail that carries a .doc of its own."""
    name = "".join(f"%{b:02X}" for b in mb.cp50220(DOC_NAME))
    forwarded = (
        b"From: sato@example.jp\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="in"\r\n\r\n--in\r\n'
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\nsee attached\r\n--in\r\n"
        b'Content-Type: application/msword\r\nContent-Disposition: attachment; filename="inner.doc"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + mb._b64(broken_doc()).encode() + b"--in--\r\n"
    )
    head = (
        f"From: {mb._word('山田 太郎')} <yamada@example.jp>\r\nTo: suzuki@town.example.lg.jp\r\n"
        f"Subject: {mb._word('資料の送付')}\r\nDate: Tue, 3 Nov 2026 09:30:00 +0900\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n--mix\r\n'
        "Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        + mb.cp50220(BODY).decode("ascii").replace("\n", "\r\n")
        + "--mix\r\nContent-Type: application/msword\r\n"
        f"Content-Disposition: attachment; filename*=iso-2022-jp''{name}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + mb._b64(doc)
    )
    nested = b"--mix\r\nContent-Type: message/rfc822\r\n\r\n" + forwarded + b"\r\n"
    return head.encode("ascii") + nested + b"--mix--\r\n"


def _run(policy: Policy, places: Places, pool: SandboxPool, tmp_path: Path, data: bytes) -> Verdict:
    source = tmp_path / "資料の送付.eml"
    source.write_bytes(data)
    pipe = Pipeline(policy, places, pool)
    pipe.start()
    try:
        return pipe.process(source, source.name)
    finally:
        pipe.close()


def _parts(data: bytes) -> dict[str, bytes]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    return {part.get_filename(): part.get_payload(decode=True) for part in message.walk() if part.get_filename()}


def _report_lines(report: bytes) -> list[list[str]]:
    return [line.split("\t") for line in report.decode("utf-8").splitlines()[3:]]


def _assert_rebuilt(document: bytes) -> None:
    assert vba_found(document) is False and office_active(document) == []
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(document)).paragraphs)
    for line in ob.DOC_TEXT:
        assert line in text


@pytest.mark.slow  # LibreOffice
def test_a_legacy_attachment_is_converted_inside_the_rebuilt_mail(
    places: Places, sandbox_pool: SandboxPool, default_policy: Policy, tmp_path: Path, macro_doc: bytes
) -> None:
    verdict = _run(default_policy, places, sandbox_pool, tmp_path, _mail(macro_doc))
    assert verdict.verdict == Outcome.RELEASED, verdict
    message = email.message_from_bytes(Path(verdict.output).read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "資料の送付"
    assert BODY.splitlines()[1] in message.get_body(("plain",)).get_content()
    parts = _parts(Path(verdict.output).read_bytes())
    assert set(parts) == {"古い文書.docx", "fwd.eml"}
    _assert_rebuilt(parts["古い文書.docx"])
    assert {"what": "mail-attachments", "action": "converted", "count": 1} in verdict.actions
    # the forwarded mail's own .doc is listed in its report, not converted
    forwarded = _parts(parts["fwd.eml"])
    [line] = _report_lines(forwarded[REPORT])
    assert line[0] == "inner.doc"
    assert "is not converted inside a mail or a nested archive" in line[2]


@pytest.mark.slow  # LibreOffice
def test_a_legacy_attachment_is_converted_inside_the_text_bundle(
    places: Places, sandbox_pool: SandboxPool, default_policy: Policy, tmp_path: Path, macro_doc: bytes
) -> None:
    policy = dataclasses.replace(default_policy, actions={**default_policy.actions, FileType.EML: Action.TEXT})
    verdict = _run(policy, places, sandbox_pool, tmp_path, _mail(macro_doc))
    assert verdict.verdict == Outcome.RELEASED, verdict
    with zipfile.ZipFile(verdict.output) as bundle:
        members = {name: bundle.read(name) for name in bundle.namelist()}
    assert "古い文書.docx" in members and not [n for n in members if n.endswith(".doc")]
    _assert_rebuilt(members["古い文書.docx"])
    text = members["資料の送付.txt"].decode("utf-8-sig").splitlines()
    assert BODY.splitlines()[1] in text and "・古い文書.docx" in text


def test_an_attachment_past_the_mails_time_budget_is_listed(
    places: Places, sandbox_pool: SandboxPool, default_policy: Policy, tmp_path: Path
) -> None:
    # a budget too short to start LibreOffice at all: nothing is converted, all is said
    policy = dataclasses.replace(default_policy, limits=dataclasses.replace(default_policy.limits, wall_time=1.5))
    verdict = _run(policy, places, sandbox_pool, tmp_path, _mail(broken_doc()))
    assert verdict.verdict == Outcome.RELEASED, verdict
    parts = _parts(Path(verdict.output).read_bytes())
    assert not [n for n in parts if n.endswith((".doc", ".docx"))]
    [line] = _report_lines(parts[REPORT])
    assert line == [DOC_NAME, "処理が時間内に終わりませんでした", "timeout: not converted: the mail's time budget of 1.5s was spent"]
