"""Images: decode to pixels, re-encode; nothing but pixels, orientation and ICC survive.

An ICC profile crosses only parsed, size-capped and rebuilt from its colour tags, or as
the standard sRGB profile it matches (``cdr/sanitizers/icc.py``).

Pillow's own containers carry EXIF, XMP, IPTC, comments, text chunks and (for TIFF) tags
across a save, so the pixels are copied into a fresh ``Image`` with an empty ``info``
before encoding: whatever the source carried cannot ride along. HEIC/HEIF (phone photos)
is decoded with pillow-heif and released as JPEG, which every LGWAN PC can open.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from PIL import Image, ImageSequence, UnidentifiedImageError

from cdr.errors import LimitExceeded, MalformedInput
from cdr.model import ActionTaken, FileType, Finding, SanitizeResult
from cdr.sanitizers.base import Context, Sanitizer
from cdr.sanitizers.icc import Fate, clean_profile
from cdr.types import encoder, rebuild_output, row, types_where

try:
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - optional at run time, installed by make
    HEIF_AVAILABLE = False

MAX_FRAMES = 2000
# Pillow's own bomb check is a warning until twice its limit; ours is exact and checked
# from the header, before a single pixel is decoded.
Image.MAX_IMAGE_PIXELS = None

_TRAILERS = {FileType.JPEG: b"\xff\xd9", FileType.PNG: b"IEND\xaeB`\x82", FileType.GIF: b";"}
_LOOP_EXTENSIONS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")
_METADATA_KEYS = (
    "exif",
    "xmp",
    "XML:com.adobe.xmp",
    "comment",
    "comments",
    "photoshop",
    "iptc",
    "dpi_xmp",
    "mp",
    "text",
    "extension",
    "icc_profile",
)


def _open(src: BinaryIO, ctx: Context) -> Image.Image:
    src.seek(0)
    try:
        image = Image.open(src, formats=row(ctx.file_type).codecs)
    except UnidentifiedImageError:
        raise MalformedInput(f"not a readable {ctx.file_type.value} image") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise MalformedInput(f"damaged {ctx.file_type.value} image: {exc}") from None
    untrusted_width, untrusted_height = image.size
    frames = getattr(image, "n_frames", 1)
    limit = ctx.policy.limits.max_pixels
    if untrusted_width <= 0 or untrusted_height <= 0:
        raise MalformedInput("the image has no pixels")
    if frames > MAX_FRAMES:
        raise LimitExceeded(f"{frames} frames (limit {MAX_FRAMES})")
    if untrusted_width * untrusted_height * frames > limit:
        raise LimitExceeded(
            f"{untrusted_width}×{untrusted_height} pixels × {frames} frame(s) exceeds the "
            f"limit of {limit} pixels (decompression bomb?)"
        )
    return image


def _checked_dpi(untrusted: object) -> tuple[float, float] | None:
    if (
        isinstance(untrusted, tuple)
        and len(untrusted) == 2
        and all(isinstance(v, (int, float)) and 1 <= v <= 10_000 for v in untrusted)
    ):
        return float(untrusted[0]), float(untrusted[1])
    return None


def _checked_transparency(untrusted: object, mode: str) -> object | None:
    """The transparent colour, if it has the shape Pillow expects for ``mode``."""
    if mode in ("P", "L", "1") and isinstance(untrusted, int) and 0 <= untrusted <= 65535:
        return untrusted
    if mode == "P" and isinstance(untrusted, bytes) and len(untrusted) <= 256:
        return untrusted
    if (
        mode == "RGB"
        and isinstance(untrusted, tuple)
        and len(untrusted) == 3
        and all(isinstance(v, int) and 0 <= v <= 65535 for v in untrusted)
    ):
        return untrusted
    return None


# EXIF orientation (CIPA DC-008 §4.6.4, tag 0x0112) → the transposition that shows the
# picture upright: the table of Pillow's ImageOps.exif_transpose, which also rewrote the
# EXIF block and the XMP of its copy — work thrown away here, where no metadata crosses.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _clean_frame(frame: Image.Image, orientation: int, only_frame: bool) -> Image.Image:
    """The decoded pixels in a fresh Image that carries no metadata of the source.

    A lone frame shares the decoded pixel memory (``_new``, as Pillow's own ``copy`` does,
    minus the copy): a 12-megapixel photo is not duplicated. Frames of an animation are
    copied, since seeking to the next frame reuses the decoder's buffer. A turned photo
    is transposed once, into new memory, by the orientation of the frame itself.
    """
    frame.load()
    if orientation in range(2, 9):
        turn = _UPRIGHT.get(frame.getexif().get(0x0112, 1))
        pixels = frame.transpose(turn) if turn is not None else frame.copy()
    elif only_frame:
        pixels = frame._new(frame.im)
    else:
        pixels = frame.copy()
    pixels.info = {}
    return pixels


def _mpo_picture(
    image: Image.Image, orientation: int
) -> tuple[Image.Image, int, dict[str | tuple[int, int], Any]]:
    """The first picture of a multi-picture JPEG (CIPA DC-007: a phone's Ultra HDR gain
    map, a stereo pair), the one a JPEG output keeps; how many more there were; and the
    source's ``info`` as it stood after the last one (its resolution is the output's).

    The later pictures are decoded first and dropped: a damaged one still refuses the
    file, as when every frame was kept. The first is decoded last, so its pixels are used
    where they lie instead of copied away from the decoder's next frame (a 12-megapixel
    copy is 48 MB). Pillow's seek ends the pictures with EOFError, as ImageSequence does.
    """
    later = 0
    while True:
        try:
            image.seek(later + 1)
        except EOFError:
            break
        image.load()
        later += 1
    info = dict(image.info)
    image.seek(0)
    return _clean_frame(image, orientation, only_frame=True), later, info


# TIFF keeps its structure in the same tags EXIF uses; these describe pixels, not people.
_TIFF_STRUCTURE = frozenset(
    {
        254,
        255,
        256,
        257,
        258,
        259,
        262,
        266,
        273,
        274,
        277,
        278,
        279,
        282,
        283,
        284,
        296,
        317,
        320,
        322,
        323,
        324,
        325,
        338,
        339,
        530,
        531,
        532,
        34675,
    }
)


def _metadata_found(image: Image.Image) -> list[Finding]:
    findings = []
    try:
        exif = image.getexif()  # reads the file further: a cut-short one fails only here
    except (OSError, ValueError, SyntaxError) as exc:
        raise MalformedInput(f"damaged {image.format or 'image'} metadata: {exc}") from None
    if image.format == "TIFF":
        extra = sorted(tag for tag in exif if tag not in _TIFF_STRUCTURE)
        if extra:
            findings.append(Finding("tiff-tags", f"{len(extra)} descriptive tags: {extra[:10]}"))
    elif len(exif):
        gps = exif.get_ifd(0x8825)
        findings.append(Finding("exif", f"{len(exif)} EXIF tags" + (", with GPS position" if gps else "")))
    for key in _METADATA_KEYS:
        if key in ("exif", "icc_profile"):
            continue
        value = image.info.get(key)
        if key == "extension" and isinstance(value, tuple) and value[0] in _LOOP_EXTENSIONS:
            continue  # the animation loop count: the rebuild writes it itself
        if value:
            findings.append(Finding("metadata", key))
    if getattr(image, "text", None):
        findings.append(Finding("metadata", "text chunks"))
    return findings


class ImageSanitizer(Sanitizer):
    handles = types_where(sanitizer="image")

    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        image = _open(src, ctx)
        findings = _metadata_found(image)
        trailer = _TRAILERS.get(ctx.file_type)
        src.seek(0)
        data = src.read()
        if trailer and not data.rstrip(b"\x00\r\n ").endswith(trailer):
            findings.append(Finding("trailing-data", "bytes after the end of the image"))
        return findings

    def sanitize(self, src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        image = _open(src, ctx)
        removed = _metadata_found(image)
        out_type = rebuild_output(ctx.file_type)
        fmt = encoder(ctx.file_type)
        untrusted_icc = image.info.get("icc_profile") if ctx.policy.image.keep_icc else None
        icc, icc_fate = clean_profile(untrusted_icc if isinstance(untrusted_icc, bytes) else None)
        orientation = image.getexif().get(0x0112, 1)
        only_frame = getattr(image, "n_frames", 1) == 1
        frames, durations, dropped = [], [], 0
        try:
            if image.format == "MPO" and not only_frame:
                picture, dropped, info = _mpo_picture(image, orientation)
                frames.append(picture)
            else:
                for frame in ImageSequence.Iterator(image):
                    durations.append(frame.info.get("duration"))
                    frames.append(_clean_frame(frame, orientation, only_frame))
                info = image.info
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise MalformedInput(f"damaged {ctx.file_type.value} image: {exc}") from None
        options = self._options(fmt, info, frames, icc, ctx)
        if len(frames) > 1 and fmt in ("GIF", "TIFF", "WEBP", "PNG"):  # PNG: APNG animation
            options.update(save_all=True, append_images=frames[1:])
            if fmt in ("GIF", "WEBP", "PNG") and all(d is not None for d in durations):
                options["duration"] = durations
        first = self._encodable(frames[0], fmt)
        first.save(dst, fmt, **options)
        actions = [ActionTaken("pixels", "re-encoded", len(frames) if fmt != "JPEG" else 1)]
        actions += [
            ActionTaken(f.kind if f.kind != "metadata" else f"metadata:{f.detail}", "removed")
            for f in removed
        ]
        if orientation != 1:
            actions.append(ActionTaken("exif-orientation", "applied"))
        if icc_fate == Fate.DROPPED:
            actions.append(ActionTaken("icc-profile", "removed"))
        elif icc_fate == Fate.STANDARD:
            actions.append(ActionTaken("icc-profile", "replaced-by-srgb"))
        if ctx.file_type == FileType.HEIC:
            actions.append(ActionTaken("heic", "converted-to-jpeg"))
        width, height = first.size
        return SanitizeResult(
            out_type, tuple(actions), {"width": width, "height": height, "frames": len(frames) + dropped}
        )

    @staticmethod
    def _encodable(frame: Image.Image, fmt: str) -> Image.Image:
        if fmt == "JPEG" and frame.mode not in ("L", "RGB", "CMYK"):
            return frame.convert("RGB")
        if fmt == "BMP" and frame.mode not in ("1", "L", "P", "RGB", "RGBA"):
            return frame.convert("RGB")
        return frame

    @staticmethod
    def _options(
        fmt: str,
        info: dict[str | tuple[int, int], Any],
        frames: list[Image.Image],
        icc: bytes | None,
        ctx: Context,
    ) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if icc and fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
            options["icc_profile"] = icc
        # Kept because they are how the picture looks, not who made it or where:
        # the print resolution of a scan, and which colour is transparent in a logo.
        dpi = _checked_dpi(info.get("dpi"))
        if dpi and fmt in ("JPEG", "PNG", "TIFF", "BMP"):
            options["dpi"] = dpi
        transparency = _checked_transparency(info.get("transparency"), frames[0].mode)
        if transparency is not None and fmt in ("PNG", "GIF"):
            options["transparency"] = transparency
        if fmt == "JPEG":
            options.update(quality=ctx.policy.image.jpeg_quality, optimize=False)
        elif fmt == "PNG":
            options.update(compress_level=4)
        elif fmt == "GIF" or (fmt == "PNG" and len(frames) > 1):
            loop = info.get("loop")
            if isinstance(loop, int) and 0 <= loop <= 65535:
                options["loop"] = loop
        elif fmt == "TIFF":
            options["compression"] = "tiff_deflate"
        elif fmt == "WEBP":
            options.update(quality=90, method=2)
            loop = info.get("loop")
            if loop is not None:
                options["loop"] = loop
        return options
