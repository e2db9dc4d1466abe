"""The image verifier decodes a JPEG at 1/8 scale (issue 13): libjpeg still reads every
Huffman code of the stream, so what fails to decode at full size fails at 1/8 too, the
size limit is judged from the header's full size, and a sound photo still passes."""

from __future__ import annotations

import dataclasses
import io

import pytest
from PIL import Image, JpegImagePlugin

from cdr.policy import load_policy
from cdr.verifiers import VerifyContext
from cdr.verifiers import image as image_verifier
from tests.conftest import ROOT

POLICY = load_policy(ROOT / "policies" / "default.yaml")


def _jpeg(size: tuple[int, int], progressive: bool = False) -> bytes:
    picture = Image.radial_gradient("L").resize(size).convert("RGB")
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, progressive=progressive)
    return out.getvalue()


def _full_decode_fails(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
            image.load()
    except OSError:
        return True
    return False


def test_a_sound_photo_passes_and_is_decoded_at_an_eighth(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes_at_load: list[tuple[int, int]] = []
    real_load = JpegImagePlugin.JpegImageFile.load

    def load(self: JpegImagePlugin.JpegImageFile) -> object:
        sizes_at_load.append(self.size)
        return real_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", load)
    findings = image_verifier.verify(io.BytesIO(_jpeg((1603, 1201))), VerifyContext(POLICY, "photo.jpg"))
    assert findings == []
    assert sizes_at_load == [(201, 151)]  # ceil(1603 / 8) × ceil(1201 / 8)


@pytest.mark.parametrize("progressive", [False, True])
def test_a_stream_cut_short_fails_as_it_does_at_full_size(progressive: bool) -> None:
    whole = _jpeg((640, 480), progressive)
    cut = whole[: len(whole) // 2]
    assert _full_decode_fails(cut)
    found = image_verifier._Problems()
    image_verifier._decodes(cut, "JPEG", VerifyContext(POLICY, "cut.jpg"), found)
    assert [f.kind for f in found] == ["image-does-not-decode"]
    assert "truncated" in found[0].detail


def test_a_progressive_stream_without_its_huffman_tables_fails_as_at_full_size() -> None:
    # libjpeg needs a progressive scan's tables to read its codes, whatever the output scale.
    broken = _jpeg((640, 480), progressive=True).replace(b"\xff\xc4", b"\xff\xfe", 1)
    assert _full_decode_fails(broken)
    found = image_verifier._Problems()
    image_verifier._decodes(broken, "JPEG", VerifyContext(POLICY, "broken.jpg"), found)
    assert [f.kind for f in found] == ["image-does-not-decode"]


def test_the_pixel_limit_is_judged_on_the_full_size_not_the_eighth() -> None:
    # 1000×800 = 800,000 pixels; an eighth is 125×100 = 12,500, under the limit of 100,000.
    limits = dataclasses.replace(POLICY.limits, max_pixels=100_000)
    policy = dataclasses.replace(POLICY, limits=limits)
    findings = image_verifier.verify(io.BytesIO(_jpeg((1000, 800))), VerifyContext(policy, "big.jpg"))
    assert [(f.kind, f.detail) for f in findings] == [("image-size-not-allowed", "1000×800×1")]
