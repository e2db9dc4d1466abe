"""SVG drawings: drawn into a PNG in the sandbox; no byte of the SVG crosses.

An SVG is a program as much as a picture (script, event handlers, foreignObject with HTML,
links, references to other files). Only the picture is wanted, so the drawing is parsed
(lxml: internal entities only, no DTD loaded, no network), cut down to drawable SVG
elements whose references point inside the drawing (or at a raster picture embedded as
``data:``), checked for size and for the fan-out of ``<use>`` (a "billion laughs" of
references), and drawn by resvg, a renderer with no network code at all. resvg does read
pictures from the file system by path — which is why no href other than ``#…`` or an
embedded picture reaches it. The PNG is re-encoded from its pixels like any image.
"""

from __future__ import annotations

import gzip
import io
import re
from typing import BinaryIO

import resvg_py  # imported here so the zygote preloads it for every job
from lxml import etree
from PIL import Image

from cdr.errors import LimitExceeded, MalformedInput
from cdr.model import ActionTaken, FileType, Finding, SanitizeResult
from cdr.sanitizers.base import Context, Sanitizer, read_limited
from cdr.types import types_where

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
# Elements the drawing keeps (resvg draws them); everything else goes with its content:
# script, foreignObject, animation, and the editors' own namespaces (Inkscape, Illustrator).
DRAWABLE = frozenset(
    """svg g defs symbol use path rect circle ellipse line polyline polygon text tspan textPath
    title desc switch a image style linearGradient radialGradient stop pattern clipPath mask
    marker filter feBlend feColorMatrix feComponentTransfer feComposite feConvolveMatrix
    feDiffuseLighting feDisplacementMap feDistantLight feDropShadow feFlood feFuncA feFuncB
    feFuncG feFuncR feGaussianBlur feImage feMerge feMergeNode feMorphology feOffset
    fePointLight feSpecularLighting feSpotLight feTile feTurbulence""".split()
)
# Text is drawn in the CJK fonts the appliance installs (fonts-noto-cjk, Makefile): resvg's
# own default (Times New Roman) is not there, and without a family it finds, no text is drawn.
FONTS = {
    "font_family": "Noto Sans CJK JP",
    "sans_serif_family": "Noto Sans CJK JP",
    "serif_family": "Noto Serif CJK JP",
    "monospace_family": "Noto Sans Mono CJK JP",
}
MAX_EXPANDED = 200_000  # elements drawn once every <use> is followed
MAX_SIDE = 16_384  # pixels on either side of the drawing
DEFAULT_SIDE = 100.0  # what resvg draws a drawing that gives no size at
_UNITS = {"": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54, "in": 96.0, "em": 16.0, "ex": 8.0}
_LENGTH = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(px|pt|pc|mm|cm|in|em|ex|%)?\s*\Z")
_EMBEDDED_PICTURE = re.compile(r"data:image/(?:png|jpeg|jpg|gif|webp);base64,[A-Za-z0-9+/=\s]*\Z", re.I)
# url(…) that does not point at an element of the drawing itself (url(#grad) does)
_OUTSIDE_URL = re.compile(r"url\(\s*[\"']?\s*(?!#)", re.I)
_HREFS = ("href", f"{{{XLINK_NS}}}href")


def _parse(data: bytes, limit: int) -> etree._Element:
    if data[:2] == b"\x1f\x8b":  # .svgz
        try:
            data = gzip.GzipFile(fileobj=io.BytesIO(data)).read(limit + 1)
        except (OSError, EOFError) as exc:
            raise MalformedInput(f"damaged compressed SVG: {exc}") from None
        if len(data) > limit:
            raise LimitExceeded(f"the compressed SVG unpacks to more than {limit} bytes")
    parser = etree.XMLParser(
        resolve_entities="internal", no_network=True, load_dtd=False, huge_tree=False,
        remove_comments=True, remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise MalformedInput(f"not readable as SVG: {str(exc)[:200]}") from None
    if root is None or etree.QName(root).localname != "svg" or etree.QName(root).namespace != SVG_NS:
        raise MalformedInput("the document is not an SVG drawing")
    return root


def _local(element: etree._Element) -> str | None:
    if not isinstance(element.tag, str):
        return None
    name = etree.QName(element)
    return name.localname if name.namespace == SVG_NS else None


def _reference_ok(element: etree._Element, value: str) -> bool:
    value = value.strip()
    if value.startswith("#"):
        return True
    return _local(element) in ("image", "feImage") and bool(_EMBEDDED_PICTURE.match(value))


def _active(root: etree._Element) -> dict[str, int]:
    """What the drawing carries besides the picture (for inspect and the result's actions)."""
    found: dict[str, int] = {}

    def note(kind: str) -> None:
        found[kind] = found.get(kind, 0) + 1

    for element in root.iter():
        local = _local(element)
        if local == "script":
            note("svg-script")
        elif local == "foreignObject":
            note("svg-foreign-object")
        for name, value in element.attrib.items():
            bare = etree.QName(name).localname
            if bare.lower().startswith("on"):
                note("svg-event-handler")
            elif name in _HREFS and not _reference_ok(element, value):
                note("svg-external-reference")
    return found


def _cut_to_drawing(root: etree._Element) -> int:
    """Remove everything that is not a drawable element or a harmless attribute; the count
    of elements and attributes removed. Only what is kept is walked into."""
    removed = 0
    pending = [root]
    while pending:
        element = pending.pop()
        for name in list(element.attrib):
            if not _attribute_ok(element, name, element.attrib[name]):
                del element.attrib[name]
                removed += 1
        for child in list(element):
            if _keeps(child):
                pending.append(child)
            else:
                element.remove(child)  # lxml keeps the child's tail text in place
                removed += 1
    return removed


def _keeps(element: etree._Element) -> bool:
    local = _local(element)
    if local not in DRAWABLE:
        return False
    if local == "style":  # a style sheet that names anything outside the drawing goes whole
        sheet = element.text or ""
        return not (_OUTSIDE_URL.search(sheet) or "@import" in sheet.lower())
    return True


def _attribute_ok(element: etree._Element, name: str, value: str) -> bool:
    qname = etree.QName(name)
    if qname.namespace not in (None, XLINK_NS, XML_NS):
        return False
    if qname.namespace == XML_NS and qname.localname not in ("space", "lang"):
        return False
    if qname.localname.lower().startswith("on"):
        return False
    if name in _HREFS:
        return _reference_ok(element, value)
    if qname.namespace == XLINK_NS:
        return False
    return not _OUTSIDE_URL.search(value) and "@import" not in value.lower()


def _expanded_size(root: etree._Element) -> int:
    """How many elements resvg draws once every <use> is followed; refuses a loop and more
    than MAX_EXPANDED (a few kilobytes of nested <use> can name billions of elements)."""
    # lxml makes a new Python proxy for a node whenever none is alive, so id() of an element
    # is stable only while one is held: every proxy is held here for the whole walk
    alive = list(root.iter())
    by_id = {e.get("id"): e for e in alive if isinstance(e.tag, str) and e.get("id")}
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(element: etree._Element) -> int:
        key = id(element)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise MalformedInput("a <use> refers to itself")
        visiting.add(key)
        total = 1
        for child in element:
            total += size(child)
            if total > MAX_EXPANDED:
                break
        if _local(element) == "use":
            target = by_id.get(next((element.get(h) for h in _HREFS if element.get(h)), "").lstrip("#"))
            if target is not None:
                total += size(target)
        visiting.discard(key)
        if total > MAX_EXPANDED:
            raise LimitExceeded(f"more than {MAX_EXPANDED} elements once its <use> references are followed")
        sizes[key] = total
        return total

    try:
        return size(root)
    except RecursionError:
        raise LimitExceeded("<use> references nested too deep to follow") from None


def _length(value: str | None, relative_to: float | None) -> float | None:
    if value is None:
        return None
    found = _LENGTH.match(value)
    if not found:
        return None
    number, unit = float(found.group(1)), found.group(2) or ""
    if unit == "%":
        return None if relative_to is None else relative_to * number / 100
    return number * _UNITS[unit]


def canvas_size(root: etree._Element) -> tuple[int, int]:
    """The drawing's size in pixels, as resvg reads it (width/height, else the viewBox)."""
    box = (root.get("viewBox") or "").replace(",", " ").split()
    view_w = view_h = None
    if len(box) == 4:
        try:
            view_w, view_h = float(box[2]), float(box[3])
        except ValueError:
            view_w = view_h = None
    width = _length(root.get("width"), view_w) or view_w or DEFAULT_SIDE
    height = _length(root.get("height"), view_h) or view_h or DEFAULT_SIDE
    return max(1, round(width)), max(1, round(height))


def _render(svg: bytes, width: int, height: int) -> Image.Image:
    try:
        png = resvg_py.svg_to_bytes(svg_string=svg.decode("utf-8"), width=width, height=height, **FONTS)
    except ValueError as exc:
        message = str(exc)
        if "limit" in message:
            raise LimitExceeded(f"the renderer refused the drawing: {message[:200]}") from None
        raise MalformedInput(f"the drawing cannot be drawn: {message[:200]}") from None
    picture = Image.open(io.BytesIO(bytes(png)), formats=["PNG"])
    if picture.width > width or picture.height > height:
        raise LimitExceeded(f"the renderer drew {picture.width}×{picture.height}, more than {width}×{height}")
    picture.load()
    return picture


class SvgSanitizer(Sanitizer):
    handles = types_where(sanitizer="svg")

    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        limit = ctx.policy.limits.max_file_size
        root = _parse(read_limited(src, limit), limit)
        return [Finding(kind, "", count) for kind, count in sorted(_active(root).items())]

    def sanitize(self, src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        limit = ctx.policy.limits.max_file_size
        root = _parse(read_limited(src, limit), limit)
        active = _active(root)
        removed = _cut_to_drawing(root)
        _expanded_size(root)
        untrusted_width, untrusted_height = canvas_size(root)
        pixels = ctx.policy.limits.max_pixels
        if max(untrusted_width, untrusted_height) > MAX_SIDE or untrusted_width * untrusted_height > pixels:
            raise LimitExceeded(
                f"a drawing of {untrusted_width}×{untrusted_height} pixels exceeds the limit "
                f"({MAX_SIDE} on a side, {pixels} pixels)"
            )
        picture = _render(etree.tostring(root, encoding="utf-8"), untrusted_width, untrusted_height)
        # a fresh image from the pixels alone: nothing of the renderer's file rides along
        fresh = Image.frombytes(picture.mode, picture.size, picture.tobytes())
        fresh.save(dst, format="PNG", optimize=False)
        actions = [ActionTaken(kind, "removed", count) for kind, count in sorted(active.items())]
        if removed:
            actions.append(ActionTaken("svg-parts", "removed", removed))
        actions.append(ActionTaken("svg", "drawn-as-png"))
        return SanitizeResult(FileType.PNG, tuple(actions), {"width": fresh.width, "height": fresh.height})
