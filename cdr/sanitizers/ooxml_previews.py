"""Pictures of removed embedded objects: where an OLE object goes, its preview stays.

An embedded object (a Word table in a sheet, a spreadsheet in a slide) carries the picture
Office shows in its place. The rebuild removes the object; without this the place went
empty. Here the picture is kept as a plain picture where it is one the rebuild kept:

- Word: ``<w:object>`` holds a VML shape whose ``v:imagedata`` names the preview; the
  shape moves into a ``<w:pict>`` (the element Word uses for a VML picture), the
  ``o:OLEObject`` stays behind with the object.
- PowerPoint: ``<p:oleObj>`` holds a ``<p:pic>`` (its fallback picture); the picture takes
  the place of the graphic frame that held the object.

The preview of a converted file is a metafile LibreOffice drew as a page-sized PNG beside
it (``cdr.converters.metafile_pictures``): ``drawn_picture`` cuts the metafile's own frame
out of that page, after the PNG has been re-encoded like every picture.
"""

from __future__ import annotations

import io
import struct

from lxml import etree
from PIL import Image, ImageChops

from cdr.sanitizers.ooxml_table import FAMILY

DRAWN_SUFFIX = ".png"  # cdr.converters.metafile_pictures names its drawings so
METAFILE_TYPES = frozenset({"image/x-emf", "image/x-wmf", "image/emf", "image/wmf"})
DRAWN_DPI = 96  # LibreOffice draws a graphic's page at this resolution
_R = frozenset(ns for ns, family in FAMILY.items() if family == "r")
_WMF_PLACEABLE = 0x9AC6CDD7
_EMF_SIGNATURE = b" EMF"


def _reference(element: etree._Element) -> str | None:
    for attribute, value in element.attrib.items():
        if attribute.startswith("{") and attribute[1:].split("}", 1)[0] in _R:
            return value
    return None


def _local(element: etree._Element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def word_object_picture(obj: etree._Element, pictures: set[str]) -> bool:
    """Put the object's VML picture in its place as a ``w:pict``; False when it has none
    naming a kept picture (then the object goes whole, as before)."""
    shapes = [child for child in obj if _local(child) in ("shape", "shapetype") and "vml" in child.tag]
    named = [d for shape in shapes for d in shape.iter() if _local(d) == "imagedata" and _reference(d) in pictures]
    parent = obj.getparent()
    if not named or parent is None:
        return False
    namespace = obj.tag[1:].split("}", 1)[0]
    picture = etree.Element(f"{{{namespace}}}pict")
    for shape in shapes:
        for attribute in [a for a in shape.attrib if a.endswith("}ole")]:  # o:ole marks an object's shape
            del shape.attrib[attribute]
        picture.append(shape)
    obj.addprevious(picture)
    parent.remove(obj)
    return True


def slide_object_picture(ole: etree._Element, pictures: set[str]) -> bool:
    """Put the object's fallback ``p:pic`` where its graphic frame was."""
    frame = next((a for a in ole.iterancestors() if _local(a) == "graphicFrame"), None)
    picture = next(
        (
            child
            for child in ole
            if _local(child) == "pic"
            and any(_local(d) == "blip" and _reference(d) in pictures for d in child.iter())
        ),
        None,
    )
    if frame is None or picture is None or frame.getparent() is None:
        return False
    _give_frame_position(frame, picture)
    frame.addprevious(picture)
    frame.getparent().remove(frame)
    return True


def _give_frame_position(frame: etree._Element, picture: etree._Element) -> None:
    """A fallback picture without a position of its own takes the frame's."""
    shape = next((c for c in picture if _local(c) == "spPr"), None)
    place = next((c for c in frame if _local(c) == "xfrm"), None)
    if shape is None or place is None or any(_local(c) == "xfrm" for c in shape):
        return
    drawing = "http://schemas.openxmlformats.org/drawingml/2006/main"
    xfrm = etree.Element(f"{{{drawing}}}xfrm")
    for child in place:
        xfrm.append(etree.Element(f"{{{drawing}}}{_local(child)}", dict(child.attrib)))
    shape.insert(0, xfrm)


def metafile_inches(head: bytes) -> tuple[float, float] | None:
    """A metafile's own frame in inches, from its header: an EMF's ``rclFrame`` (0.01 mm),
    a placeable WMF's bounding box and units per inch; None when it names none."""
    if len(head) >= 44 and struct.unpack_from("<I", head)[0] == 1 and head[40:44] == _EMF_SIGNATURE:
        left, top, right, bottom = struct.unpack_from("<4i", head, 24)
        return (right - left) / 2540, (bottom - top) / 2540
    if len(head) >= 16 and struct.unpack_from("<I", head)[0] == _WMF_PLACEABLE:
        left, top, right, bottom, inch = struct.unpack_from("<4hH", head, 6)
        return ((right - left) / inch, (bottom - top) / inch) if inch else None
    return None


def drawn_picture(png: bytes, inches: tuple[float, float] | None) -> bytes:
    """The metafile's frame cut out of LibreOffice's page: the graphic sits at its own size
    in the middle of the page when it fits; otherwise (or without a frame) the drawn part
    of the page, found by what is not white."""
    with Image.open(io.BytesIO(png)) as page:
        page.load()
        width, height = page.size
        box = None
        if inches is not None:
            wide, high = round(inches[0] * DRAWN_DPI), round(inches[1] * DRAWN_DPI)
            if 0 < wide <= width and 0 < high <= height:
                left, top = (width - wide) // 2, (height - high) // 2
                box = (left, top, left + wide, top + high)
        if box is None:
            box = Image.eval(page.convert("L"), lambda level: 255 - level).getbbox() or (0, 0, width, height)
        cut = page.crop(box).convert("RGBA")
        # LibreOffice paints its page white; a preview drawn by Office lets the slide or
        # shape beneath show through, so the page's pure white does too
        full = cut.convert("RGB").point(lambda level: 255 if level == 255 else 0)  # per channel
        white = full.convert("L").point(lambda level: 255 if level == 255 else 0)  # all three full
        cut.putalpha(ImageChops.invert(white))
        out = io.BytesIO()
        cut.save(out, "PNG")
        return out.getvalue()
