"""The attacker's catalogue (tests/attacks/): every hostile sample goes through `cdr sanitize`
as a subprocess, and every released output is judged by the tests' own allow-list inspector.

A sample passes when it is quarantined or its released output holds nothing the inspector
does not know to be harmless; benign controls must be released with their content.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pikepdf
import pytest
from PIL import Image

from cdr import types
from cdr.types import CONVERTED_TYPES
from tests import office_builders
from tests.attacks import builders, inspector, runner
from tests.attacks.builders import Expect, Sample

CATALOGUE = builders.load()
CHUNK = 24  # samples per CLI run: short runs keep both cores busy to the end (a whole family in one run did not)
BUILD_ORDER = ("text", "pdf", "ooxml", "images", "archive")  # runs start at once, the long ones (PDFs as page images) early
# The appliance hands these to LibreOffice (~2 s each): `-m "not slow"` leaves them out.
LIBREOFFICE_SUFFIXES = frozenset(
    name for t in CONVERTED_TYPES for name in (types.row(t).extension, *types.row(t).aliases)
)
assert {item.family for item in CATALOGUE} == set(BUILD_ORDER), "a new family: add it to BUILD_ORDER"


def _params(items: list[Sample]) -> list[object]:
    return [
        pytest.param(item, id=item.name, marks=[pytest.mark.slow] * (item.suffix in LIBREOFFICE_SUFFIXES))
        for item in items
    ]


def _chunks(names: list[str]) -> list[list[str]]:
    """At most CHUNK names each, dealt round-robin: neighbours in the catalogue (the LibreOffice
    conversions, the bombs) cost alike and would otherwise land in one run."""
    count = -(-len(names) // CHUNK)
    return [names[start::count] for start in range(count)]


@dataclass
class Plan:
    """The samples the selected tests look at (all of them in `make test`; fewer with -k or -m)."""

    inspected: set[str] = field(default_factory=set)
    default: set[str] = field(default_factory=set)  # through the default policy
    strict: set[str] = field(default_factory=set)  # through the strict one as well

    def chosen(self) -> set[str]:
        return self.inspected | self.default | self.strict


def _plan(session: pytest.Session) -> Plan:
    plan, composed = Plan(), set()
    wanted = {
        test_inspector_sees_the_planted_attack.__name__: plan.inspected,
        test_sample.__name__: plan.default,
        test_pdf_sample_under_strict_policy.__name__: plan.strict,
    }
    for test in session.items:
        params = getattr(test, "callspec", None)
        if test.path != Path(__file__) or params is None:
            continue
        if "item" in params.params:
            wanted[test.originalname].add(params.params["item"].name)
        else:
            composed.add(params.params["family"])
    # A family's composure is judged on the samples the session runs, or on all of it when it runs none.
    for family in composed:
        run = plan.strict if family == "pdf-strict" else plan.default
        members = {item.name for item in CATALOGUE if item.family == family.removesuffix("-strict")}
        if not members & run:
            run |= members
    return plan


@dataclass
class Catalogue:
    built: dict[str, Path]  # sample name -> input file
    sent: dict[str, list[str]]  # family (or pdf-strict) -> the file names its runs were given
    runs: dict[str, list[Future[runner.Batch]]]  # family (or pdf-strict) -> its CLI runs, under way


@pytest.fixture(scope="module")
def strict_without_ocr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped strict policy with OCR off: the text layer comes from rendered pixels, not from the
    hostile file, and Tesseract would triple the run."""
    text = (runner.ROOT / "policies" / "strict.yaml").read_text(encoding="utf-8")
    assert "  ocr: true\n" in text, "policies/strict.yaml changed: adjust this fixture"
    policy = tmp_path_factory.mktemp("policy") / "strict.yaml"
    policy.write_text(text.replace("  ocr: true\n", "  ocr: false\n"), encoding="utf-8")
    return policy


@pytest.fixture(scope="module")
def catalogue(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, strict_without_ocr: Path
) -> Iterator[Catalogue]:
    """Each family's samples written into a folder of its own, and sent through the CLI in runs of
    CHUNK, two at a time (the machine has two cores) while the next family is built; PDFs once more
    under the strict policy (画像化), whose pixel path is a second way out for every hostile PDF."""
    plan = _plan(request.session)
    root = tmp_path_factory.mktemp("attacks")
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        found = Catalogue({}, {}, {})
        for family in BUILD_ORDER:
            members = [item for item in CATALOGUE if item.family == family and item.name in plan.chosen()]
            found.built.update(builders.write(members, root / family, root / "work"))
            policies = ((family, plan.default, None), (f"{family}-strict", plan.strict, strict_without_ocr))
            for label, run, policy in policies:
                names = [item.filename for item in members if item.name in run]
                if not names:
                    continue
                found.sent[label] = names
                tag = label.removeprefix(family)  # each run writes into out{tag}-N/, quarantine{tag}-N/…
                found.runs[label] = [
                    pool.submit(runner.sanitize, root / family, chunk, policy=policy, tag=f"{tag}-{n}")
                    for n, chunk in enumerate(_chunks(names))
                ]
        yield found
    finally:
        pool.shutdown(cancel_futures=True)  # a session stopped early (-x) does not wait for runs nobody reads


@pytest.fixture(scope="module")
def built(catalogue: Catalogue) -> dict[str, Path]:
    return catalogue.built


@pytest.fixture(scope="module")
def batches(catalogue: Catalogue) -> dict[str, runner.Batch]:
    """Each family's runs, waited for and read as one batch."""
    return {family: runner.merged([run.result() for run in runs]) for family, runs in catalogue.runs.items()}


# Samples that attack the appliance itself (a crash, not content) carry nothing for the inspector to see.
HOSTILE = [
    item for item in CATALOGUE if item.expect is not Expect.RELEASED and item.attack != "appliance-crash"
]


@pytest.mark.parametrize("item", _params(HOSTILE))
def test_inspector_sees_the_planted_attack(built: dict[str, Path], item: Sample) -> None:
    """A sample the inspector would pass as it is tests nothing: its attack must be visible in the input."""
    assert inspector.inspect(built[item.name]), (
        f"{item.name}: the inspector finds nothing in the hostile input"
    )


@pytest.mark.parametrize("family", [*sorted({item.family for item in CATALOGUE}), "pdf-strict"])
def test_cli_stays_composed(batches: dict[str, runner.Batch], catalogue: Catalogue, family: str) -> None:
    """Hostile input is the appliance's daily bread: no traceback, exit 0 or 1, one line per file."""
    batch = batches[family]
    assert "Traceback" not in batch.stderr, batch.stderr[-3000:]
    assert batch.returncode in (0, 1), f"exit {batch.returncode}: {batch.stderr[-2000:]}"
    expected = set(catalogue.sent[family])
    missing = sorted(expected - set(batch.results))
    assert expected and set(batch.results) == expected, f"no result line for {missing}"


@pytest.mark.parametrize("item", _params(CATALOGUE))
def test_sample(batches: dict[str, runner.Batch], item: Sample) -> None:
    result = batches[item.family].results.get(item.filename)
    assert result is not None, f"{item.filename}: no result line"
    verdict = result["verdict"]
    assert verdict in ("released", "quarantined"), result
    if item.expect is Expect.RELEASED:
        assert verdict == "released", (
            f"benign control quarantined: {result.get('reason')}: {result.get('message')}"
        )
    if item.expect is Expect.QUARANTINED:
        assert verdict == "quarantined", f"released: {result.get('output')}"
    output = batches[item.family].output(item.filename)
    if output is None:
        return
    findings = inspector.inspect(output)
    assert not findings, f"released-with-active-content ({item.source}):\n" + "\n".join(findings[:20])
    keeps = CONTROL_CONTENT.get(item.name)
    if keeps is not None:
        keeps(output)


PDFS = [item for item in CATALOGUE if item.family == "pdf"]


@pytest.mark.parametrize("item", _params(PDFS))
def test_pdf_sample_under_strict_policy(batches: dict[str, runner.Batch], item: Sample) -> None:
    """画像化: a hostile PDF is quarantined or comes out as page images with nothing else in it."""
    batch = batches["pdf-strict"]
    result = batch.results.get(item.filename)
    assert result is not None and result["verdict"] in ("released", "quarantined"), result
    if item.expect is Expect.RELEASED:
        assert result["verdict"] == "released", f"benign control quarantined: {result.get('message')}"
    output = batch.output(item.filename)
    if output is not None:
        findings = inspector.inspect(output)
        assert not findings, f"released-with-active-content under strict ({item.source}):\n" + "\n".join(findings[:20])
        with pikepdf.open(output) as pdf:
            fonts = [page.Resources.get("/Font") for page in pdf.pages if "/Resources" in page]
            assert not any(fonts), "a strict-policy output still carries fonts: it is not page images"


# ---------------------------------------------------------------- benign content survives
def _docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as package:
        return package.read("word/document.xml").decode("utf-8")


def _keeps_docx(path: Path) -> None:
    text = _docx_text(path)
    assert all(line in text for line in office_builders.DOC_TEXT)
    with zipfile.ZipFile(path) as package:
        assert any(name.startswith("word/media/") for name in package.namelist()), "the picture was lost"


def _keeps_fields_text(path: Path) -> None:
    assert "市のサイト" in _docx_text(path) and "2026/11/28" in _docx_text(path)


def _keeps_xlsx(path: Path) -> None:
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert sheet["B2"].value == 1200000 and sheet["A2"].value == "電気柵"


def _keeps_formula_text(path: Path) -> None:
    assert openpyxl.load_workbook(path).worksheets[0]["B4"].value == "=cmd|' /C calc'!A0"


def _keeps_pptx(path: Path) -> None:
    with zipfile.ZipFile(path) as package:
        slide = package.read("ppt/slides/slide1.xml").decode("utf-8")
    assert all(text in slide for text in office_builders.SLIDE_TEXT)


def _keeps_pages(count: int) -> Callable[[Path], None]:
    def check(path: Path) -> None:
        with pikepdf.open(path) as pdf:
            assert len(pdf.pages) == count

    return check


def _keeps_size(size: tuple[int, int]) -> Callable[[Path], None]:
    def check(path: Path) -> None:
        with Image.open(path) as image:
            assert image.size == size

    return check


def _keeps_csv(path: Path) -> None:
    text = inspector.decode_text(path.read_bytes())
    assert "山田太郎" in text and "-1200" in text and "0312345678" in text


def _keeps_markers(path: Path) -> None:
    """The '-' and '－' markers ("none" in Japanese tables) and the dates stay (a neutralising quote may lead)."""
    rows = [line.split(",") for line in inspector.decode_text(path.read_bytes()).splitlines()]
    assert rows[1][1].lstrip("'") == "-" and rows[2][1].lstrip("'") == "－", rows[1:3]
    assert rows[2][2] == "2026/11/28" and rows[1][2] == "なし", rows[1:3]


def _keeps_prose(path: Path) -> None:
    assert "Please set up the room" in inspector.decode_text(path.read_bytes())


def _keeps_memo(path: Path) -> None:
    assert "第二会議室" in inspector.decode_text(path.read_bytes())


def _keeps_zip(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert "memo.txt" in names and any(name.startswith("photo.") for name in names)
        with Image.open(io.BytesIO(archive.read(next(n for n in names if n.startswith("photo."))))) as photo:
            assert photo.size == (40, 30)


CONTROL_CONTENT: dict[str, Callable[[Path], None]] = {
    "docx_benign": _keeps_docx,
    "docx_harmless_fields": _keeps_fields_text,
    "xlsx_benign": _keeps_xlsx,
    "xlsx_formula_text_is_not_live": _keeps_formula_text,
    "pptx_benign": _keeps_pptx,
    "pdf_benign": _keeps_pages(3),
    "pdf_goto_and_mailto": _keeps_pages(3),
    "png_benign": _keeps_size((64, 48)),
    "jpeg_benign": _keeps_size((64, 48)),
    "gif_benign": _keeps_size((64, 48)),
    "csv_benign": _keeps_csv,
    "csv_benign_table_markers": _keeps_markers,
    "txt_benign_english_prose": _keeps_prose,
    "txt_benign": _keeps_memo,
    "zip_benign": _keeps_zip,
}
