"""The one ZIP reader against ZIPs built by hand from PKWARE's APPNOTE 6.3.10 (§4.3.7 local
file header, §4.3.12 central directory record, §4.3.16 end of central directory), so that
each lie a hostile archive can tell is told exactly once. Python's own zipfile (3.11 reads
overlapping members without complaint) serves as the independent reader that shows each
built file is a real ZIP, and as the judge of what a sanitizer wrote."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass, replace

import pytest

from cdr.detect import identify_bytes
from cdr.errors import Encrypted, LimitExceeded, MalformedInput
from cdr.model import Action, FileType
from cdr.policy import Limits, Policy
from cdr.sanitizers.archive import PPAP_MESSAGE
from cdr.sanitizers.base import Context
from cdr.sanitizers.ooxml_package import open_package
from cdr.sanitizers.registry import sanitizer_for
from cdr.zipreader import (
    ZipLimits,
    archive_limits,
    as_written,
    is_encrypted,
    name_problem,
    open_zip,
    package_limits,
    read_directory,
)

LOCAL = "<4sHHHHHIIIHH"
CENTRAL = "<4sHHHHHHIIIHHHHHII"
END = "<4sHHHHIIH"
STORED, DEFLATED = 0, 8


@dataclass
class Member:
    """One member as the directory and its local header will tell it (APPNOTE §4.4)."""

    name: bytes
    packed: bytes  # the bytes after the local header
    size: int  # uncompressed
    crc: int
    method: int = STORED
    flags: int = 0
    extra: bytes = b""
    local_name: bytes | None = None  # a local header that names something else
    local_packed_size: int | None = None  # a local header that lies about the size

    def local(self) -> bytes:
        name = self.name if self.local_name is None else self.local_name
        packed_size = len(self.packed) if self.local_packed_size is None else self.local_packed_size
        fields = (b"PK\x03\x04", 20, self.flags, self.method, 0, 0x21, self.crc, packed_size, self.size)
        return struct.pack(LOCAL, *fields, len(name), len(self.extra)) + name + self.extra

    def central(self, offset: int) -> bytes:
        fields = (b"PK\x01\x02", 20, 20, self.flags, self.method, 0, 0x21, self.crc, len(self.packed))
        rest = (self.size, len(self.name), len(self.extra), 0, 0, 0, 0, offset)
        return struct.pack(CENTRAL, *fields, *rest) + self.name + self.extra


def stored(name: str, data: bytes, flags: int = 0, **kw: object) -> Member:
    """A stored member; a name outside ASCII carries the UTF-8 flag (APPNOTE appendix D)."""
    flags |= 0 if name.isascii() else 0x800
    return Member(name.encode(), data, len(data), zlib.crc32(data), flags=flags, **kw)  # type: ignore[arg-type]


def assemble(members: list[Member], prefix: bytes = b"", between: bytes = b"") -> bytes:
    body, offsets = bytearray(prefix), []
    for member in members:
        offsets.append(len(body))
        body += member.local() + member.packed + between
    return _with_directory(bytes(body), [(m, o) for m, o in zip(members, offsets, strict=True)])


def _with_directory(body: bytes, records: list[tuple[Member, int]]) -> bytes:
    central = b"".join(member.central(offset) for member, offset in records)
    end = struct.pack(END, b"PK\x05\x06", 0, 0, len(records), len(records), len(central), len(body), 0)
    return body + central + end


def quoted_overlap_bomb(files: int, kernel_size: int) -> tuple[bytes, list[int]]:
    """David Fifield's "better zip bomb" (WOOT 2019, §3): each file's deflate stream begins
    with a non-final stored block quoting the next file's local header, then runs on into
    the next file's data, down to one shared kernel. Returns the ZIP and what each member
    inflates to."""
    kernel_plain = b"\x00" * kernel_size
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed, plain = squeeze.compress(kernel_plain) + squeeze.flush(), kernel_plain
    chain: list[Member] = []
    for name in reversed([f"{n:04}.txt".encode() for n in range(files)]):
        member = Member(name, packed, len(plain), zlib.crc32(plain), DEFLATED)
        chain.insert(0, member)
        header = member.local()
        quote = b"\x00" + struct.pack("<HH", len(header), len(header) ^ 0xFFFF)  # BFINAL 0, BTYPE 00
        packed, plain = quote + header + packed, header + plain
    records, offset = [], 0
    for member in chain:
        records.append((member, offset))
        offset += len(member.local()) + 5  # the next header follows this one's quoting block header
    return _with_directory(chain[0].local() + chain[0].packed, records), [m.size for m in chain]


# ------------------------------------------------------------------ the hand-built files are real
def test_hand_built_zip_reads_with_zipfile_and_the_reader() -> None:
    data = assemble([stored("a.txt", b"hello\n"), stored("b/c.txt", b"world\n")])
    assert zipfile.ZipFile(io.BytesIO(data)).read("b/c.txt") == b"world\n"
    reader = open_zip(io.BytesIO(data), as_written(archive_limits(Limits())))
    assert [reader.read(i, 100) for i in reader.entries] == [b"hello\n", b"world\n"]


# ------------------------------------------------------------------ overlapping members
def test_quoted_overlap_bomb_is_refused_though_every_member_is_small() -> None:
    data, sizes = quoted_overlap_bomb(files=60, kernel_size=512 << 10)
    independent = zipfile.ZipFile(io.BytesIO(data))  # zipfile 3.11 inflates every member
    assert len(independent.read(independent.infolist()[-1])) == 512 << 10
    assert sum(sizes) > 30 * len(data)  # far past any honest ratio for the file as a whole
    assert max(sizes) < 1 << 20  # yet each member alone is below the ratio check's floor
    with pytest.raises(MalformedInput, match="overlaps"):
        open_zip(io.BytesIO(data), archive_limits(Limits()))


def test_full_overlap_many_records_one_local_file() -> None:
    """Fifield §2: every directory record points at the same local file."""
    member = stored("a.txt", b"A" * 1000)
    body = member.local() + member.packed
    data = _with_directory(body, [(member, 0), (member, 0), (member, 0)])
    assert len(zipfile.ZipFile(io.BytesIO(data)).infolist()) == 3
    with pytest.raises(MalformedInput, match="overlaps"):
        open_zip(io.BytesIO(data), archive_limits(Limits()))


def test_detection_still_says_zip_and_the_archive_sanitizer_refuses() -> None:
    """Detection reads only the directory; the sanitizer's reader turns the bomb away, so the
    verdict names what it is instead of an unknown type."""
    data, _ = quoted_overlap_bomb(files=20, kernel_size=64 << 10)
    assert identify_bytes(data, "bomb.zip").file_type == FileType.ZIP
    ctx = Context(FileType.ZIP, Action.REBUILD, "bomb.zip", Policy())
    with pytest.raises(MalformedInput):
        sanitizer_for(FileType.ZIP, Action.REBUILD).sanitize(io.BytesIO(data), io.BytesIO(), ctx)


# ------------------------------------------------------------------ local headers that lie
@pytest.mark.parametrize(
    "lie",
    [{"local_name": b"evil.exe"}, {"local_packed_size": 3}],
    ids=["other-name", "other-size"],
)
def test_local_header_that_disagrees_with_the_directory(lie: dict[str, object]) -> None:
    data = assemble([stored("memo.txt", b"hello\n", **lie), stored("b.txt", b"x")])
    with pytest.raises(MalformedInput, match="disagrees"):
        open_zip(io.BytesIO(data), archive_limits(Limits()))


def test_a_record_pointing_at_no_local_header() -> None:
    member = stored("a.txt", b"hello")
    data = _with_directory(member.local() + member.packed, [(member, 3)])
    with pytest.raises(MalformedInput, match="no local header"):
        open_zip(io.BytesIO(data), archive_limits(Limits()))


# ------------------------------------------------------------------ bytes outside the members
def test_stray_bytes_are_refused_only_in_our_own_outputs() -> None:
    """A self-extractor's stub before the members is common in what people send (the archive
    is rebuilt anyway); in a ZIP this appliance wrote, nothing may hide there."""
    limits = archive_limits(Limits())
    for prefix, between in ((b"MZ" + b"\x00" * 62, b""), (b"", b"hidden")):
        data = assemble([stored("a.txt", b"a"), stored("b.txt", b"b")], prefix, between)
        assert [i.filename for i in open_zip(io.BytesIO(data), limits).entries] == ["a.txt", "b.txt"]
        with pytest.raises(MalformedInput, match="outside any member"):
            open_zip(io.BytesIO(data), as_written(limits))


# ------------------------------------------------------------------ encryption
def test_encrypted_flag_and_aes_extra_field() -> None:
    aes_extra = struct.pack("<HHH2sBH", 0x9901, 7, 2, b"AE", 3, DEFLATED)
    flagged = assemble([stored("a.txt", b"x", flags=0x1)])
    aes_only = assemble([stored("a.txt", b"x", extra=aes_extra)])  # bit 0 left clear: a lie
    for data in (flagged, aes_only):
        reader = open_zip(io.BytesIO(data), archive_limits(Limits()))
        assert reader.encrypted and is_encrypted(reader.entries[0])
        with pytest.raises(Encrypted):
            open_package(io.BytesIO(data), Limits())
        ctx = Context(FileType.ZIP, Action.REBUILD, "a.zip", Policy())
        with pytest.raises(Encrypted, match="PPAP") as caught:
            sanitizer_for(FileType.ZIP, Action.REBUILD).sanitize(io.BytesIO(data), io.BytesIO(), ctx)
        assert str(caught.value) == PPAP_MESSAGE
    assert identify_bytes(aes_only, "a.zip").encrypted


# ------------------------------------------------------------------ names
@pytest.mark.parametrize(
    "name",
    ["../../etc/cron.d/x", "/etc/passwd", "C:/Windows/x.txt", "..\\..\\x.txt", "a/./b.txt", "a\x00.bat",
     "invoice\u202etxt.exe", "x" * 1100],
)  # fmt: skip
def test_dangerous_names(name: str) -> None:
    assert name_problem(name)
    for flags in (0, 0x800):  # a UTF-8 name without the UTF-8 flag is judged as UTF-8 too
        member = Member(name.encode(), b"x", 1, zlib.crc32(b"x"), flags=flags)
        data = assemble([stored("[Content_Types].xml", b"<Types/>"), member])
        with pytest.raises(MalformedInput, match="dangerous name"):
            open_package(io.BytesIO(data), Limits())


def test_archive_members_with_escaping_names_are_refused_and_listed() -> None:
    """An archive is repacked, not refused: a member whose name climbs out or is absolute is
    left out and listed; a Windows backslash path is only rewritten (zipfile judges)."""
    names = ["../../evil.txt", "/etc/cron.d/evil.txt", "C:/evil.txt", "..\\..\\win.txt", "dir\\ok.txt", "ok.txt"]
    data = assemble([stored(name, b"hello\n") for name in names])
    out = io.BytesIO()
    ctx = Context(FileType.ZIP, Action.TEXT, "a.zip", Policy())
    sanitizer_for(FileType.ZIP, Action.REBUILD).sanitize(io.BytesIO(data), out, ctx)
    archive = zipfile.ZipFile(out)
    assert archive.namelist() == ["dir/ok.txt", "ok.txt", "cdr-removed.txt"]
    listing = archive.read("cdr-removed.txt").decode("utf-8-sig").splitlines()[2:]
    assert [line.split("\t")[0] for line in listing] == names[:4]
    assert all("malformed: " in line for line in listing)


@pytest.mark.parametrize(("first", "second"), [("README.txt", "readme.txt"), ("caf\u00e9.xml", "cafe\u0301.xml")])
def test_names_that_collide_once_normalised(first: str, second: str) -> None:
    data = assemble([stored(first, b"a"), stored(second, b"b")])
    with pytest.raises(MalformedInput, match="duplicate"):
        open_zip(io.BytesIO(data), package_limits(Limits()))


# ------------------------------------------------------------------ sizes, counts, depth
def _limits(**changes: int) -> ZipLimits:
    return replace(archive_limits(Limits()), **changes)


def test_member_count_total_size_ratio_and_member_size() -> None:
    many = assemble([stored(f"{n}.txt", b"x") for n in range(11)])
    with pytest.raises(LimitExceeded, match="11 members"):
        open_zip(io.BytesIO(many), _limits(members=10))
    with pytest.raises(LimitExceeded, match="bytes when unpacked"):
        open_zip(io.BytesIO(many), _limits(total_size=10))
    with pytest.raises(LimitExceeded, match="bytes unpacked"):
        open_zip(io.BytesIO(many), _limits(member_size=0))
    plain = b"\x00" * (4 << 20)
    squeezed = zlib.compress(plain, 9)[2:-4]
    bomb = assemble([Member(b"zeros.txt", squeezed, len(plain), zlib.crc32(plain), DEFLATED)])
    with pytest.raises(LimitExceeded, match="compression ratio"):
        open_zip(io.BytesIO(bomb), archive_limits(Limits()))


def test_nesting_depth() -> None:
    data = assemble([stored("a.txt", b"x")])
    limits = archive_limits(Limits(archive_depth=2))
    open_zip(io.BytesIO(data), limits, depth=1)
    with pytest.raises(LimitExceeded, match="nested deeper than 2"):
        open_zip(io.BytesIO(data), limits, depth=2)


def test_read_stops_at_the_cap_whatever_was_declared() -> None:
    """A member that declares 100 bytes but inflates to 16 MiB: never more than the cap (or
    the declared size) is inflated, and the lie ends as damaged input, not as memory."""
    plain = b"\x00" * (16 << 20)
    squeezed = zlib.compress(plain, 9)[2:-4]
    data = assemble([Member(b"liar.txt", squeezed, 100, zlib.crc32(plain), DEFLATED)])
    reader = open_zip(io.BytesIO(data), archive_limits(Limits()))
    with pytest.raises(MalformedInput):
        reader.read(reader.entries[0], 1 << 20)
    honest = assemble([stored("a.txt", b"y" * 5000)])
    reader = read_directory(io.BytesIO(honest))
    with pytest.raises(LimitExceeded, match="more than 4096 bytes"):
        reader.read(reader.entries[0], 4096)


# ------------------------------------------------------------------ the writer
def test_written_zip_depends_only_on_its_members(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed date, Unix attributes, no comment: another clock gives the same bytes, and the
    reader accepts the result as laid out by us (contiguous, names clean)."""
    import time

    from cdr.zipwriter import write_zip

    members = [("報告/memo.txt", "熊\n".encode()), ("a.csv", b"1,2\r\n")]
    first = io.BytesIO()
    write_zip(first, members)
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)  # zipfile's clock, 2033
    second = io.BytesIO()
    write_zip(second, members)
    assert first.getvalue() == second.getvalue()
    archive = zipfile.ZipFile(first)
    assert [(i.filename, i.date_time, i.create_system, i.external_attr >> 16) for i in archive.infolist()] == [
        ("報告/memo.txt", (1980, 1, 1, 0, 0, 0), 3, 0o100600),
        ("a.csv", (1980, 1, 1, 0, 0, 0), 3, 0o100600),
    ]
    assert archive.comment == b""
    open_zip(first, as_written(package_limits(Limits())))


def test_our_own_outputs_are_not_judged_by_ratio() -> None:
    """A rebuilt sheet of repetitive XML deflates far past 100:1; the verifier must not
    quarantine it for what our own writer did (the sizes still count)."""
    from cdr.zipwriter import write_zip

    out = io.BytesIO()
    write_zip(out, [("xl/worksheets/sheet1.xml", b"<c><v>0</v></c>" * (200 << 10))])
    with pytest.raises(LimitExceeded, match="compression ratio"):
        open_zip(out, archive_limits(Limits()))
    assert len(open_zip(out, as_written(archive_limits(Limits()))).entries) == 1
    with pytest.raises(LimitExceeded, match="bytes unpacked"):
        open_zip(out, as_written(archive_limits(Limits(max_file_size=1 << 20))))
