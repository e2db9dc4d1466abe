"""ZIP outputs that are the same bytes every time: archives and Office packages are written here.

zipfile stamps each member with the local time of the run, and its attributes with the
host's platform; neither belongs in a released file. Here every member gets the DOS epoch
(1980-01-01 00:00), Unix as its maker, plain ``rw-------`` permissions, deflate at zlib's
default level, no extra fields and no comment, in the order the caller gives — so the same
input under the same policy and version gives the same output, which can be compared and
cached by its hash.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import BinaryIO

FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP can say
_UNIX = 3
_REGULAR_FILE = 0o100600 << 16


def fixed_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = _UNIX
    info.external_attr = _REGULAR_FILE
    return info


def write_zip(dst: BinaryIO, members: Iterable[tuple[str, bytes]]) -> None:
    """Write ``members`` (name, bytes) in the given order; the bytes depend on nothing else."""
    buffer = io.BytesIO()  # a seekable buffer: sizes go in the local headers, no descriptors
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in members:
            out.writestr(fixed_info(name), data)
    dst.write(buffer.getbuffer())
