"""The work alone against the bench's floors: each file's rebuild and verification called in
this process (no sandbox, no audit, no release), warm, the heap frozen as the zygote freezes
it. What this costs beyond a floor is the parsing itself, done twice (by the rebuild and,
independently, by the verifier); what `bench/run.py` measures beyond it is the flow's fixed
cost per file (two sandboxed children, three fsyncs, the audit records).

    python bench/work_alone.py [pdf photos office]
"""

from __future__ import annotations

import gc
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = Path(os.environ.get("CDR_BENCH_CORPUS", ROOT.parent / "shared" / "bench-corpus"))

from PIL import Image, ImageOps  # noqa: E402

from bench.run import _office_samples  # noqa: E402
from cdr.policy import load_policy  # noqa: E402
from cdr.sanitizers.registry import op_process, op_verify  # noqa: E402
from cdr.warmup import warm_up  # noqa: E402

POLICY = load_policy(ROOT / "policies" / "default.yaml").to_json()


def median_seconds(action: Callable[[], object], repeats: int = 3) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def rebuilt_and_verified(source: Path, scratch: Path) -> None:
    """What the two sandboxed jobs of a file do, here in this process."""
    fd, out = os.open(source, os.O_RDONLY), os.open(scratch, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    try:
        answer = op_process({"name": source.name, "policy": POLICY}, [fd, out])
    finally:
        os.close(fd)
        os.close(out)
    if "result" not in answer:
        raise ValueError(f"not rebuilt: {answer.get('error')}")
    fd = os.open(scratch, os.O_RDONLY)
    try:
        op_verify({"name": source.name, "policy": POLICY, "expect": answer["result"]["output_type"]}, [fd])
    finally:
        os.close(fd)


def work_seconds(source: Path, scratch: Path) -> float | None:
    """Median seconds of the work alone, or None for a file the rebuild refuses."""
    try:
        rebuilt_and_verified(source, scratch)  # once to warm what a first call loads
    except ValueError:
        return None
    return median_seconds(lambda: rebuilt_and_verified(source, scratch))


def pdfs(scratch: Path) -> None:
    ratios, mine, theirs = [], 0.0, 0.0
    for source in sorted((CORPUS / "pdf").glob("*.pdf")):
        work = work_seconds(source, scratch)
        if work is None:
            continue
        qpdf = median_seconds(
            lambda source=source: subprocess.run(["qpdf", str(source), str(scratch) + ".q"], capture_output=True)
        )
        ratios.append(work / qpdf)
        mine, theirs = mine + work, theirs + qpdf
    print(
        f"PDF: {len(ratios)} files; the work alone is a median {statistics.median(ratios):.2f}x `qpdf in out` "
        f"per file, {mine:.2f} s vs {theirs:.2f} s = {mine / theirs:.2f}x over the corpus"
    )


def pillow_alone(photo: Path) -> None:
    """The images section's floor: decoded, upright, its ICC profile kept, encoded again."""
    with Image.open(photo) as image:
        image.load()
        profile = image.info.get("icc_profile")
        if image.getexif().get(0x0112, 1) in range(2, 9):
            image = ImageOps.exif_transpose(image)
        if image.mode not in ("L", "RGB", "CMYK"):
            image = image.convert("RGB")
        image.save(io.BytesIO(), "JPEG", icc_profile=profile, quality=92)


def photos(scratch: Path) -> None:
    ratios = []
    for photo in sorted((CORPUS / "photos").glob("*")):
        work = work_seconds(photo, scratch)
        if work is not None:
            ratios.append(work / median_seconds(lambda photo=photo: pillow_alone(photo)))
    print(f"photos: {len(ratios)}; the work alone is a median {statistics.median(ratios):.2f}x Pillow decode+encode")


def rezip(package: Path) -> None:
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(io.BytesIO(), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))


def office(scratch: Path) -> None:
    ratios = []
    for package in _office_samples(scratch.parent):
        work = work_seconds(package, scratch)
        if work is None:
            continue
        ratios.append(work / median_seconds(lambda package=package: rezip(package), 5))
        print(f"  {package.name:16} {ratios[-1]:.1f}x")
    print(f"OOXML: {len(ratios)}; the work alone is a median {statistics.median(ratios):.2f}x unzip+rezip")


SECTIONS = {"pdf": pdfs, "photos": photos, "office": office}


def main() -> None:
    warm_up()
    gc.freeze()
    with tempfile.TemporaryDirectory(prefix="cdr-work-alone-") as folder:
        for name in sys.argv[1:] or list(SECTIONS):
            SECTIONS[name](Path(folder) / "output")


if __name__ == "__main__":
    main()
