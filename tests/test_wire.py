"""The boundary: every answer parsed by its schema, and a child that lies ends in
quarantine (issue #8 §2). The lies are told by real sandboxed children running test-only
operations (cdr/sanitizers/selftest.py) in place of the real ``process``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdr import wire
from cdr.errors import BadAnswer, CpuLimit, MalformedInput, SandboxCrash, SandboxTimeout
from cdr.model import Action, FileType, Outcome
from cdr.pipeline import Pipeline, Places
from cdr.policy import Limits, Policy, load_policy
from cdr.sandbox import Sandbox, SandboxPool
from tests import builders

ROOT = Path(__file__).resolve().parent.parent
LIMITS = Limits()
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ufeff]")
DETECTION = {
    "file_type": "png",
    "mime": "image/png",
    "description": "PNG",
    "encrypted": False,
    "findings": [],
}
RESULT = {
    "output_type": "png",
    "actions": [{"what": "metadata", "action": "removed", "count": 2}],
    "details": {},
}


def _envelope(answer: object, value: int = 0, status: str = "exited") -> wire.Envelope:
    raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    return wire.Envelope.decode(wire.Envelope(status, value, raw).encode())


# ------------------------------------------------------------------ schemas
def test_a_process_answer_is_read_into_typed_values() -> None:
    answer = wire.read_answer(
        "process",
        _envelope({"result": {"detection": DETECTION, "action": "rebuild", "result": RESULT}}),
        LIMITS,
    )
    assert answer.detection.file_type == FileType.PNG and answer.action == Action.REBUILD
    assert answer.result.output_type == FileType.PNG and answer.result.actions[0].count == 2


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a.update(verdict="released"),  # an extra key at the top
        lambda a: a["detection"].update(trusted=True),  # an extra key inside
        lambda a: a["detection"].pop("mime"),  # a key missing
        lambda a: a["detection"].update(file_type="no-such-type"),
        lambda a: a["detection"].update(encrypted=0),  # not a boolean
        lambda a: a["result"]["actions"][0].update(count=True),  # a boolean is not a count
        lambda a: a["result"]["actions"][0].update(count=-1),
        lambda a: a["result"].update(details={"Not A Key": 1}),
        lambda a: a["result"].update(details={"k": {"nested": "table"}}),
        lambda a: a["detection"].update(findings=[{"kind": "x"}] * 201),
        lambda a: a.pop("result"),  # an action without a result
        lambda a: a.update(error={"code": 11, "message": "both"}),  # refused and sanitized
    ],
)
def test_answers_outside_their_schema_are_refused(change) -> None:  # noqa: ANN001
    answer = {
        "detection": json.loads(json.dumps(DETECTION)),
        "action": "rebuild",
        "result": json.loads(json.dumps(RESULT)),
    }
    change(answer)
    with pytest.raises(BadAnswer):
        wire.read_answer("process", _envelope({"result": answer}), LIMITS)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"result": NaN}',
        b"[" * 100_000 + b"]" * 100_000,  # nesting deep enough to break a recursive parser
        b'{"result": {}} trailing',
        b"\xff\xfe",
        b"[]",
        json.dumps({"result": DETECTION, "extra": 1}).encode(),
        b"x" * (wire.MAX_ANSWER + 1),
    ],
)
def test_damaged_or_huge_answers_are_refused(raw: bytes) -> None:
    with pytest.raises(BadAnswer):
        wire.read_answer("identify", _envelope(raw), LIMITS)


def test_an_operation_without_a_schema_is_refused() -> None:
    with pytest.raises(BadAnswer):
        wire.read_answer("exfiltrate", _envelope({"result": {}}), LIMITS)


def test_free_text_is_cleaned_and_cut() -> None:
    hostile = "請求書\x1b[2J\x07\u202egpj.exe\r\n" + "あ" * 1000
    finding = wire.finding({"kind": "x\x00y", "detail": hostile})
    assert not UNPRINTABLE.search(finding.detail + finding.kind)
    assert finding.detail.startswith("請求書") and len(finding.detail) == wire.MAX_MESSAGE


@given(st.text(max_size=3000), st.integers(min_value=1, max_value=600))
def test_clean_text_never_lets_a_control_or_bidi_character_through(text: str, limit: int) -> None:
    cleaned = wire.clean_text(text, limit)
    assert len(cleaned) <= limit and not UNPRINTABLE.search(cleaned)


@pytest.mark.parametrize(
    "envelope,error",
    [
        (wire.Envelope("timeout", 0, b""), SandboxTimeout),
        (wire.Envelope("signaled", 9, b""), CpuLimit),
        (wire.Envelope("signaled", 11, b""), SandboxCrash),
        (
            wire.Envelope("exited", 11, json.dumps({"error": "x", "message": "bad\x1b[31m"}).encode()),
            MalformedInput,
        ),
        (wire.Envelope("exited", 11, b"half an {"), MalformedInput),  # the code still decides
        (wire.Envelope("exited", 200, b""), SandboxCrash),
    ],
)
def test_how_a_job_ended_picks_the_error(envelope: wire.Envelope, error: type) -> None:
    with pytest.raises(error) as raised:
        wire.read_answer("process", wire.Envelope.decode(envelope.encode()), LIMITS)
    assert not UNPRINTABLE.search(str(raised.value))


def test_a_reply_with_an_unknown_status_is_refused() -> None:
    with pytest.raises(BadAnswer):
        wire.Envelope.decode(b'{"status": "released", "value": 0}\0{}')


# ------------------------------------------------------------------ lies, end to end
def _pipeline(tmp_path: Path, policy: Policy, pool: SandboxPool) -> Iterator[Pipeline]:
    places = Places(tmp_path / "out", tmp_path / "q", tmp_path / "audit.jsonl", tmp_path / "work")
    places.outbox.mkdir(exist_ok=True)
    pipe = Pipeline(policy, places, pool)
    pipe.start()
    yield pipe
    pipe.close()


@pytest.fixture
def default(tmp_path: Path, default_policy: Policy, sandbox_pool: SandboxPool) -> Iterator[Pipeline]:
    yield from _pipeline(tmp_path, default_policy, sandbox_pool)


@pytest.fixture
def strict(tmp_path: Path, sandbox_pool: SandboxPool) -> Iterator[Pipeline]:
    yield from _pipeline(tmp_path, load_policy(ROOT / "policies" / "strict.yaml"), sandbox_pool)


def _lie(monkeypatch: pytest.MonkeyPatch, lie: str, instead_of: str = "process") -> None:
    """Every ``instead_of`` job runs the lying operation instead, in a real child."""
    real = Sandbox.run

    def run(
        self: Sandbox, op: str, params: dict, fds: list[int], limits: Limits, **options: object
    ) -> object:
        return real(self, lie if op == instead_of else op, params, fds, limits, **options)

    monkeypatch.setattr(Sandbox, "run", run)


def _released(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "out").rglob("*") if not p.name.endswith(".txt"))


def _png(tmp_path: Path) -> Path:
    source = tmp_path / "photo.png"
    source.write_bytes(builders.simple("PNG"))
    return source


def _pdf(tmp_path: Path) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    source = tmp_path / "invoice.pdf"
    pdf.save(source)
    return source


def test_honest_children_release(default: Pipeline, strict: Pipeline, tmp_path: Path) -> None:
    """The control for the lies below: the same files, told no lie, are released."""
    assert default.process(_png(tmp_path), "photo.png").verdict == Outcome.RELEASED
    verdict = strict.process(_pdf(tmp_path), "invoice.pdf")
    assert verdict.verdict == Outcome.RELEASED
    with pikepdf.open(verdict.output) as released:  # 画像化: one image per page, no script
        assert "/OpenAction" not in released.Root and len(released.pages) == 1


def test_a_structural_pdf_under_pixels_is_refused(
    strict: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child copies the original PDF and says it rendered it: the parent assembles
    the PDF from raw pixels itself, and finds none."""
    _lie(monkeypatch, "test:lie-structural-pdf")
    verdict = strict.process(_pdf(tmp_path), "invoice.pdf")
    assert (verdict.verdict, verdict.reason) == (Outcome.QUARANTINED, "verification-failed")
    assert "raw pixels" in (verdict.message or "")
    assert _released(tmp_path) == []


def test_a_lying_ocr_child_ends_in_quarantine(
    strict: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job that reads tesseract's output answers with a word outside the page."""
    _lie(monkeypatch, "test:lie-ocr-words", instead_of="ocr-words")
    verdict = strict.process(_pdf(tmp_path), "invoice.pdf")
    assert (verdict.verdict, verdict.reason) == (Outcome.QUARANTINED, "bad-answer")
    assert _released(tmp_path) == []


@pytest.mark.parametrize(
    "lie,reason",
    [
        ("test:lie-claimed-type", "bad-answer"),  # says gif where png was decided
        ("test:lie-written-type", "verification-failed"),  # says png, wrote a PDF
        ("test:lie-extra-keys", "bad-answer"),
        ("test:lie-huge", "bad-answer"),
        ("test:lie-not-json", "bad-answer"),
    ],
)
def test_a_lying_child_ends_in_quarantine(
    default: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lie: str, reason: str
) -> None:
    _lie(monkeypatch, lie)
    verdict = default.process(_png(tmp_path), "photo.png")
    assert (verdict.verdict, verdict.reason) == (Outcome.QUARANTINED, reason), verdict.message
    assert _released(tmp_path) == []


def test_a_childs_message_is_cleaned_before_anyone_reads_it(
    default: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Escape sequences and a bidi override in a refusal reach neither the verdict, the
    quarantine's meta.json, the notice nor the audit log."""
    _lie(monkeypatch, "test:lie-control-text")
    verdict = default.process(_png(tmp_path), "photo.png")
    assert (verdict.verdict, verdict.reason) == (Outcome.QUARANTINED, "malformed")
    assert len(verdict.message or "") <= wire.MAX_MESSAGE and not UNPRINTABLE.search(verdict.message or "")
    written = [
        (tmp_path / "q" / verdict.id / "meta.json").read_text(),
        (tmp_path / "audit.jsonl").read_text(),
        *[p.read_text() for p in (tmp_path / "out").rglob("*.txt")],
    ]
    for text in written:
        assert "\x1b" not in text and "\u202e" not in text
        assert "\\u001b" not in text and "\\u202e" not in text


# ------------------------------------------------------------------ OCR words
SIZES = [(1000, 800), (500, 400)]


def test_an_ocr_word_inside_its_page_is_read() -> None:
    word = wire.ocr_word(
        b'{"page": 1, "box": [10, 20, 100, 30], "text": "\\u718a\\u306e\\u76ee\\u6483"}\n', SIZES
    )
    assert (word.page, word.left, word.top, word.width, word.height, word.text) == (
        1,
        10,
        20,
        100,
        30,
        "熊の目撃",
    )


@pytest.mark.parametrize(
    "line",
    [
        b'{"page": 2, "box": [0, 0, 1, 1], "text": "x"}',  # no such page
        b'{"page": 1, "box": [490, 0, 20, 10], "text": "x"}',  # wider than the page
        b'{"page": 0, "box": [0, 0, 0, 10], "text": "x"}',  # an empty box
        b'{"page": 0, "box": [0, 0, 10], "text": "x"}',
        b'{"page": 0, "box": [0, 0, 10, 10], "text": "x", "font": "/JavaScript"}',
        b'{"page": 0, "box": [0, 0, 10, 10], "text": "\\u0007\\u0000"}',  # nothing left once cleaned
        b'{"page": 0, "box": [0, 0, 10, 10], "text": "' + b"x" * 2000 + b'"}',
    ],
)
def test_ocr_words_outside_their_schema_are_refused(line: bytes) -> None:
    with pytest.raises(BadAnswer):
        wire.ocr_word(line, SIZES)


def test_tesseract_tsv_is_reduced_to_words() -> None:
    """What the sandboxed job does with tesseract's TSV: words only, pages in range."""
    import io

    from cdr.converters.ocr import read_tsv

    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
    rows = [
        "4\t1\t1\t1\t1\t0\t24\t58\t411\t35\t-1\t",
        "5\t1\t1\t1\t1\t1\t24\t60\t70\t26\t96.6\tBear",
        "5\t1\t1\t1\t1\t2\t104\t58\t129\t35\t96.2\t熊\x1b[2J",
        "5\t9\t1\t1\t1\t1\t1\t1\t1\t1\t90\tghost",  # a page that was never rendered
        "5\t1\t1\t1\t1\t3\t1\t1\t1\t1\t90\t   ",
    ]
    out = io.BytesIO()
    assert read_tsv(io.BytesIO((header + "\n".join(rows)).encode()), out, pages=1) == 2
    words = [wire.ocr_word(line, [(600, 200)]) for line in out.getvalue().splitlines()]
    assert [w.text for w in words] == ["Bear", "熊[2J"]


@pytest.mark.parametrize(
    "op,params",
    [
        ("verify", {"name": "a.png", "policy": {}}),  # expect missing
        ("verify", {"name": "a.png", "policy": {}, "expect": "png", "trust": True}),
        ("decrypt", {"password": 1234}),
        ("ocr-words", {"pages": True}),
        ("exfiltrate", {}),
    ],
)
def test_requests_outside_their_table_are_not_sent(op: str, params: dict) -> None:
    with pytest.raises(ValueError):
        wire.job_request(op, params, LIMITS, 1 << 20, test_ops=False)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=30,
)
_SHAPES = st.fixed_dictionaries(
    {"detection": st.fixed_dictionaries({k: _JSON for k in DETECTION}) | _JSON},
    optional={"action": _JSON, "result": _JSON, "error": _JSON, "extra": _JSON},
)


@given(st.one_of(_JSON, _SHAPES), st.sampled_from(sorted(wire.ANSWERS)))
def test_any_answer_is_either_read_or_refused(answer: object, op: str) -> None:
    """Whatever a child sends, the parent gets a typed answer or a SanitizeError — never
    another exception (a KeyError here would be an internal error, not a quarantine)."""
    from cdr.errors import SanitizeError

    try:
        wire.read_answer(op, _envelope({"result": answer}), LIMITS)
    except SanitizeError:
        pass


@pytest.mark.parametrize(
    "header",
    [
        {"width": True, "height": 10, "mode": "RGB", "dpi": 150, "zlib": 20},  # a boolean is not a size
        {"width": "10", "height": 10, "mode": "RGB", "dpi": 150, "zlib": 20},
        {"width": 10.5, "height": 10, "mode": "RGB", "dpi": 150, "zlib": 20},
        {"width": 10, "height": 10, "mode": "RGB", "dpi": 150, "zlib": 20, "filter": "/JavaScript"},
        {"width": 10, "height": 10, "mode": "CMYK", "dpi": 150, "zlib": 20},
        [10, 10, "RGB", 150, 20],
    ],
)
def test_a_rendered_page_header_outside_its_schema_is_refused(header: object) -> None:
    """The 画像化 stream the renderer writes is an answer too (cdr/converters/pixels.py)."""
    import io
    import zlib

    from cdr.converters.pixels import read_page
    from cdr.errors import VerificationFailed

    rows = zlib.compress(b"\xff" * 300)
    with pytest.raises(VerificationFailed):
        read_page(io.BytesIO(json.dumps(header).encode() + b"\n" + rows))
    good = {"width": 10, "height": 10, "mode": "RGB", "dpi": 150, "zlib": len(rows)}
    assert read_page(io.BytesIO(json.dumps(good).encode() + b"\n" + rows))[:3] == (10, 10, 150)


def test_a_rendered_page_over_the_pixel_limit_is_refused_before_inflating() -> None:
    """A renderer claiming a page of 20 000 × 20 000 would make the parent inflate 1.2 GB."""
    import io

    from cdr.converters.pixels import read_page
    from cdr.errors import VerificationFailed

    header = {"width": 20_000, "height": 20_000, "mode": "RGB", "dpi": 150, "zlib": 10}
    with pytest.raises(VerificationFailed):
        read_page(io.BytesIO(json.dumps(header).encode() + b"\n" + b"x" * 10), max_pixels=100_000_000)


def test_an_answer_with_lone_surrogates_still_crosses() -> None:
    """pikepdf decodes a non-UTF-8 name with surrogate escapes; the job's answer must not
    crash the zygote with a traceback (fuzz finding: a font key name of raw bytes)."""
    from cdr.zygote import _encode

    data, code = _encode({"error": "malformed", "message": "key /F\udce1 is odd"}, 1)
    assert code == 1 and b"key /F? is odd" in data
