"""Members of an archive that need LibreOffice or 画像化 are converted inside the archive,
within its time budget; the ones that cannot be are listed in cdr-removed.txt (issue 11).
Every output is read back with zipfile, oletools, python-docx, openpyxl and pikepdf."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import docx
import olefile
import openpyxl
import pikepdf
import pytest
from PIL import Image

from cdr.errors import BadAnswer
from cdr.flow import _member_index
from cdr.model import Action, FileType, Outcome, Verdict
from cdr.pipeline import Pipeline, Places
from cdr.policy import Policy
from cdr.sandbox import SandboxPool
from tests import office_builders as ob
from tests.mail_builders import compound_file
from tests.test_archive import _pdf_with_javascript, _zip
from tests.test_office import office_active, vba_found

REMOVED = "cdr-removed.txt"
MEMO = "会議メモ 令和6年度\n".encode()


def _streams(data: bytes, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], bytes]:
    ole = olefile.OleFileIO(data)
    try:
        return {(*prefix, *path): ole.openstream(path).read() for path in ole.listdir(streams=True)}
    finally:
        ole.close()


@pytest.fixture(scope="module")
def macro_doc(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return word97_with_macros(tmp_path_factory.mktemp("doc"))


def word97_with_macros(work: Path) -> bytes:
    """A Word 97 document with a VBA project in its Macros storage, where Word keeps it
    (LibreOffice writes .doc files without the project, so it is put back here)."""
    source = work / "src.docx"
    source.write_bytes(ob.docx_bytes())
    plain = ob.libreoffice(work, source, "doc:MS Word 97").read_bytes()
    data = compound_file({**_streams(plain), **_streams(ob.real_vba_project(), ("Macros",))})
    assert vba_found(data), "the test document holds no macro"
    return data


@pytest.fixture(scope="module")
def macro_xls(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    work = tmp_path_factory.mktemp("xls")
    source = work / "macro.xlsm"
    source.write_bytes(ob.xlwings_file("quickstart.xlsm"))
    data = ob.libreoffice(work, source, "xls:MS Excel 97").read_bytes()
    assert vba_found(data), "LibreOffice kept no VBA project in the .xls"
    return data


def broken_doc() -> bytes:
    """Read as a Word 97 document (a compound file with a WordDocument stream) that
    LibreOffice cannot open."""
    return compound_file({("WordDocument",): b"\xa5\xec" + b"\0" * 10 + b"\xff" * 5000, ("1Table",): b"\0" * 600})


def _run(pipeline: Pipeline, tmp_path: Path, data: bytes, name: str = "届いた資料.zip") -> Verdict:
    source = tmp_path / "in" / name
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(data)
    return pipeline.process(source, name)


def _members(verdict: Verdict) -> dict[str, bytes]:
    assert verdict.verdict == Outcome.RELEASED, verdict
    with zipfile.ZipFile(verdict.output) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _removed_lines(members: dict[str, bytes]) -> list[list[str]]:
    text = members[REMOVED].decode("utf-8-sig")
    return [line.split("\t") for line in text.splitlines()[2:]]


@pytest.fixture
def pipeline_with(tmp_path: Path, sandbox_pool: SandboxPool) -> Iterator[Callable[[Policy], Pipeline]]:
    pipes: list[Pipeline] = []

    def make(policy: Policy) -> Pipeline:
        (tmp_path / "o").mkdir(exist_ok=True)
        pipe = Pipeline(policy, Places(tmp_path / "o", tmp_path / "q", tmp_path / "a.jsonl", tmp_path / "w"), sandbox_pool)
        pipe.start()
        pipes.append(pipe)
        return pipe

    yield make
    for pipe in pipes:
        pipe.close()


@pytest.mark.slow  # LibreOffice
def test_legacy_office_members_are_converted_without_macros(
    pipeline: Pipeline, tmp_path: Path, macro_doc: bytes, macro_xls: bytes
) -> None:
    data = _zip({"古い文書.doc": macro_doc, "集計/予算.xls": macro_xls, "memo.txt": MEMO})
    verdict = _run(pipeline, tmp_path, data)
    members = _members(verdict)
    assert sorted(members) == ["memo.txt", "古い文書.docx", "集計/予算.xlsx"]
    document, workbook = members["古い文書.docx"], members["集計/予算.xlsx"]
    assert office_active(document) == [] and office_active(workbook) == []
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(document)).paragraphs)
    for line in ob.DOC_TEXT:
        assert line in text
    assert openpyxl.load_workbook(io.BytesIO(workbook)).sheetnames[-1] == "_xlwings.conf"
    assert members["memo.txt"].decode("utf-8-sig").strip() == MEMO.decode().strip()
    assert {"what": "archive-members", "action": "converted", "count": 2} in verdict.actions


@pytest.mark.slow  # LibreOffice
def test_a_member_that_does_not_convert_is_listed_and_the_rest_kept(
    pipeline: Pipeline, tmp_path: Path, macro_xls: bytes
) -> None:
    data = _zip({"broken.doc": broken_doc(), "予算.xls": macro_xls, "memo.txt": MEMO})
    members = _members(_run(pipeline, tmp_path, data))
    assert sorted(members) == [REMOVED, "memo.txt", "予算.xlsx"]
    assert office_active(members["予算.xlsx"]) == []
    [line] = _removed_lines(members)
    assert line[0] == "broken.doc"
    assert line[1] == "ファイルが壊れているか、形式が正しくありません"
    assert line[2].startswith("malformed: LibreOffice")


def test_members_past_the_time_budget_are_listed(
    pipeline_with: Callable[[Policy], Pipeline], default_policy: Policy, tmp_path: Path
) -> None:
    # a budget too short to start LibreOffice at all: nothing is converted, all is said
    limits = dataclasses.replace(default_policy.limits, wall_time=1.5)
    pipeline = pipeline_with(dataclasses.replace(default_policy, limits=limits))
    data = _zip({"a.doc": broken_doc(), "b.doc": broken_doc(), "memo.txt": MEMO})
    members = _members(_run(pipeline, tmp_path, data))
    assert sorted(members) == [REMOVED, "memo.txt"]
    lines = _removed_lines(members)
    assert [line[0] for line in lines] == ["a.doc", "b.doc"]
    for line in lines:
        assert line[1] == "処理が時間内に終わりませんでした"
        assert line[2] == "timeout: not converted: the archive's time budget of 1.5s was spent"


def test_a_member_of_a_nested_archive_is_listed_not_converted(pipeline: Pipeline, tmp_path: Path) -> None:
    data = _zip({"inner.zip": _zip({"a.doc": broken_doc(), "memo.txt": MEMO}), "top.txt": MEMO})
    members = _members(_run(pipeline, tmp_path, data))
    assert sorted(members) == ["inner.zip", "top.txt"]
    with zipfile.ZipFile(io.BytesIO(members["inner.zip"])) as inner:
        assert sorted(inner.namelist()) == [REMOVED, "memo.txt"]
        [line] = _removed_lines({REMOVED: inner.read(REMOVED)})
    assert line[0] == "a.doc" and line[1] == "対応していない形式です"
    assert "is not converted inside a mail or a nested archive; send it on its own" in line[2]


def test_pdf_members_become_page_images_where_the_policy_says_pixels(
    pipeline_with: Callable[[Policy], Pipeline], default_policy: Policy, tmp_path: Path
) -> None:
    actions = {**default_policy.actions, FileType.PDF: Action.PIXELS}
    policy = dataclasses.replace(default_policy, actions=actions, pdf=dataclasses.replace(default_policy.pdf, ocr=False))
    verdict = _run(pipeline_with(policy), tmp_path, _zip({"report.pdf": _pdf_with_javascript(), "memo.txt": MEMO}))
    members = _members(verdict)
    assert sorted(members) == ["memo.txt", "report.pdf"]
    with pikepdf.open(io.BytesIO(members["report.pdf"])) as pdf:
        assert "/OpenAction" not in pdf.Root and "/Names" not in pdf.Root
        assert len(pdf.pages) == 1
        page = pdf.pages[0]
        [image] = page.images.values()
        assert image.Subtype == "/Image" and "/Font" not in page.Resources
    assert {"what": "archive-members", "action": "converted", "count": 1} in verdict.actions


def test_an_svg_member_is_drawn_into_a_png_in_the_archive(pipeline: Pipeline, tmp_path: Path) -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30" onload="alert(1)">'
        b'<script>alert(2)</script><rect width="40" height="30" fill="#c00"/></svg>'
    )
    members = _members(_run(pipeline, tmp_path, _zip({"図/map.svg": svg, "memo.txt": MEMO})))
    assert sorted(members) == ["memo.txt", "図/map.png"]
    with Image.open(io.BytesIO(members["図/map.png"])) as picture:
        assert picture.format == "PNG" and picture.size == (40, 30)
        assert picture.convert("RGB").getpixel((20, 15)) == (204, 0, 0)


@pytest.mark.parametrize("item", ["1a", "-1", "１", "²", 3, "1234567890"])
def test_a_member_to_convert_is_named_by_a_short_run_of_digits(item: object) -> None:
    with pytest.raises(BadAnswer):
        _member_index(item)
    assert _member_index("12") == 12
