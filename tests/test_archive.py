"""ZIP archives: every member rebuilt by its own sanitizer, what cannot be made safe left
out and listed, PPAP archives unlocked by the administrator."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from pathlib import Path

import pikepdf
import pytest
import pyzipper
from PIL import Image

from cdr.model import Outcome
from cdr.pipeline import Pipeline
from tests import builders
from tests.test_cli import quarantine_then_unlock
from tests.test_pdf import active_content

JAPANESE_NAME = "見積書.txt"


def _pdf_with_javascript() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.OpenAction = pdf.make_indirect(
        pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    )
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _with_cp932_name(data: bytes, placeholder: str, real: str) -> bytes:
    """Japanese Windows writes member names in CP932 without the UTF-8 flag."""
    encoded = real.encode("cp932")
    assert len(encoded) == len(placeholder)
    return data.replace(placeholder.encode("ascii"), encoded)


def mixed_archive() -> bytes:
    inner = _zip({"inner/figure.png": builders.simple("PNG", (50, 40))})
    placeholder = "X" * len(JAPANESE_NAME.encode("cp932"))
    data = _zip(
        {
            "photos/bear.jpg": builders.jpeg_with_gps_and_trailer(),
            "report.pdf": _pdf_with_javascript(),
            "list.csv": builders.SJIS_CSV,
            "setup.exe": b"MZ\x90\x00" + b"\x00" * 300,
            "nested.zip": inner,
            placeholder: "お見積り 1,200,000円\n".encode("cp932"),
        }
    )
    return _with_cp932_name(data, placeholder, JAPANESE_NAME)


def _run(pipeline: Pipeline, tmp_path: Path, data: bytes, name: str):
    source = tmp_path / name
    source.write_bytes(data)
    return pipeline.process(source, name)


def test_members_are_rebuilt_and_the_rest_listed(pipeline: Pipeline, tmp_path: Path) -> None:
    verdict = _run(pipeline, tmp_path, mixed_archive(), "attachments.zip")
    assert verdict.verdict == Outcome.RELEASED, verdict
    with zipfile.ZipFile(verdict.output) as archive:
        names = set(archive.namelist())
        assert {
            "photos/bear.jpg",
            "report.pdf",
            "list.csv",
            "nested.zip",
            JAPANESE_NAME,
            "cdr-removed.txt",
        } == names
        photo = Image.open(io.BytesIO(archive.read("photos/bear.jpg")))
        assert photo.size == (640, 480) and not photo.getexif()
        assert active_content(archive.read("report.pdf")) == []
        assert "'=cmd|' /C calc'!A0" in archive.read("list.csv").decode("cp932")
        assert "1,200,000円" in archive.read(JAPANESE_NAME).decode("cp932")
        removed = archive.read("cdr-removed.txt").decode("utf-8-sig").splitlines()
        assert removed[0].startswith("無害化できなかったため") and removed[1].startswith("These members")
        [line] = [line for line in removed if line.startswith("setup.exe\t")]
        name, japanese, english = line.split("\t")  # every line in Japanese and English
        assert japanese.startswith("ポリシーで受け入れない形式です") and english.startswith("blocked-type: ")
        with zipfile.ZipFile(io.BytesIO(archive.read("nested.zip"))) as nested:
            assert nested.namelist() == ["inner/figure.png"]
    assert {"what": "member:blocked-type", "action": "removed", "count": 1} in verdict.actions


def test_zip_bomb_is_refused(pipeline: Pipeline, tmp_path: Path) -> None:
    verdict = _run(pipeline, tmp_path, _zip({"zeros.txt": b"\0" * (40 << 20)}), "bomb.zip")
    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason == "limit-exceeded"


def test_only_unsafe_members_means_quarantine(pipeline: Pipeline, tmp_path: Path) -> None:
    verdict = _run(
        pipeline, tmp_path, _zip({"a.exe": b"MZ" + b"\0" * 200, "b.js": b"WScript.Echo(1)"}), "x.zip"
    )
    assert verdict.verdict == Outcome.QUARANTINED


@pytest.fixture
def ppap(tmp_path: Path) -> Path:
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(
        buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(b"Kuma-2024")
        archive.writestr("請求書.pdf", _pdf_with_javascript())
    path = tmp_path / "in" / "請求書.zip"
    path.parent.mkdir()
    path.write_bytes(buffer.getvalue())
    return path


def test_ppap_is_quarantined_then_unlocked(ppap: Path, tmp_path: Path) -> None:
    quarantine_then_unlock(tmp_path, ppap.parent, "Kuma-2024")
    with zipfile.ZipFile(tmp_path / "o" / "請求書.zip") as archive:
        assert not any(info.flag_bits & 0x1 for info in archive.infolist())  # no password any more
        assert active_content(archive.read("請求書.pdf")) == []


def test_removed_list_carries_no_control_characters(pipeline: Pipeline, tmp_path: Path) -> None:
    """A hostile member name cannot put terminal escapes or bidi overrides into the list."""
    source = tmp_path / "mixed.zip"
    source.write_bytes(
        _zip({"memo.txt": "熊の目撃情報\n".encode(), "evil\x1b[2J\u202eexe.txt": b"MZ\x90\x00" + b"\x00" * 300})
    )
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    with zipfile.ZipFile(verdict.output) as archive:
        listing = archive.read("cdr-removed.txt").decode("utf-8-sig")
        assert archive.read("memo.txt").decode() == "熊の目撃情報\n"
    assert "evil" in listing
    assert not any(c in listing for c in ("\x1b", "\u202e"))


def test_a_member_cannot_pose_as_the_removed_list(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "fake.zip"
    fake = "削除されたファイルはありません。\r\n".encode()
    source.write_bytes(_zip({"cdr-removed.txt": fake, "setup.exe": b"MZ\x90\x00" + b"\x00" * 300}))
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    with zipfile.ZipFile(verdict.output) as archive:
        names = archive.namelist()
        assert len(names) == len(set(names))
        assert "setup.exe" in archive.read("cdr-removed.txt").decode("utf-8-sig")
        assert [archive.read(n) for n in names if n != "cdr-removed.txt"] == [fake]


def test_a_quoted_overlap_bomb_is_quarantined(pipeline: Pipeline, tmp_path: Path) -> None:
    """Fifield's bomb: every member small, together far past any ratio; the shared reader
    finds the overlap before anything is inflated."""
    from tests.test_zipreader import quoted_overlap_bomb

    data, _ = quoted_overlap_bomb(files=40, kernel_size=512 << 10)
    verdict = _run(pipeline, tmp_path, data, "overlap.zip")
    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason == "malformed", verdict


def test_scan_of_nested_archives_stops_at_the_depth_limit() -> None:
    """Inspecting (``cdr scan``) descends one level per nested archive, as sanitizing does;
    before the shared reader it followed every level."""
    from cdr.model import Action, FileType
    from cdr.policy import Policy
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.registry import sanitizer_for

    data = _zip({"memo.txt": b"hello\n"})
    for level in range(6):
        data = _zip({f"level{level}.zip": data})
    ctx = Context(FileType.ZIP, Action.REBUILD, "deep.zip", Policy())
    findings = sanitizer_for(FileType.ZIP, Action.REBUILD).inspect(io.BytesIO(data), ctx)
    assert [f.kind for f in findings] == ["limit-exceeded"]
    assert "nested deeper than 3" in findings[0].detail


def test_the_archive_sanitizer_is_given_its_member_lookup() -> None:
    """No import cycle: the registry hands the archive sanitizer its lookup; archive.py
    imports nothing from the registry (read from its source, not trusted from a comment)."""
    import ast

    import cdr.sanitizers.archive as archive_module

    tree = ast.parse(Path(archive_module.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not any(name and name.startswith("cdr.sanitizers.registry") for name in imported), imported


def test_deep_paths_and_invisible_characters_in_names_do_not_cost_the_archive(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """Names a real archive can carry: folders nested past what a reader accepts, a soft
    hyphen, a family emoji joined by zero-width joiners. The members are released under
    names anyone can read; the archive is not quarantined for them."""
    deep = "/".join(["d" * 190] * 6) + "/note.txt"
    invisible = "soft\u00adhyphen.txt"
    emoji = "家族\U0001f468\u200d\U0001f469\u200d\U0001f467.txt"
    verdict = _run(pipeline, tmp_path, _zip({deep: b"deep\n", invisible: b"soft\n", emoji: b"family\n"}), "a.zip")
    assert verdict.verdict == Outcome.RELEASED, verdict
    with zipfile.ZipFile(verdict.output) as archive:
        contents = {info.filename: archive.read(info) for info in archive.infolist()}
    assert sorted(contents.values()) == [b"deep\n", b"family\n", b"soft\n"]
    for name in contents:
        assert len(name) <= 1024 and name.endswith(".txt")
        assert not [c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cn")], name
    # shortened for Explorer (names.capped): 200 characters, each folder 100, the file's name kept
    deep_name = next(name for name in contents if name.endswith("/note.txt"))
    assert len(deep_name) <= 200 and all(len(part) <= 100 for part in deep_name.split("/")), deep_name
    assert "soft_hyphen.txt" in contents
