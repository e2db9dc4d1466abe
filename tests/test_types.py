"""The catalogue of file types (cdr/types.py) agrees with itself and with the code it feeds.

Every table keyed by file type is derived from the catalogue's rows, so these tests hold
the rows against what actually does the work: the sanitizer families, Pillow's codecs,
the verifiers, and the names released files are given.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cdr.errors import MalformedInput
from cdr.model import Action, FileType
from cdr.policy import Policy
from cdr.sanitizers.base import Context
from cdr.sanitizers.registry import FAMILIES, TABLE, sanitizer_for
from cdr.types import (
    ALLOWED_ACTIONS,
    CATALOGUE,
    EXTENSION_CLAIMS,
    PICTURE_CONTENT_TYPES,
    encoder,
    output_type,
    rebuild_output,
    row,
    types_where,
)
from cdr.verifiers import verifier_for

SANITIZED = [(t, a) for t, actions in ALLOWED_ACTIONS.items() for a in sorted(actions) if a != Action.BLOCK]


def _pillow() -> tuple[dict[str, str], frozenset[str], frozenset[str]]:
    """Pillow's extension table, openers and writers, with the HEIF plugin the sandbox loads."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    Image.init()
    return Image.registered_extensions(), frozenset(Image.OPEN), frozenset(Image.SAVE)


def test_every_file_type_has_a_row() -> None:
    assert set(CATALOGUE) == set(FileType)
    assert all(r.file_type == t for t, r in CATALOGUE.items())


def test_block_is_always_allowed_and_a_type_without_a_family_can_only_be_blocked() -> None:
    for file_type, type_row in CATALOGUE.items():
        assert Action.BLOCK in type_row.actions, file_type
        if type_row.sanitizer is None:
            assert type_row.actions == {Action.BLOCK}, file_type


@pytest.mark.parametrize("file_type", [t for t, r in CATALOGUE.items() if r.sanitizer], ids=str)
def test_each_row_family_handles_exactly_its_actions(file_type: FileType) -> None:
    type_row = row(file_type)
    family = FAMILIES[type_row.sanitizer or ""]
    assert file_type in family.handles
    assert set(TABLE[file_type]) == type_row.actions - {Action.BLOCK}
    assert all(sanitizer is family for sanitizer in TABLE[file_type].values())


def test_a_family_handles_no_type_whose_row_names_another() -> None:
    for name, family in FAMILIES.items():
        assert family.handles == {t for t, r in CATALOGUE.items() if r.sanitizer == name}, name


def test_the_registry_refuses_what_no_row_allows() -> None:
    from cdr.errors import UnsupportedType

    for file_type, actions in ALLOWED_ACTIONS.items():
        for action in set(Action) - actions | {Action.BLOCK}:
            with pytest.raises(UnsupportedType):
                sanitizer_for(file_type, action)


def test_converted_types_become_an_office_open_xml_package() -> None:
    converted = [r for r in CATALOGUE.values() if r.converter is not None]
    assert {r.file_type for r in converted} == {
        FileType.DOC,
        FileType.XLS,
        FileType.PPT,
        FileType.RTF,
        FileType.ODT,
        FileType.ODS,
        FileType.ODP,
        FileType.HTML_SPREADSHEET,
        FileType.XML_SPREADSHEET,
    }
    for type_row in converted:
        assert type_row.converter is not None and type_row.converter.to in types_where(sanitizer="ooxml")
        assert type_row.rebuilds_to == type_row.converter.to  # what the policy promises is what comes out
        # cdr/converters/libreoffice.py finds LibreOffice's output by the filter's extension
        written = type_row.converter.filter.split(":")[0]
        assert f".{written}" == row(type_row.converter.to).extension, type_row.file_type


def test_markup_imports_name_their_filter_and_run_only_offline() -> None:
    """LibreOffice guesses an import filter from the bytes unless told; an HTML table would
    open in Writer/Web. And its HTML import fetches linked pictures: such conversions say so,
    so that the converter refuses to run them outside the network-less sandbox."""
    for file_type in (FileType.HTML_SPREADSHEET, FileType.XML_SPREADSHEET):
        conversion = row(file_type).converter
        assert conversion is not None and conversion.infilter and conversion.fetches_links, file_type
    legacy = [r.converter for r in CATALOGUE.values() if r.sanitizer == "legacy"]
    assert all(c is not None and c.infilter is None and not c.fetches_links for c in legacy)


def test_unsupported_rows_can_only_be_blocked_and_text_as_reads_with_the_same_family() -> None:
    for file_type, type_row in CATALOGUE.items():
        if type_row.unsupported:
            assert type_row.actions == {Action.BLOCK} and type_row.converter is None, file_type
        if type_row.text_as is not None:
            assert Action.TEXT in type_row.actions, file_type
            assert row(type_row.text_as).sanitizer == type_row.sanitizer, file_type
    assert types_where(unsupported=True) == {FileType.ICHITARO, FileType.DOCUWORKS, FileType.HANAKO}


def test_what_honest_software_saves_under_a_spreadsheet_name_is_released_as_a_table() -> None:
    """Every content a name may honestly misname (cdr.types.TAKEN_AS) is taken for a type
    that a policy can release, and by default is released (a spreadsheet or a CSV)."""
    from cdr.types import TAKEN_AS

    policy = Policy()
    for (claimed, content), taken in TAKEN_AS.items():
        assert claimed in {r.category for r in CATALOGUE.values()}
        action = policy.action_for(taken)
        assert action != Action.BLOCK, (claimed, content)
        assert output_type(taken, action) in (FileType.XLSX, FileType.CSV), (claimed, content)


@pytest.mark.parametrize("file_type", [t for t, r in CATALOGUE.items() if r.sanitizer == "image"], ids=str)
def test_image_codecs_are_ones_pillow_opens(file_type: FileType) -> None:
    extensions, openers, writers = _pillow()
    type_row = row(file_type)
    assert type_row.codecs and set(type_row.codecs) <= openers  # Image.open(formats=…) takes only these
    assert extensions[type_row.extension] in type_row.codecs
    assert encoder(file_type) in writers
    assert encoder(file_type) == extensions[row(rebuild_output(file_type)).extension]


def test_a_phone_multi_picture_jpeg_opens_and_a_broken_jpeg_is_malformed() -> None:
    """MPO opens through the JPEG codec; a JPEG Pillow cannot read is malformed input,
    not an internal error (an "MPO" codec name made it a KeyError)."""
    from cdr.sanitizers.image import ImageSanitizer

    mpo = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(mpo, "MPO", save_all=True, append_images=[Image.new("RGB", (8, 8))])
    ctx = Context(FileType.JPEG, Action.REBUILD, "photo.jpg", Policy())
    out = io.BytesIO()
    ImageSanitizer().sanitize(io.BytesIO(mpo.getvalue()), out, ctx)
    assert Image.open(io.BytesIO(out.getvalue())).format == "JPEG"
    with pytest.raises(MalformedInput):
        ImageSanitizer().sanitize(io.BytesIO(b"\xff\xd8\xff\x00" + b"x" * 64), io.BytesIO(), ctx)


def test_an_office_picture_pillow_cannot_read_is_dropped_and_the_document_kept() -> None:
    """The same codec row serves pictures inside Office packages: a JPEG-headed picture
    Pillow cannot read is left out, not a crash of the whole rebuild."""
    import zipfile

    from cdr.sanitizers.ooxml import OoxmlSanitizer
    from tests.office_builders import _picture_package

    broken = _picture_package("image9.jpeg", b"\xff\xd8\xff\x00" + b"x" * 64, "image/jpeg")
    out = io.BytesIO()
    result = OoxmlSanitizer().sanitize(
        io.BytesIO(broken), out, Context(FileType.DOCX, Action.REBUILD, "a.docx", Policy())
    )
    assert ("unreadable-picture", "removed", 1) in [(a.what, a.action, a.count) for a in result.actions]
    with zipfile.ZipFile(out) as package:
        assert "word/document.xml" in package.namelist()
        assert not [n for n in package.namelist() if n.startswith("word/media/image9")]


def test_office_pictures_are_image_types_the_rebuild_reencodes() -> None:
    _pillow()  # every plugin loaded, so that Image.MIME is complete
    for content_type, file_type in PICTURE_CONTENT_TYPES.items():
        assert content_type == content_type.lower() and content_type.startswith("image/")
        assert Action.REBUILD in TABLE[file_type] and rebuild_output(file_type) == file_type
        assert Image.MIME[encoder(file_type)] == content_type  # Pillow names it the same way


def test_released_output_types_have_distinct_extensions() -> None:
    released = {output_type(t, a) for t, a in SANITIZED} - {FileType.UNKNOWN}
    extensions = [row(t).extension for t in released]
    assert len(extensions) == len(set(extensions)), sorted(extensions)
    for file_type in released:  # and a released name claims what it holds
        assert EXTENSION_CLAIMS[row(file_type).extension] == file_type


def test_a_rebuild_becomes_a_type_with_a_sanitizer_or_is_decided_later() -> None:
    for file_type, type_row in CATALOGUE.items():
        if type_row.rebuilds_to is not None:
            assert type_row.rebuilds_to == FileType.UNKNOWN or row(type_row.rebuilds_to).sanitizer, file_type


@pytest.mark.parametrize(("file_type", "action"), SANITIZED, ids=str)
def test_whatever_a_policy_may_release_has_a_verifier(file_type: FileType, action: Action) -> None:
    assert verifier_for(output_type(file_type, action)) is not None
