"""PDF rebuild: a fresh file holding only allow-listed structure.

The new document is built page by page from new dictionaries that carry only the keys a
page needs to look right (geometry, rotation, resources, contents); everything is copied
into a new ``pikepdf.Pdf`` by following those keys alone, so whatever the source hangs
elsewhere — the Names tree with JavaScript, OpenAction, embedded files, XFA, thumbnails,
incremental updates, bytes after %%EOF — is never reached and never written.

Annotations are rebuilt from an allow-list: links to a page of this document, links to
`http`/`https`/`mailto` (per policy), and markup (highlight, note, ink…) without actions.
Form fields stay fillable, rebuilt without any action or script (``pdf_forms``); tags,
the document's language, page labels and layers are rebuilt as data (``pdf_structure``).
The outline is rebuilt from titles and in-document destinations. What pages draw with (fonts, graphics
states, patterns, images, forms…) is cleaned role by role down to nested direct
dictionaries (``pdf_clean``), with every stream measured by its decoded size; whatever is
left is checked again by an independent allow-list (``cdr/verifiers/pdf.py``).
"""

from __future__ import annotations

import io
from collections import Counter
from typing import BinaryIO

import pikepdf
from pikepdf import Array, Dictionary, Name, OutlineItem, Stream, String

from cdr.errors import LimitExceeded, MalformedInput
from cdr.model import ActionTaken, FileType, Finding, SanitizeResult
from cdr.names import display
from cdr.sanitizers.base import Context, Sanitizer
from cdr.sanitizers.pdf_clean import Cleaner, copy_fields, copy_inert, is_inert
from cdr.sanitizers.pdf_content import clean_default_appearance
from cdr.sanitizers.pdf_data import rewrite_streams
from cdr.sanitizers.pdf_forms import FormRebuild
from cdr.sanitizers.pdf_inspect import open_pdf, raw_structure, uri_allowed, walk
from cdr.sanitizers.pdf_structure import StructureRebuild
from cdr.types import types_where

PAGE_KEYS = (
    "/MediaBox",
    "/CropBox",
    "/BleedBox",
    "/TrimBox",
    "/ArtBox",
    "/Rotate",
    "/Contents",
    "/UserUnit",
    "/Group",
    "/Tabs",
)
INHERITABLE = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
PAGE_ROLES = {"/Contents": "content", "/Group": "group"}  # the other page keys hold numbers only
MARKUP = frozenset(
    {
        "/Text",
        "/Highlight",
        "/Underline",
        "/StrikeOut",
        "/Squiggly",
        "/Square",
        "/Circle",
        "/Line",
        "/Polygon",
        "/PolyLine",
        "/Ink",
        "/FreeText",
        "/Stamp",
        "/Caret",
        "/Watermark",
    }
)
BORDER_STYLE_KEYS = frozenset({"/Type", "/W", "/S", "/D"})  # 12.5.4, table 166
BORDER_EFFECT_KEYS = frozenset({"/S", "/I"})  # table 167
ANNOT_KEYS = (
    "/Rect",
    "/Contents",
    "/C",
    "/CA",
    "/F",
    "/Border",
    "/QuadPoints",
    "/InkList",
    "/Vertices",
    "/L",
    "/T",
    "/M",
    "/NM",
    "/Name",
    "/IC",
    "/LE",
    "/DA",
    "/Q",
    "/RD",
    "/CreationDate",
    "/Subj",
    "/IT",
    "/LL",
    "/LLE",
    "/CL",
    "/AS",
)
MAX_DEPTH = 32
FLATE_LEVEL = 1
# made once: each Name.X lookup builds a new object, and a document may hold thousands of links
_ANNOT, _LINK, _URI = Name.Annot, Name.Link, Name.URI
MAX_OUTLINE_ITEMS = 20_000
MAX_ANNOTS_PER_PAGE = 5_000
INFO_KEYS = (
    "/Title",
    "/Author",
    "/Subject",
    "/Keywords",
    "/Creator",
    "/Producer",
    "/CreationDate",
    "/ModDate",
)


def _name(obj: object) -> str:
    return str(obj) if isinstance(obj, Name) else ""


def _inherited(page: Dictionary, key: str) -> object | None:
    node, depth = page, 0
    while isinstance(node, Dictionary) and depth < MAX_DEPTH:
        if key in node:
            return node.get(key)
        node, depth = node.get("/Parent"), depth + 1
    return None


class _Rebuild:
    def __init__(self, src: pikepdf.Pdf, ctx: Context) -> None:
        self.src = src
        self.ctx = ctx
        self.dropped: Counter[str] = Counter()
        self.cleaned: set[tuple[int, int]] = set()
        self.page_index = {p.obj.objgen: i for i, p in enumerate(src.pages)}
        self.cleaner = Cleaner(ctx.policy.limits, self.dropped)
        self.dst = pikepdf.new()
        self.forms = FormRebuild(src, self.dst, self.cleaner, self.dropped, self.appearance)
        self.annotation_map: dict[tuple[int, int], Dictionary] = {}  # source → rebuilt annotation
        self.kept: Counter[str] = Counter()

    # -------------------------------------------------------------- pages
    def page(self, page: pikepdf.Page) -> Dictionary:
        source = page.obj
        clean = Dictionary(Type=Name.Page)
        for key in PAGE_KEYS:
            value = _inherited(source, key) if key in INHERITABLE else source.get(key)
            role = PAGE_ROLES.get(key)
            if value is not None and (self.cleaner.keep(value, role) if role else is_inert(value)):
                clean[key] = value
        if "/MediaBox" not in clean:
            clean["/MediaBox"] = Array([0, 0, 612, 792])
        resources = _inherited(source, "/Resources")
        clean["/Resources"] = resources if self.cleaner.keep(resources, "resources") else Dictionary()
        for key in source.keys():
            if key not in (*PAGE_KEYS, "/Type", "/Parent", "/Resources", "/Annots", "/StructParents"):
                self.dropped[f"page-{key.lstrip('/').lower()}"] += 1
        return clean

    # -------------------------------------------------------------- destinations
    def _named_destination(self, name: object) -> object | None:
        root = self.src.Root
        try:
            if isinstance(name, Name) and isinstance(root.get("/Dests"), Dictionary):
                return root.Dests.get(name)
            names = root.get("/Names")
            if isinstance(names, Dictionary) and isinstance(names.get("/Dests"), Dictionary):
                tree = pikepdf.NameTree(names.Dests)
                key = str(name) if not isinstance(name, Name) else str(name)[1:]
                return tree.get(key)
        except (pikepdf.PdfError, KeyError, ValueError, TypeError):
            return None
        return None

    def destination(self, dest: object, depth: int = 0) -> tuple[int, list[object]] | None:
        """A destination in this document as (page index, view arguments), or None."""
        if depth > 4 or dest is None:
            return None
        if isinstance(dest, (Name, pikepdf.String, str)):
            return self.destination(self._named_destination(dest), depth + 1)
        if isinstance(dest, Dictionary):
            return self.destination(dest.get("/D"), depth + 1)
        if isinstance(dest, Array) and len(dest) >= 1:
            target = dest[0]
            index = self.page_index.get(target.objgen) if isinstance(target, Dictionary) else None
            if index is None:
                return None
            view = [
                v
                for v in list(dest)[1:6]
                if isinstance(v, (Name, int, float, pikepdf.Object))
                and not isinstance(v, (Dictionary, Array, Stream))
            ]
            return index, view
        return None

    def _dst_destination(self, target: tuple[int, list[object]]) -> Array:
        index, view = target
        view = view or [Name.Fit]
        return Array([self.dst.pages[index].obj, *view])

    # -------------------------------------------------------------- annotations
    def annotations(self, source_page: pikepdf.Page, page: Dictionary) -> list[Dictionary]:
        """The page's annotations rebuilt into the new document (``page``), each indirect."""
        annots = source_page.obj.get("/Annots")
        if not isinstance(annots, Array):
            return []
        clean: list[Dictionary] = []
        for annot in list(annots)[:MAX_ANNOTS_PER_PAGE]:
            if not isinstance(annot, Dictionary):
                continue
            subtype = _name(annot.get("/Subtype"))
            if subtype == "/Widget":
                rebuilt = self.forms.widget(annot, page)
            elif subtype == "/Link":
                rebuilt = self.link(annot)
            elif subtype in MARKUP:
                rebuilt = self.markup(annot, subtype)
            else:
                rebuilt = None
                self.dropped[f"annotation-{subtype.lstrip('/').lower() or 'unknown'}"] += 1
            if rebuilt is not None:
                rebuilt = self.dst.make_indirect(rebuilt)
                clean.append(rebuilt)
                if annot.is_indirect:
                    self.annotation_map.setdefault(annot.objgen, rebuilt)
        return clean

    def link(self, annot: Dictionary) -> Dictionary | None:
        rect = annot.get("/Rect")
        if not isinstance(rect, Array):
            return None
        base = Dictionary(
            {"/Type": _ANNOT, "/Subtype": _LINK, "/Rect": copy_inert(rect), "/Border": Array([0, 0, 0])}
        )
        action = annot.get("/A")
        if "/AA" in annot:
            self.dropped["annotation-additional-actions"] += 1
        if action is None and "/Dest" in annot:
            return self._go_to(base, annot.get("/Dest"))
        if not isinstance(action, Dictionary):
            self.dropped["link-without-action"] += 1
            return None
        kind = _name(action.get("/S"))
        if kind == "/GoTo":
            return self._go_to(base, action.get("/D"))
        if kind == "/URI":
            uri = str(action.get("/URI", "")).strip()
            if uri_allowed(uri, self.ctx.policy.pdf.links) and len(uri) < 4096 and uri.isprintable():
                base["/A"] = Dictionary({"/S": _URI, "/URI": pikepdf.String(uri)})
                return base
            self.dropped["link-uri-disallowed"] += 1
            return None
        self.dropped[f"action-{kind.lstrip('/').lower() or 'unknown'}"] += 1
        return None

    def _go_to(self, base: Dictionary, dest: object) -> Dictionary | None:
        """A link within the document, by /Dest or a GoTo action: kept only when the
        destination resolves to a kept page, and then always as a plain /Dest."""
        target = self.destination(dest)
        if target is None:
            self.dropped["link-unresolved"] += 1
            return None
        base["/Dest"] = self._dst_destination(target)
        return base

    def markup(self, annot: Dictionary, subtype: str) -> Dictionary:
        clean = Dictionary(Type=Name.Annot, Subtype=Name(subtype))
        for key in ANNOT_KEYS:
            if key in annot:
                value = copy_inert(annot.get(key))
                if value is not None:
                    clean[key] = value
        if "/DA" in clean:  # a free-text note's font and colour, nothing else (pdf_content)
            appearance = clean_default_appearance(clean.DA)
            clean["/DA"] = appearance if appearance is not None else String("/Helv 12 Tf 0 g")
        if "/Q" in clean and clean.Q not in (0, 1, 2):
            del clean["/Q"]
        for key, fields in (("/BS", BORDER_STYLE_KEYS), ("/BE", BORDER_EFFECT_KEYS)):
            value = annot.get(key)
            if isinstance(value, Dictionary):
                clean[key] = copy_fields(value, fields)
        appearance = annot.get("/AP")
        if isinstance(appearance, Dictionary):
            clean["/AP"] = self.appearance(appearance)
        for key in ("/A", "/AA"):
            if key in annot:
                self.dropped["annotation-action"] += 1
        return clean

    def appearance(self, appearance: Dictionary) -> Dictionary:
        clean = Dictionary()
        for state in ("/N", "/R", "/D"):
            value = appearance.get(state)
            if isinstance(value, Stream) and self.cleaner.keep(value, "form"):
                clean[state] = self.dst.copy_foreign(value)
            elif isinstance(value, Dictionary):
                sub = Dictionary()
                # by name: keys() is a set whose order each process draws anew, and the
                # order of the copies numbers the output's objects (same input, same bytes)
                for key in sorted(value.keys())[:64]:
                    item = value.get(key)
                    if isinstance(item, Stream) and self.cleaner.keep(item, "form"):
                        sub[key] = self.dst.copy_foreign(item)
                clean[state] = sub
        return clean

    # -------------------------------------------------------------- outline
    def outline(self) -> None:
        count = [0]
        try:
            with self.src.open_outline(max_depth=12) as source:
                items = self._outline_items(source.root, 0, count)
        except (pikepdf.PdfError, pikepdf.OutlineStructureError, RecursionError, ValueError, TypeError):
            self.dropped["outline-damaged"] += 1
            return
        if items:
            with self.dst.open_outline() as target:
                target.root.extend(items)
            self.kept["outline-items"] = min(count[0], MAX_OUTLINE_ITEMS)

    def _outline_items(self, items: list[OutlineItem], depth: int, count: list[int]) -> list[OutlineItem]:
        out: list[OutlineItem] = []
        for item in items:
            count[0] += 1
            if count[0] > MAX_OUTLINE_ITEMS or depth > 12:
                break
            dest = item.destination
            if dest is None and isinstance(item.action, Dictionary):
                if _name(item.action.get("/S")) == "/GoTo":
                    dest = item.action.get("/D")
                else:
                    self.dropped["outline-action"] += 1
            target = self.destination(dest)
            clean = OutlineItem(
                display(str(item.title or ""))[:500], target[0] if target is not None else None
            )
            clean.children.extend(self._outline_items(item.children, depth + 1, count))
            out.append(clean)
        return out

    # -------------------------------------------------------------- document
    def metadata(self) -> None:
        mode = self.ctx.policy.pdf.metadata
        info = self.src.trailer.get("/Info")
        if mode == "none" or not isinstance(info, Dictionary):
            return
        keys = ("/Title",) if mode == "title" else INFO_KEYS
        for key in keys:
            value = info.get(key)
            if isinstance(value, pikepdf.String):
                self.dst.docinfo[key] = pikepdf.String(display(str(value))[:1000])
        dropped = [k for k in info.keys() if k not in keys]
        if dropped:
            self.dropped["metadata"] += len(dropped)
        if "/Metadata" in self.src.Root:
            self.dropped["xmp-metadata"] += 1

    def run(self) -> pikepdf.Pdf:
        pages = len(self.src.pages)
        if pages == 0:
            raise MalformedInput("the PDF has no pages")
        if pages > self.ctx.policy.limits.max_pages:
            raise LimitExceeded(f"{pages} pages (limit {self.ctx.policy.limits.max_pages})")
        self.forms.prepare()
        sources = list(self.src.pages)
        for page in sources:
            self.dst.pages.append(pikepdf.Page(self.src.make_indirect(self.page(page))))
        form = self.forms.build()
        pages = {source.obj.objgen: self.dst.pages[n].obj for n, source in enumerate(sources)}
        for number, page in enumerate(sources):
            annots = self.annotations(page, self.dst.pages[number].obj)
            if annots:
                self.dst.pages[number].obj["/Annots"] = Array(annots)
        if form is not None:
            self.dst.Root["/AcroForm"] = form
        structure = StructureRebuild(self.src, self.dst, self.cleaner, self.dropped, pages, self.annotation_map)
        for key, value in structure.catalog().items():
            self.dst.Root[key] = value
        self.outline()
        self.metadata()
        self.kept.update(self.forms.kept + structure.kept)
        return self.dst


def _catalog_findings(src: pikepdf.Pdf) -> list[Finding]:
    """What the document level held: counted cheaply, since none of it is ever copied."""
    root, found = src.Root, []
    names = root.get("/Names")
    for key, kind, container in (
        ("/OpenAction", "open-action", root),
        ("/AA", "additional-actions", root),
        ("/JavaScript", "javascript-names", names),
        ("/EmbeddedFiles", "embedded-files", names),
    ):
        if isinstance(container, Dictionary) and key in container:
            found.append(Finding(kind))
    return found  # an XFA form is named by the form rebuild, which knows whether a fallback is kept


class PdfSanitizer(Sanitizer):
    handles = types_where(sanitizer="pdf")

    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        src.seek(0)
        data = src.read()
        pdf = open_pdf(io.BytesIO(data), ctx.password, ctx.policy.limits.max_objects)
        return [*walk(pdf, ctx.policy.pdf.links), *raw_structure(data)]

    def details(self, src: BinaryIO, ctx: Context) -> dict[str, object]:
        pdf = open_pdf(src, ctx.password, ctx.policy.limits.max_objects)
        attachments = []
        try:
            for name, spec in list(pdf.attachments.items())[:50]:
                stored = spec.get_file().obj.get("/Length") if spec else None
                attachments.append(f"{display(str(name))[:100]} ({stored} bytes stored)")
        except (pikepdf.PdfError, KeyError, TypeError, ValueError):
            attachments.append("(an embedded-file tree that could not be read)")
        form = pdf.Root.get("/AcroForm")
        fields = form.get("/Fields") if isinstance(form, Dictionary) else None
        return {
            "pages": len(pdf.pages),
            "pdf_version": pdf.pdf_version,
            "encrypted": "owner password only (opens without one)" if pdf.is_encrypted else "no",
            "embedded_files": attachments or "none",
            "form_fields": len(fields) if isinstance(fields, Array) else 0,
        }

    def sanitize(self, src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        from cdr.sanitizers import pdf_render

        if ctx.action.value in ("pixels", "text"):
            return pdf_render.run(src, dst, ctx)
        src.seek(0)
        data = src.read()
        pdf = open_pdf(io.BytesIO(data), ctx.password, ctx.policy.limits.max_objects)
        found = [*_catalog_findings(pdf), *raw_structure(data)]
        encrypted = pdf.is_encrypted
        rebuild = _Rebuild(pdf, ctx)
        clean = rebuild.run()
        rewrite_streams(clean, data, ctx.password, rebuild.dropped, rebuild.kept)  # nothing stored as sent
        # Every stream is compressed anew (nothing crosses as stored); deflate's fastest
        # level writes about the size that was sent in a third of the time of its default.
        pikepdf.settings.set_flate_compression_level(FLATE_LEVEL)
        try:
            clean.save(
                dst,
                compress_streams=True,
                stream_decode_level=pikepdf.StreamDecodeLevel.specialized,  # run-length too
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
                fix_metadata_version=False,
                deterministic_id=True,  # /ID from the content, not the clock: same input, same bytes
            )
        except (pikepdf.PdfError, RuntimeError) as exc:
            raise MalformedInput(f"the rebuilt PDF could not be written: {str(exc)[:200]}") from None
        actions = [
            ActionTaken(f.kind, "removed", f.count)
            for f in found
            if f.kind not in ("thumbnail", "page-piece")
        ]
        actions += [ActionTaken(kind, "removed", count) for kind, count in sorted(rebuild.dropped.items()) if count]
        actions += [ActionTaken(kind, "kept", count) for kind, count in sorted(rebuild.kept.items()) if count]
        if encrypted:
            actions.append(ActionTaken("encryption", "removed"))
        return SanitizeResult(FileType.PDF, tuple(actions), {"pages": len(clean.pages)})
