"""7z, RAR, tar (plain, gz, bz2, xz), LZH and CAB: every member rebuilt, the archive repacked
as a ZIP with UTF-8 names, the same limits as ZIP, encrypted 7z unlocked by the administrator.

Each output is re-inspected here without the appliance: zipfile lists the names, oletools
looks for macros in the rebuilt document, the PDF's active content is walked by pikepdf.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from oletools.olevba import VBA_Parser

from cdr.detect import identify_bytes
from cdr.model import Action, FileType, Outcome
from cdr.pipeline import Pipeline
from cdr.policy import Policy
from cdr.sanitizers.base import Context
from cdr.sanitizers.registry import sanitizer_for
from tests import archive_builders as ab
from tests.office_builders import docm_with_vba
from tests.test_archive import _pdf_with_javascript
from tests.test_cli import cdr, quarantine_then_unlock
from tests.test_pdf import active_content

EXE = b"MZ\x90\x00" + b"\x00" * 300


def hostile_members() -> ab.Members:
    return [
        ("見積書.docm", docm_with_vba()),
        ("資料/報告書.pdf", _pdf_with_javascript()),
        ("setup.exe", EXE),
    ]


BUILDERS: dict[str, tuple[str, Callable[[ab.Members], bytes]]] = {
    "tar": ("書類.tar", ab.tar_archive),
    "tar-cp932": ("書類.tar", lambda m: ab.tar_archive(m, encoding="cp932")),
    "tar.gz": ("書類.tar.gz", lambda m: ab.tar_archive(m, "w:gz")),
    "tgz": ("書類.tgz", lambda m: ab.tar_archive(m, "w:gz")),
    "tar.bz2": ("書類.tar.bz2", lambda m: ab.tar_archive(m, "w:bz2")),
    "tar.xz": ("書類.tar.xz", lambda m: ab.tar_archive(m, "w:xz")),
    "7z": ("書類.7z", ab.seven_zip),
    "lzh": ("書類.lzh", ab.lzh_archive),
    "lzh-utf8": ("書類.lzh", lambda m: ab.lzh_archive(m, "utf-8")),
    "cab": ("書類.cab", ab.cab_archive),
    "rar5": ("書類.rar", ab.rar5_archive),
}
OUTPUT_NAMES = {"tar": "書類.zip", "tar.gz": "書類.tar.zip", "tgz": "書類.zip", "tar.bz2": "書類.tar.zip"}


def _run(pipeline: Pipeline, tmp_path: Path, data: bytes, name: str):
    source = tmp_path / name
    source.write_bytes(data)
    return pipeline.process(source, name)


def _removed(archive: zipfile.ZipFile) -> dict[str, str]:
    """cdr-removed.txt as {member name: English reason and detail}."""
    lines = archive.read("cdr-removed.txt").decode("utf-8-sig").splitlines()
    assert lines[0].startswith("無害化できなかったため") and lines[1].startswith("These members")
    return {line.split("\t")[0]: line.split("\t")[2] for line in lines[2:]}


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_hostile_members_are_rebuilt_and_named_in_japanese(pipeline: Pipeline, tmp_path: Path, kind: str) -> None:
    name, build = BUILDERS[kind]
    verdict = _run(pipeline, tmp_path, build(hostile_members()), name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert Path(verdict.output).suffix == ".zip"
    if kind in OUTPUT_NAMES:
        assert Path(verdict.output).name == OUTPUT_NAMES[kind]
    with zipfile.ZipFile(verdict.output) as archive:
        assert archive.namelist() == ["見積書.docx", "資料/報告書.pdf", "cdr-removed.txt"]
        assert all(info.flag_bits & 0x800 for info in archive.infolist() if not info.filename.isascii())
        document = archive.read("見積書.docx")
        with zipfile.ZipFile(io.BytesIO(document)) as package:
            assert not [n for n in package.namelist() if "vba" in n.lower()]
        assert not VBA_Parser("見積書.docx", data=document).detect_vba_macros()
        assert active_content(archive.read("資料/報告書.pdf")) == []
        assert _removed(archive)["setup.exe"].startswith("blocked-type: ")
    assert {"what": "member:blocked-type", "action": "removed", "count": 1} in verdict.actions


def _without_utf8_flag(data: bytes) -> bytes:
    """What Linux zip and macOS write: UTF-8 name bytes, general-purpose bit 11 clear."""
    out = bytearray(data)
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = out.find(signature)
        while at >= 0:
            (flags,) = struct.unpack_from("<H", out, at + flag_at)
            struct.pack_into("<H", out, at + flag_at, flags & ~0x800)
            at = out.find(signature, at + 4)
    return bytes(out)


def test_utf8_names_without_the_flag_are_read_as_utf8(pipeline: Pipeline, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("見積書.txt", "お見積り 1,200,000円\n".encode())
        archive.writestr("ｶﾀｶﾅ/報告.txt", "報告\n".encode())
    data = _without_utf8_flag(buffer.getvalue())
    assert not any(i.flag_bits & 0x800 for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    verdict = _run(pipeline, tmp_path, data, "linux.zip")
    assert verdict.verdict == Outcome.RELEASED, verdict
    with zipfile.ZipFile(verdict.output) as archive:
        assert archive.namelist() == ["見積書.txt", "ｶﾀｶﾅ/報告.txt"]  # not 隕狗ｩ肴嶌.txt


def test_links_devices_and_escaping_names_are_refused(pipeline: Pipeline, tmp_path: Path) -> None:
    members = [("ok.txt", b"hello\n"), ("../../etc/cron.d/evil", b"x\n"), ("/etc/passwd2", b"x\n")]
    verdict = _run(pipeline, tmp_path, ab.tar_archive(members, links=True), "links.tar")
    assert verdict.verdict == Outcome.RELEASED, verdict
    with zipfile.ZipFile(verdict.output) as archive:
        assert archive.namelist() == ["ok.txt", "cdr-removed.txt"]
        removed = _removed(archive)
    assert removed["../../etc/cron.d/evil"].startswith("malformed: ")
    assert removed["/etc/passwd2"].startswith("malformed: ")
    for link in ("passwd", "hard", "null"):
        assert removed[link].startswith("not-a-regular-file: "), removed


def test_a_single_compressed_file_is_one_member(pipeline: Pipeline, tmp_path: Path) -> None:
    verdict = _run(pipeline, tmp_path, gzip.compress("熊の出没情報\n".encode()), "熊.txt.gz")
    assert verdict.verdict == Outcome.RELEASED, verdict
    with zipfile.ZipFile(verdict.output) as archive:
        assert archive.namelist() == ["熊.txt"]
        assert archive.read("熊.txt").decode("utf-8") == "熊の出没情報\n"


# ------------------------------------------------------------------------------ bombs
ZEROS = [("zeros.txt", b"\0" * (40 << 20))]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("ratio.tar.gz", ab.tar_archive(ZEROS, "w:gz")),
        ("ratio.tar.xz", ab.tar_archive(ZEROS, "w:xz")),
        ("ratio.7z", ab.seven_zip(ZEROS)),
        ("ratio.txt.gz", gzip.compress(b"A" * (40 << 20))),
        ("many.tar", ab.tar_archive([(f"{n}.txt", b"x") for n in range(1001)])),
        ("many.lzh", ab.lzh_archive([(f"{n}.txt", b"x") for n in range(1001)])),
        ("many.cab", ab.cab_archive([(f"{n}.txt", b"x") for n in range(1001)])),
        ("many.rar", ab.rar5_archive([(f"{n}.txt", b"x") for n in range(1001)])),
        ("huge.lzh", ab.lzh_archive([("a.txt", b"x")], declared_size=3 << 30)),
        ("huge.rar", ab.rar5_archive([("a.txt", b"x")], declared_size=3 << 30)),
        ("ratio.tar.bz2", ab.tar_archive(ZEROS, "w:bz2")),
    ],
)
def test_bombs_end_in_quarantine(pipeline: Pipeline, tmp_path: Path, name: str, data: bytes) -> None:
    verdict = _run(pipeline, tmp_path, data, name)
    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason == "limit-exceeded", verdict


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("huge.cab", ab.cab_archive([("a.txt", b"x")], declared_size=3 << 30), "Invalid CAB header"),
        (
            "huge.tar",
            ab.with_declared_size(ab.tar_archive([("a.txt", b"x" * 512)]), 3 << 30),
            "Truncated input file (needed 3221225472 bytes",
        ),
    ],
)
def test_sizes_larger_than_the_archive_are_malformed(
    pipeline: Pipeline, tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    """libarchive itself refuses a size the archive cannot hold, before cdr's limits are asked."""
    verdict = _run(pipeline, tmp_path, data, name)
    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason == "malformed", verdict
    assert message in verdict.message


def test_archives_nested_past_the_depth_quarantine_the_archive(pipeline: Pipeline, tmp_path: Path) -> None:
    inner = ab.seven_zip([("a.txt", b"hello\n")])
    for level in range(2):  # deep.7z > 1.tar > 1.7z > 0.tar > 0.7z > a.txt
        inner = ab.tar_archive([(f"{level}.7z", inner)])
        inner = ab.seven_zip([(f"{level}.tar", inner)])
    verdict = _run(pipeline, tmp_path, inner, "deep.7z")
    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason == "limit-exceeded", verdict
    assert verdict.message == "archives nested deeper than 3"


# ------------------------------------------------------------------------------ passwords
@pytest.mark.parametrize("header_encryption", [False, True])
def test_encrypted_7z_is_quarantined_then_unlocked(tmp_path: Path, header_encryption: bool) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    data = ab.seven_zip(hostile_members(), password="Kuma-2024", header_encryption=header_encryption)
    (inbox / "請求書.7z").write_bytes(data)
    quarantine_then_unlock(tmp_path, inbox, "Kuma-2024")
    with zipfile.ZipFile(tmp_path / "o" / "請求書.zip") as archive:
        assert archive.namelist() == ["見積書.docx", "資料/報告書.pdf", "cdr-removed.txt"]
        assert not any(info.flag_bits & 0x1 for info in archive.infolist())
        assert active_content(archive.read("資料/報告書.pdf")) == []
        assert not VBA_Parser("x.docx", data=archive.read("見積書.docx")).detect_vba_macros()


def test_rar4_members_are_rebuilt(pipeline: Pipeline, tmp_path: Path) -> None:
    members = [("quote.docm", docm_with_vba()), ("report.pdf", _pdf_with_javascript()), ("setup.exe", EXE)]
    verdict = _run(pipeline, tmp_path, ab.rar4_archive(members), "old.rar")
    assert verdict.verdict == Outcome.RELEASED, verdict
    with zipfile.ZipFile(verdict.output) as archive:
        assert archive.namelist() == ["quote.docx", "report.pdf", "cdr-removed.txt"]
        assert active_content(archive.read("report.pdf")) == []
        assert not VBA_Parser("quote.docx", data=archive.read("quote.docx")).detect_vba_macros()


def test_an_encrypted_rar_is_held_and_says_it_cannot_be_unlocked(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "見積.rar").write_bytes(ab.rar4_archive([("quote.pdf", _pdf_with_javascript())], password_flag=True))
    common = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl")
    line = json.loads(cdr("sanitize", inbox, "--out", tmp_path / "o", "--json", *common).stdout)
    assert line["verdict"] == "quarantined" and line["reason"] == "encrypted", line
    assert "no free library decrypts RAR here; ask the sender for a ZIP or 7z" in line["message"], line
    unlocked = cdr("quarantine", "unlock", line["quarantine_id"], *common, "--outbox", tmp_path / "o", stdin="pw\n")
    assert unlocked.returncode == 1 and "[encrypted]" in unlocked.stdout, unlocked.stdout + unlocked.stderr
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").rglob("*.zip"))


def test_scan_names_what_a_7z_holds(tmp_path: Path) -> None:
    source = tmp_path / "書類.7z"
    source.write_bytes(ab.seven_zip(hostile_members()))
    report = json.loads(cdr("scan", source, "--json").stdout)
    found = {(f["kind"], f["detail"].split(":")[0]) for f in report["findings"]}
    assert ("blocked-member", "setup.exe (executable)") in found, report
    assert any(kind.startswith("vba") and name == "見積書.docm" for kind, name in found), report


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (ab.tar_archive, FileType.TAR),
        (ab.lzh_archive, FileType.LZH),
        (ab.cab_archive, FileType.CAB),
        (ab.rar4_archive, FileType.RAR),
        (ab.rar5_archive, FileType.RAR),
    ],
)
def test_a_stored_archive_holding_a_pdf_first_is_an_archive(
    build: Callable[[ab.Members], bytes], expected: FileType
) -> None:
    """"%PDF-" within the first 1024 bytes makes a PDF for readers; the archive's own
    signature is judged first, so the PDF is rebuilt as a member, not the archive as a PDF."""
    data = build([("a.pdf", _pdf_with_javascript())])
    assert b"%PDF-" in data[:1024]
    assert identify_bytes(data, "a.bin").file_type == expected


def test_the_same_members_give_the_same_zip() -> None:
    """Dates, owners and the compressor's own header do not reach the output (the tar's gzip
    header carries its own time): the same members give the same bytes, whatever the format."""
    members = [("見積書.txt", "お見積り\n".encode()), ("a/b.csv", b"a,b\n1,2\n")]
    outputs = set()
    for file_type, data in (
        (FileType.GZIP, ab.tar_archive(members, "w:gz")),
        (FileType.GZIP, gzip.compress(ab.tar_archive(members), mtime=1)),
        (FileType.SEVEN_ZIP, ab.seven_zip(members)),
        (FileType.LZH, ab.lzh_archive(members)),
        (FileType.CAB, ab.cab_archive(members)),
    ):
        out = io.BytesIO()
        ctx = Context(file_type, Action.REBUILD, "x", Policy())
        sanitizer_for(file_type, Action.REBUILD).sanitize(io.BytesIO(data), out, ctx)
        outputs.add(out.getvalue())
    assert len(outputs) == 1
    assert zipfile.ZipFile(io.BytesIO(outputs.pop())).namelist() == ["見積書.txt", "a/b.csv"]
