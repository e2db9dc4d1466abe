"""Reading an OOXML package (OPC) with limits: members, content types, relationships.

Every name, size and ratio in the ZIP directory is untrusted until checked here. XML is
parsed only by ``parse_part``: lxml with no DTD loading, no entity substitution and no
network; a part that declares a document type at all is refused, so character references
are the only escapes left and lxml has resolved them before anything looks at the text.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import unquote

from lxml import etree

from cdr.errors import Encrypted, LimitExceeded, MalformedInput
from cdr.policy import Limits

CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
MAX_PARTS = 20_000
RATIO_FLOOR = 1 << 20  # ratios are judged only for members larger than this


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
    archive: zipfile.ZipFile
    names: dict[str, zipfile.ZipInfo]  # part name without the leading "/" → entry
    defaults: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)

    def content_type(self, part: str) -> str | None:
        found = self.overrides.get("/" + part.lower())
        if found:
            return found
        extension = posixpath.splitext(part)[1].lstrip(".").lower()
        return self.defaults.get(extension)

    def read(self, part: str) -> bytes:
        info = self.names[part.lower()]
        try:
            return self.archive.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise MalformedInput(f"{info.filename[:100]}: damaged member ({str(exc)[:80]})") from None

    def head(self, part: str, size: int) -> bytes:
        """The first ``size`` bytes of a part, inflating no more than that."""
        info = self.names[part.lower()]
        try:
            with self.archive.open(info) as member:
                return member.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise MalformedInput(f"{info.filename[:100]}: damaged member ({str(exc)[:80]})") from None

    def has(self, part: str) -> bool:
        return part.lower() in self.names

    def real_name(self, part: str) -> str:
        return self.names[part.lower()].filename


_HARDENED = etree.XMLParser(
    resolve_entities=False,
    load_dtd=False,
    no_network=True,
    huge_tree=True,  # big sheets; without a DTD there is nothing to expand
    remove_comments=True,
    remove_pis=True,
)


def parse_part(data: bytes, where: str) -> etree._Element:
    """A part's XML, parsed with the hardened parser; a DTD of any kind is refused."""
    try:
        root = etree.fromstring(data, _HARDENED)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise MalformedInput(f"{where}: not well-formed XML ({str(exc)[:100]})") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise MalformedInput(f"{where}: XML with a DTD or entities is refused")
    return root



def _check_name(name: str) -> None:
    if (
        not name
        or name.startswith(("/", "\\"))
        or "\\" in name
        or "\x00" in name
        or any(p in ("..", ".") for p in name.split("/"))
        or len(name) > 1024
    ):
        raise MalformedInput(f"package member with a dangerous name: {name[:100]!r}")


def open_package(src: BinaryIO, limits: Limits) -> Package:
    src.seek(0)
    try:
        archive = zipfile.ZipFile(src)
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise MalformedInput(f"not a readable Office package: {exc}") from None
    if len(infos) > MAX_PARTS:
        raise LimitExceeded(f"{len(infos)} package members (limit {MAX_PARTS})")
    names: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        _check_name(info.filename)
        if info.flag_bits & 0x1:
            raise Encrypted("the package has encrypted members")
        key = info.filename.lower()
        if key in names:
            raise MalformedInput(f"duplicate package member {info.filename!r}")
        if info.file_size > limits.max_stream_size:
            raise LimitExceeded(
                f"{info.filename}: {info.file_size} bytes unpacked (limit {limits.max_stream_size})"
            )
        total += info.file_size
        if total > limits.archive_total_size:
            raise LimitExceeded(f"more than {limits.archive_total_size} bytes when unpacked")
        if info.file_size > RATIO_FLOOR and info.file_size > limits.archive_ratio * max(
            info.compress_size, 1
        ):
            raise LimitExceeded(
                f"{info.filename}: compression ratio above {limits.archive_ratio} (zip bomb?)"
            )
        names[key] = info
    package = Package(archive, names)
    if not package.has("[Content_Types].xml"):
        raise MalformedInput("not an Office package: [Content_Types].xml is missing")
    root = parse_part(package.read("[Content_Types].xml"), "[Content_Types].xml")
    for node in root:
        if node.tag == f"{{{CT_NS}}}Default":
            package.defaults[node.get("Extension", "").lower()] = node.get("ContentType", "")
        elif node.tag == f"{{{CT_NS}}}Override":
            package.overrides[node.get("PartName", "").lower()] = node.get("ContentType", "")
    return package


def root_tag(head: bytes) -> str | None:
    """The root element's name in Clark notation, read from the start of a part; None when
    the start does not reach it (the full parse decides then)."""
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, load_dtd=False, no_network=True)
    try:
        parser.feed(head)
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
