"""The one way files are written: whole or absent, never over somebody else's name."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath

import pytest

from cdr.durable import durable_file, link_noreplace, replace_file, write_json
from cdr.release import publish


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "half.bin"
    with pytest.raises(OSError), durable_file(target, 0o644) as handle:
        handle.write(b"x" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")
    assert not target.exists()


def test_a_replaced_file_is_whole_with_its_mode_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "head"
    target.write_bytes(b"old")
    replace_file(target, b"new\n", mode=0o640, sync_folder=True)
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["head"]


def test_json_is_utf8_text_with_a_final_newline(tmp_path: Path) -> None:
    write_json(tmp_path / "meta.json", {"input": "請求.csv"}, indent=2)
    assert (tmp_path / "meta.json").read_bytes() == '{\n  "input": "請求.csv"\n}\n'.encode()


@pytest.mark.parametrize("hard_links", [True, False], ids=["link", "no-hard-links"])
def test_a_taken_name_is_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hard_links: bool
) -> None:
    if not hard_links:  # some SMB shares: link() says EPERM, the rename fallback must not overwrite
        monkeypatch.setattr(os, "link", lambda *_: (_ for _ in ()).throw(OSError(errno.EPERM, "no")))
    (tmp_path / "a.pdf").write_bytes(b"staff's file")
    temp = tmp_path / ".cdr-1.partial"
    temp.write_bytes(b"released")
    assert not link_noreplace(temp, tmp_path / "a.pdf")
    assert (tmp_path / "a.pdf").read_bytes() == b"staff's file" and temp.exists()
    assert publish(temp, tmp_path, PurePosixPath("a.pdf")) == PurePosixPath("a (2).pdf")
    assert (tmp_path / "a (2).pdf").read_bytes() == b"released" and not temp.exists()
