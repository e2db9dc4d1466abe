from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from cdr.model import Outcome
from cdr.pipeline import Pipeline
from cdr.policy import Policy
from tests import builders
from tests.contract import SanitizerContract


def _metadata(data: bytes) -> list[str]:
    """Metadata found by opening the file with Pillow and by raw byte search."""
    found = []
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    if len(exif):
        found.append("exif")
    if exif.get_ifd(0x8825):
        found.append("gps")
    for key in ("comment", "XML:com.adobe.xmp", "Comment", "xmp", "extension"):
        if image.info.get(key):
            found.append(key)
    if b"PK\x03\x04" in data or b"evil.exe" in data:
        found.append("appended-zip")
    if b"secret" in data or b"EvilSoft" in data or b"<script" in data:
        found.append("planted-text")
    return found


class TestJpeg(SanitizerContract):
    name = "bear.jpg"

    def hostile(self) -> bytes:
        return builders.jpeg_with_gps_and_trailer()

    def planted(self, data: bytes) -> list[str]:
        return _metadata(data)

    def assert_benign_survived(self, original: bytes, output: bytes) -> None:
        before, after = Image.open(io.BytesIO(original)), Image.open(io.BytesIO(output))
        assert after.size == before.size and after.format == "JPEG"
        # pixels, not just the size: the mean colour stays within JPEG's loss
        assert (
            abs(
                sum(before.convert("L").get_flattened_data()) / (640 * 480)
                - sum(after.convert("L").get_flattened_data()) / (640 * 480)
            )
            < 2
        )


class TestPng(SanitizerContract):
    name = "figure.png"

    def hostile(self) -> bytes:
        return builders.png_with_text_chunks()

    def planted(self, data: bytes) -> list[str]:
        return _metadata(data)

    def assert_benign_survived(self, original: bytes, output: bytes) -> None:
        before, after = Image.open(io.BytesIO(original)), Image.open(io.BytesIO(output))
        assert list(before.convert("RGB").get_flattened_data()) == list(
            after.convert("RGB").get_flattened_data()
        )


class TestAnimatedGif(SanitizerContract):
    name = "anim.gif"

    def hostile(self) -> bytes:
        return builders.animated_gif()

    def planted(self, data: bytes) -> list[str]:
        return [k for k in _metadata(data) if k == "comment"]

    def assert_benign_survived(self, original: bytes, output: bytes) -> None:
        after = Image.open(io.BytesIO(output))
        assert after.n_frames == 4 and after.size == (120, 90)


class TestMultipageTiff(SanitizerContract):
    name = "scan.tif"

    def hostile(self) -> bytes:
        return builders.multipage_tiff()

    def planted(self, data: bytes) -> list[str]:
        tags = Image.open(io.BytesIO(data)).getexif()
        return [f"tag {t}" for t in (270, 305) if t in tags] + [
            k for k in _metadata(data) if k == "planted-text"
        ]

    def assert_benign_survived(self, original: bytes, output: bytes) -> None:
        after = Image.open(io.BytesIO(output))
        assert after.n_frames == 3 and after.size == (200, 150)


def test_orientation_applied_and_gps_gone(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "rotated.jpg"
    source.write_bytes(builders.jpeg_with_gps_and_trailer(orientation=6))
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED
    output = Image.open(verdict.output)
    assert output.size == (480, 640)  # rotated upright, orientation tag gone
    assert not output.getexif()


@pytest.mark.parametrize("fmt,name", [("BMP", "a.bmp"), ("WEBP", "a.webp")])
def test_other_formats_round_trip(pipeline: Pipeline, tmp_path: Path, fmt: str, name: str) -> None:
    source = tmp_path / name
    source.write_bytes(builders.simple(fmt))
    verdict = pipeline.process(source, name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert Image.open(verdict.output).format == fmt and Image.open(verdict.output).size == (320, 240)


def test_heic_becomes_upright_jpeg(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "IMG_0001.HEIC"
    source.write_bytes(builders.heic_photo())
    # libheif applies the container's rotation on decode; whatever EXIF still says is
    # applied on top by the sanitizer: the upright size is what a viewer shows.
    upright = ImageOps.exif_transpose(Image.open(source)).size
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert verdict.output.endswith("IMG_0001.jpg")
    output = Image.open(verdict.output)
    assert output.format == "JPEG" and output.size == upright and not output.getexif()


@pytest.mark.parametrize(
    "name,bomb",
    [
        ("bomb.png", builders.png_bomb),
        ("bomb.jpg", builders.jpeg_bomb),
        ("bomb.gif", builders.gif_bomb),
        ("bomb.bmp", builders.bmp_bomb),
    ],
)
def test_pixel_bomb_refused_by_its_header(
    pipeline: Pipeline,
    default_policy: Policy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    bomb: Callable[[], bytes],
) -> None:
    """The header alone says 40000×40000: refused by the pixel limit, not by the memory
    limit of a child that believed it and tried to decode (that would be ``memory-limit``)."""
    data = bomb()
    side = builders.BOMB_SIDE
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # let this process read the header as meant
    assert Image.open(io.BytesIO(data)).size == (side, side)
    source = tmp_path / name
    source.write_bytes(data)
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.QUARANTINED
    assert verdict.reason == "limit-exceeded", verdict.message
    assert f"{side}×{side}" in verdict.message
    assert str(default_policy.limits.max_pixels) in verdict.message
    assert verdict.duration_ms < 5000


def test_svg_crosses_only_as_its_pixels(pipeline: Pipeline, tmp_path: Path) -> None:
    """The default policy draws an SVG into a PNG (tests/test_html_svg.py has the attacks)."""
    source = tmp_path / "logo.svg"
    source.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED and verdict.type == "svg"
    assert verdict.output is not None and verdict.output.endswith("logo.png")
    assert Image.open(verdict.output).size == (100, 100)  # no size given: resvg's default


def test_transparency_dpi_and_apng_survive(pipeline: Pipeline, tmp_path: Path) -> None:
    """How a picture looks includes its transparent colour, its print size and its frames."""
    logo = Image.new("P", (60, 40), 0)
    logo.putpalette([255, 255, 255, 200, 30, 30] + [0] * 762)
    logo.paste(1, (10, 10, 50, 30))
    buffer = io.BytesIO()
    logo.save(buffer, "PNG", transparency=0, dpi=(300, 300))
    frames = [Image.new("RGBA", (30, 30), (n * 60, 0, 0, 255)) for n in range(3)]
    animation = io.BytesIO()
    frames[0].save(animation, "PNG", save_all=True, append_images=frames[1:], duration=200, loop=0)
    for name, data in (("logo.png", buffer.getvalue()), ("anim.png", animation.getvalue())):
        (tmp_path / name).write_bytes(data)
    logo_out = Image.open(pipeline.process(tmp_path / "logo.png", "logo.png").output)
    assert logo_out.info.get("transparency") == 0 and round(logo_out.info["dpi"][0]) == 300
    assert (
        logo_out.convert("RGBA").getpixel((0, 0))[3] == 0
        and logo_out.convert("RGBA").getpixel((20, 20))[3] == 255
    )
    anim_out = Image.open(pipeline.process(tmp_path / "anim.png", "anim.png").output)
    assert anim_out.n_frames == 3


def test_metadata_that_cannot_be_read_is_a_damaged_picture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow reads EXIF lazily, from the file: a picture cut short there fails only at
    getexif(). That is a damaged picture (malformed), not an unexpected error that crashes
    the child and takes a whole mail or archive with it."""
    from cdr.errors import MalformedInput
    from cdr.sanitizers import image as image_module

    picture = Image.open(io.BytesIO(builders.simple("PNG")))

    def cut_short() -> None:
        raise OSError("image file is truncated")

    monkeypatch.setattr(picture, "getexif", cut_short)
    with pytest.raises(MalformedInput, match="damaged PNG metadata"):
        image_module._metadata_found(picture)
