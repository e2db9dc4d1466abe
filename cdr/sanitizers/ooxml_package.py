"""Reading an OOXML package (OPC) with limits: members, content types, relationships.

The ZIP itself is opened by ``cdr.zipreader`` with the package limits (member count,
sizes, ratio, names, layout); encrypted members refuse the package. XML is
parsed only by ``parse_part``: lxml with no DTD loading, no entity substitution and no
network; a part that declares a document type at all is refused, so character references
are the only escapes left and lxml has resolved them before anything looks at the text.
"""

from __future__ import annotations

import posixpath
import zipfile
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import unquote

from lxml import etree

from cdr.errors import Encrypted, MalformedInput
from cdr.ooxml_attributes import parse_declaring
from cdr.policy import Limits
from cdr.zipreader import ZipReader, open_zip, package_limits

CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


@dataclass(frozen=True)
class Relationship:
    id: str
    type: str
    target: str
    external: bool

    @property
    def kind(self) -> str:
        """The last segment of the type URI: ``officeDocument``, ``vbaProject``, …"""
        return self.type.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class Package:
    reader: ZipReader
    names: dict[str, zipfile.ZipInfo]  # part name without the leading "/" → entry
    cap: int  # the most bytes one part may inflate to
    defaults: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)

    def content_type(self, part: str) -> str | None:
        found = self.overrides.get("/" + part.lower())
        if found:
            return found
        extension = posixpath.splitext(part)[1].lstrip(".").lower()
        return self.defaults.get(extension)

    def read(self, part: str) -> bytes:
        return self.reader.read(self.names[part.lower()], self.cap)

    def head(self, part: str, size: int) -> bytes:
        """The first ``size`` bytes of a part, inflating no more than that."""
        return self.reader.head(self.names[part.lower()], size)

    def has(self, part: str) -> bool:
        return part.lower() in self.names

    def real_name(self, part: str) -> str:
        return self.names[part.lower()].filename


_HARDENED = {
    "resolve_entities": False,
    "load_dtd": False,
    "no_network": True,
    "huge_tree": True,  # big sheets; without a DTD there is nothing to expand
    "remove_comments": True,
    "remove_pis": True,
}


def parse_part(data: bytes, where: str) -> etree._Element:
    """A part's XML, parsed with the hardened parser; a DTD of any kind is refused."""
    return parse_part_declaring(data, where)[0]


def parse_part_declaring(data: bytes, where: str) -> tuple[etree._Element, frozenset[str]]:
    """``parse_part``, and every namespace the part declares (``cdr/ooxml_attributes.py``)."""
    try:
        root, declared = parse_declaring(data, **_HARDENED)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise MalformedInput(f"{where}: not well-formed XML ({str(exc)[:100]})") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise MalformedInput(f"{where}: XML with a DTD or entities is refused")
    return root, declared


def open_package(src: BinaryIO, limits: Limits) -> Package:
    reader = open_zip(src, package_limits(limits))
    if reader.encrypted:
        raise Encrypted("the package has encrypted members")
    names = {info.filename.lower(): info for info in reader.entries}
    package = Package(reader, names, limits.max_stream_size)
    if not package.has("[Content_Types].xml"):
        raise MalformedInput("not an Office package: [Content_Types].xml is missing")
    root = parse_part(package.read("[Content_Types].xml"), "[Content_Types].xml")
    for node in root:
        if node.tag == f"{{{CT_NS}}}Default":
            package.defaults[node.get("Extension", "").lower()] = node.get("ContentType", "")
        elif node.tag == f"{{{CT_NS}}}Override":
            package.overrides[node.get("PartName", "").lower()] = node.get("ContentType", "")
    return package


_FEED = 1024  # bytes given to the pull parser at a time


def root_tag(head: bytes) -> str | None:
    """The root element's name in Clark notation, read from the start of a part; None when
    the start does not reach it (the full parse decides then)."""
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, load_dtd=False, no_network=True)
    try:
        # Fed a little at a time and left at the first start tag: fed the whole head at
        # once, libxml2 built a tree of every element in it (64 KiB of a sheet: ~12 ms).
        for start in range(0, len(head), _FEED):
            parser.feed(head[start : start + _FEED])
            for _event, element in parser.read_events():
                return element.tag if isinstance(element.tag, str) else None
    except etree.XMLSyntaxError:
        return None
    return None



def rels_name(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def relationships(package: Package, part: str) -> list[Relationship]:
    """The relationships of ``part`` ("" for the package root)."""
    name = rels_name(part) if part else "_rels/.rels"
    if not package.has(name):
        return []
    root = parse_part(package.read(name), name)
    out = []
    for node in root:
        if node.tag != f"{{{REL_NS}}}Relationship":
            continue
        out.append(
            Relationship(
                node.get("Id", ""),
                node.get("Type", ""),
                node.get("Target", ""),
                node.get("TargetMode", "").lower() == "external",
            )
        )
    return out


def resolve(source_part: str, target: str) -> str:
    """A relationship target as a part name (no leading slash)."""
    target = unquote(target.split("#", 1)[0])
    if target.startswith("/"):
        path = target.lstrip("/")
    else:
        path = posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))
    return path.lstrip("/")
