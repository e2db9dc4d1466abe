"""A phone's multi-picture JPEG (MPO, CIPA DC-007: an Ultra HDR gain map, a stereo pair)
is released as one JPEG of its first picture. The later pictures are dropped but still
decoded, so a damaged one refuses the file; the first picture is not copied (speed, issue
13), which must not change what is released."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

from cdr.model import Outcome
from cdr.pipeline import Pipeline


def _mpo(first: Image.Image, later: list[Image.Image], orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "EvilSoft camera"  # Make: metadata that must not cross
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=later, quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def _picture() -> Image.Image:
    """Left half red, right half blue: a transposition shows in the corners."""
    picture = Image.new("RGB", (320, 240), (220, 30, 30))
    picture.paste((30, 30, 220), (160, 0, 320, 240))
    return picture


def _close(a: Image.Image, b: Image.Image) -> bool:
    """Equal but for JPEG's loss (two generations, colour subsampled at the seam): every
    channel off by less than 4 on average."""
    return max(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) < 4


def test_gain_map_photo_released_as_its_first_picture(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "PXL_0001.jpg"
    picture = _picture()
    source.write_bytes(_mpo(picture, [picture.resize((80, 60)).convert("L")]))
    assert Image.open(source).format == "MPO" and Image.open(source).n_frames == 2
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    data = Path(verdict.output).read_bytes()
    output = Image.open(io.BytesIO(data))
    assert output.format == "JPEG" and output.size == (320, 240)
    assert getattr(output, "n_frames", 1) == 1 and b"MPF" not in data and b"EvilSoft" not in data
    assert _close(output, picture)


def test_turned_stereo_pair_released_upright(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "stereo.jpg"
    picture = _picture()
    source.write_bytes(_mpo(picture, [picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)], orientation=6))
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    output = Image.open(verdict.output)
    # orientation 6: turned 90° clockwise to be upright, the red half on top
    assert output.size == (240, 320) and not output.getexif()
    assert _close(output, picture.transpose(Image.Transpose.ROTATE_270))
    assert output.getpixel((120, 40))[0] > 150 and output.getpixel((120, 280))[2] > 150


def test_damaged_later_picture_refuses_the_photo(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "cut.jpg"
    picture = _picture()
    whole = _mpo(picture, [picture.resize((160, 120))])
    source.write_bytes(whole[: len(whole) - 400])  # the gain map's scan cut short
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.QUARANTINED
    assert verdict.reason == "malformed" and "damaged jpeg image" in (verdict.message or "")
