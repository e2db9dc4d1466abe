"""The verifiers accept only what they know (DESIGN.md invariant 7): each hand-made output
below holds one thing outside the allow-list and must be reported; benign outputs pass."""

from __future__ import annotations

import ast
import io
import zipfile
from pathlib import Path

import pytest

from cdr.model import FileType
from cdr.policy import Policy
from cdr.verifiers import VerifyContext, verify_structure

ROOT = Path(__file__).resolve().parent.parent


def _kinds(file_type: FileType, data: bytes, name: str, policy: Policy) -> list[str]:
    return [f.kind for f in verify_structure(file_type, io.BytesIO(data), VerifyContext(policy, name))]


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    (
        (b"a,b\r\n=1+1,2\r\n", "x.csv", "csv-live-cell"),
        ("a,b\r\n \u3000＝SUM(1),2\r\n".encode(), "x.csv", "csv-live-cell"),
        (b"a\t=cmd|' /C calc'!A0\r\n", "x.tsv", "csv-live-cell"),
        (b"sep=;\r\na;b\r\n", "x.csv", "csv-delimiter-directive"),
        ("note \u202egpj.exe\n".encode(), "x.txt", "text-character-not-allowed"),
        (b"ok \x1b[2J cleared\n", "x.txt", "text-character-not-allowed"),
        ("ok \u0085 next\n".encode(), "x.txt", "text-character-not-allowed"),
        (b"\xff\xfe\x00\xd8", "x.txt", "text-encoding-not-allowed"),
    ),
)
def test_text_outside_the_allow_list_is_reported(
    default_policy: Policy, data: bytes, name: str, kind: str
) -> None:
    assert kind in _kinds(FileType.CSV, data, name, default_policy)


@pytest.mark.parametrize(
    ("data", "name"),
    (
        ("名前,金額\r\n'=cmd|' /C calc'!A0,-1200\r\n山田, +3\r\n".encode("cp932"), "x.csv"),
        ("外字\ue000と絵文字👨\u200d👩 soft\u00adhyphen\n".encode(), "x.txt"),
        (b"a,=1+1\r\n", "x.tsv"),  # Excel splits a .tsv by tab: one text cell
    ),
)
def test_benign_text_passes(default_policy: Policy, data: bytes, name: str) -> None:
    assert _kinds(FileType.TEXT, data, name, default_policy) == []


def _zip(members: dict[str, bytes], comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.comment = comment
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("members", "kind"),
    (
        ({"../evil.txt": b"x"}, "archive-member-name"),
        ({"/etc/cron.d/x.txt": b"x"}, "archive-member-name"),
        ({"a\u202etxt.exe": b"hello"}, "archive-member-name"),
        ({"run.txt": b"MZ\x90\x00" + b"\x00" * 200}, "no-verifier"),
        ({"list.csv": b"a,=1+1\r\n"}, "csv-live-cell"),
        ({"inner.zip": _zip({"x.csv": b"=2+2,1\r\n"})}, "csv-live-cell"),
    ),
)
def test_archive_members_are_held_to_their_own_allow_list(
    default_policy: Policy, members: dict[str, bytes], kind: str
) -> None:
    assert kind in _kinds(FileType.ZIP, _zip(members), "a.zip", default_policy)


def test_archive_comment_is_reported(default_policy: Policy) -> None:
    data = _zip({"a.txt": b"hello\n"}, comment=b"powershell -enc AAAA")
    assert "archive-comment" in _kinds(FileType.ZIP, data, "a.zip", default_policy)


def test_benign_archive_passes(default_policy: Policy) -> None:
    data = _zip({"報告/memo.txt": "熊の目撃情報\n".encode(), "list.csv": b"a,1\r\n"})
    assert _kinds(FileType.ZIP, data, "a.zip", default_policy) == []


def test_a_type_without_a_verifier_is_never_clean(default_policy: Policy) -> None:
    assert _kinds(FileType.SVG, b"<svg/>", "a.svg", default_policy) == ["no-verifier"]


def test_verifiers_share_no_code_with_the_sanitizers() -> None:
    """A blind spot shared by sanitizer and verifier is the worst bug: no imports across."""
    for path in sorted((ROOT / "cdr" / "verifiers").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            assert not any(n.startswith("cdr.sanitizers") for n in names), f"{path.name} imports {names}"
