"""Two crossings found by tests/test_attacks_archives_mail.py, each closed in the rebuild and
held by the verifier on its own: a folder named like a shell junction, a share path in the
text of an HTML mail body."""

from __future__ import annotations

import base64
import io

import pytest

from cdr.model import FileType
from cdr.names import safe_relative
from cdr.policy import load_policy
from cdr.verifiers import VerifyContext, verify_structure
from tests.conftest import ROOT

POLICY = load_policy(ROOT / "policies" / "default.yaml")


@pytest.mark.parametrize(
    "name",
    ["設定.{21EC2020-3AEA-1069-A2DD-08002B30309D}/readme.txt", "a.{645ff040-5081-101b-9f08-00aa002f954e} /b.txt"],
)
def test_no_folder_keeps_a_shell_junction_ending(name: str) -> None:
    """Explorer opens a folder named "x.{CLSID}" as that shell object and hides the ending."""
    folder = safe_relative(name).parts[0]
    assert ".{" not in folder and folder.endswith("}")


def _mail(html: str) -> bytes:
    """A mail in the shape the rebuild writes (ASCII, every body base64, marked sanitized)."""

    def body(text: str) -> str:
        return base64.encodebytes(text.encode("utf-8")).decode().replace("\n", "\r\n")

    return (
        "From: a@example.jp\r\nTo: b@example.jp\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
        "X-CDR-Sanitized: cdr\r\n"
        'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{body('hello')}"
        "--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{body(html)}--b--\r\n"
    ).encode()


@pytest.mark.parametrize(
    "html",
    [
        "<p>\\\\198.51.100.7\\share\\資料.xlsx</p>",
        "<p>\\<b></b>\\198.51.100.7\\share</p>",  # split by a tag: a reader sees one path
        "<p>&#92;&#92;host\\share</p>",
        "<p>file://host/share/a.xlsx</p>",
    ],
)
def test_the_mail_verifier_reads_share_paths_in_the_html_text(html: str) -> None:
    ctx = VerifyContext(POLICY, "m.eml")
    kinds = {f.kind for f in verify_structure(FileType.EML, io.BytesIO(_mail(html)), ctx)}
    assert "mail-text-share-link" in kinds


def test_a_plain_html_body_passes() -> None:
    ctx = VerifyContext(POLICY, "m.eml")
    assert verify_structure(FileType.EML, io.BytesIO(_mail("<p>資料は共有フォルダにあります</p>")), ctx) == []
