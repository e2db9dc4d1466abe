"""PDF rebuild: a fresh file holding only allow-listed structure.

The new document is built page by page from new dictionaries that carry only the keys a
page needs to look right (geometry, rotation, resources, contents); everything is copied
into a new ``pikepdf.Pdf`` by following those keys alone, so whatever the source hangs
elsewhere — the Names tree with JavaScript, OpenAction, embedded files, XFA, thumbnails,
incremental updates, bytes after %%EOF — is never reached and never written.

Annotations are rebuilt from an allow-list: links to a page of this document, links to
`http`/`https`/`mailto` (per policy), and markup (highlight, note, ink…) without actions.
Form fields are flattened: their appearance is drawn into the page and the field, with
its scripts, is gone (values stay visible; the form is no longer fillable). The outline
is rebuilt from titles and in-document destinations. A last pass over every object of the
result removes action keys anywhere, as a second layer under the allow-list.
"""

from __future__ import annotations

from collections import Counter
from typing import BinaryIO

import pikepdf
from pikepdf import Array, Dictionary, Name, OutlineItem, Stream

from cdr.errors import LimitExceeded, MalformedInput
from cdr.model import ActionTaken, FileType, Finding, SanitizeResult
from cdr.names import display
from cdr.sanitizers.base import Context, Sanitizer
from cdr.sanitizers.pdf_inspect import (
    DANGEROUS_ACTIONS,
    DANGEROUS_KEYS,
    open_pdf,
    raw_structure,
    uri_allowed,
    walk,
)

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
)
INHERITABLE = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
RESOURCE_KEYS = ("/Font", "/ExtGState", "/ColorSpace", "/Pattern", "/Shading", "/ProcSet", "/Properties")
IMAGE_KEYS = frozenset(
    {
        "/Type",
        "/Subtype",
        "/Width",
        "/Height",
        "/ColorSpace",
        "/BitsPerComponent",
        "/Intent",
        "/ImageMask",
        "/Mask",
        "/Decode",
        "/Interpolate",
        "/SMask",
        "/SMaskInData",
        "/Filter",
        "/DecodeParms",
        "/Length",
        "/Matte",
    }
)
FORM_KEYS = frozenset(
    {
        "/Type",
        "/Subtype",
        "/FormType",
        "/BBox",
        "/Matrix",
        "/Resources",
        "/Group",
        "/Filter",
        "/DecodeParms",
        "/Length",
    }
)
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
ANNOT_KEYS = (
    "/Rect",
    "/Contents",
    "/C",
    "/CA",
    "/F",
    "/Border",
    "/BS",
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
    "/BE",
    "/IT",
    "/LL",
    "/LLE",
    "/CL",
    "/AS",
)
# The second layer removes exactly what verification looks for (cdr/sanitizers/pdf_inspect.py).
SCRUB_KEYS = (*DANGEROUS_KEYS, "/JavaScript")
DANGEROUS_S = frozenset(DANGEROUS_ACTIONS)
MAX_DEPTH = 32
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


def _copy_direct(value: object, depth: int = 0) -> object | None:
    """A copy of a small direct value (numbers, names, strings, arrays, dictionaries of
    them) that belongs to no document; indirect objects and streams are not followed."""
    if depth > 8 or isinstance(value, Stream):
        return None
    if isinstance(value, (Array, Dictionary)) and value.is_indirect:
        return None
    if isinstance(value, Array):
        items = [_copy_direct(v, depth + 1) for v in list(value)[:4096]]
        return Array([v for v in items if v is not None])
    if isinstance(value, Dictionary):
        out = Dictionary()
        for key in list(value.keys())[:64]:
            item = _copy_direct(value.get(key), depth + 1)
            if item is not None:
                out[key] = item
        return out
    return value


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
        self.dst = pikepdf.new()

    # -------------------------------------------------------------- resources
    def resources(self, res: object, depth: int) -> Dictionary:
        clean = Dictionary()
        if not isinstance(res, Dictionary) or depth > MAX_DEPTH:
            return clean
        for key in RESOURCE_KEYS:
            if key in res:
                clean[key] = res.get(key)
        xobjects = res.get("/XObject")
        if isinstance(xobjects, Dictionary):
            kept = Dictionary()
            for key in xobjects.keys():
                xobject = xobjects.get(key)
                if isinstance(xobject, Stream) and self.xobject(xobject, depth + 1):
                    kept[key] = xobject
            clean["/XObject"] = kept
        return clean

    def xobject(self, stream: Stream, depth: int) -> bool:
        """Allow-list the keys of an image or form XObject in place; False drops it."""
        subtype = _name(stream.get("/Subtype"))
        allowed = IMAGE_KEYS if subtype == "/Image" else FORM_KEYS if subtype == "/Form" else None
        if allowed is None:
            self.dropped["postscript-xobject" if subtype == "/PS" else "unknown-xobject"] += 1
            return False
        if stream.is_indirect and stream.objgen in self.cleaned:
            return True
        if stream.is_indirect:
            self.cleaned.add(stream.objgen)
        self._check_size(stream, subtype)
        for key in list(stream.keys()):
            if key not in allowed:
                self.dropped[f"xobject-{key.lstrip('/').lower()}"] += 1
                del stream[key]
        if subtype == "/Form":
            stream["/Resources"] = self.resources(stream.get("/Resources"), depth)
        for mask_key in ("/SMask", "/Mask"):
            mask = stream.get(mask_key)
            if isinstance(mask, Stream) and not self.xobject(mask, depth + 1):
                del stream[mask_key]
        return True

    def _check_size(self, stream: Stream, subtype: str) -> None:
        """Bombs aimed at the viewer on the LGWAN side: a huge image, a huge stream.

        Content streams are copied without decoding, so their decoded size is not known
        here; an image's is (width × height), and every stream's stored length is.
        """
        limits = self.ctx.policy.limits
        try:
            untrusted_length = int(stream.get("/Length", 0))
            untrusted_pixels = (
                int(stream.get("/Width", 0)) * int(stream.get("/Height", 0)) if subtype == "/Image" else 0
            )
        except (TypeError, ValueError):
            raise MalformedInput("an image or form has a non-numeric size") from None
        if untrusted_length > limits.max_stream_size:
            raise LimitExceeded(f"a stream of {untrusted_length} bytes (limit {limits.max_stream_size})")
        if untrusted_pixels > limits.max_pixels:
            raise LimitExceeded(f"an image of {untrusted_pixels} pixels (limit {limits.max_pixels})")

    # -------------------------------------------------------------- pages
    def page(self, page: pikepdf.Page) -> Dictionary:
        source = page.obj
        clean = Dictionary(Type=Name.Page)
        for key in PAGE_KEYS:
            value = _inherited(source, key) if key in INHERITABLE else source.get(key)
            if value is not None:
                clean[key] = value
        if "/MediaBox" not in clean:
            clean["/MediaBox"] = Array([0, 0, 612, 792])
        clean["/Resources"] = self.resources(_inherited(source, "/Resources"), 0)
        for key in source.keys():
            if key not in (*PAGE_KEYS, "/Type", "/Parent", "/Resources", "/Annots"):
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
    def annotations(self, source_page: pikepdf.Page) -> list[Dictionary]:
        annots = source_page.obj.get("/Annots")
        if not isinstance(annots, Array):
            return []
        clean: list[Dictionary] = []
        for annot in list(annots)[:MAX_ANNOTS_PER_PAGE]:
            if not isinstance(annot, Dictionary):
                continue
            subtype = _name(annot.get("/Subtype"))
            if subtype == "/Link":
                link = self.link(annot)
                if link is not None:
                    clean.append(link)
            elif subtype in MARKUP:
                clean.append(self.markup(annot, subtype))
            else:
                self.dropped[f"annotation-{subtype.lstrip('/').lower() or 'unknown'}"] += 1
        return clean

    def link(self, annot: Dictionary) -> Dictionary | None:
        rect = annot.get("/Rect")
        if not isinstance(rect, Array):
            return None
        base = Dictionary(
            Type=Name.Annot, Subtype=Name.Link, Rect=_copy_direct(rect), Border=Array([0, 0, 0])
        )
        action = annot.get("/A")
        if "/AA" in annot:
            self.dropped["annotation-additional-actions"] += 1
        if action is None and "/Dest" in annot:
            target = self.destination(annot.get("/Dest"))
            if target is None:
                self.dropped["link-unresolved"] += 1
                return None
            base["/Dest"] = self._dst_destination(target)
            return base
        if not isinstance(action, Dictionary):
            self.dropped["link-without-action"] += 1
            return None
        kind = _name(action.get("/S"))
        if kind == "/GoTo":
            target = self.destination(action.get("/D"))
            if target is None:
                self.dropped["link-unresolved"] += 1
                return None
            base["/Dest"] = self._dst_destination(target)
            return base
        if kind == "/URI":
            uri = str(action.get("/URI", ""))
            if uri_allowed(uri, self.ctx.policy.pdf.links) and len(uri) < 4096:
                base["/A"] = Dictionary(S=Name.URI, URI=pikepdf.String(uri))
                return base
            self.dropped["link-uri-disallowed"] += 1
            return None
        self.dropped[f"action-{kind.lstrip('/').lower() or 'unknown'}"] += 1
        return None

    def markup(self, annot: Dictionary, subtype: str) -> Dictionary:
        clean = Dictionary(Type=Name.Annot, Subtype=Name(subtype))
        for key in ANNOT_KEYS:
            if key in annot:
                value = _copy_direct(annot.get(key))
                if value is not None:
                    clean[key] = value
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
            if isinstance(value, Stream) and self.xobject(value, 1):
                clean[state] = self.dst.copy_foreign(value)
            elif isinstance(value, Dictionary):
                sub = Dictionary()
                for key in list(value.keys())[:64]:
                    item = value.get(key)
                    if isinstance(item, Stream) and self.xobject(item, 1):
                        sub[key] = self.dst.copy_foreign(item)
                clean[state] = sub
        return clean

    # -------------------------------------------------------------- outline
    def outline(self) -> int:
        try:
            with self.src.open_outline(max_depth=12) as source:
                items = self._outline_items(source.root, 0, [0])
        except (pikepdf.PdfError, pikepdf.OutlineStructureError, RecursionError, ValueError, TypeError):
            self.dropped["outline-damaged"] += 1
            return 0
        if items:
            with self.dst.open_outline() as target:
                target.root.extend(items)
        return len(items)

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

    # -------------------------------------------------------------- forms
    def flatten_forms(self) -> int:
        """Draw form fields into their pages; the fields and their scripts are dropped."""
        if "/AcroForm" not in self.src.Root:
            return 0
        kept: dict[int, list[object]] = {}
        widgets = 0
        for number, page in enumerate(self.src.pages):
            annots = page.obj.get("/Annots")
            if not isinstance(annots, Array):
                continue
            fields = [
                a for a in annots if isinstance(a, Dictionary) and _name(a.get("/Subtype")) == "/Widget"
            ]
            kept[number] = [
                a for a in annots if not (isinstance(a, Dictionary) and _name(a.get("/Subtype")) == "/Widget")
            ]
            widgets += len(fields)
            page.obj["/Annots"] = Array(fields)
        try:
            self.src.generate_appearance_streams()
        except (pikepdf.PdfError, RuntimeError, ValueError):
            pass  # fields without appearances simply vanish
        try:
            self.src.flatten_annotations("all")
        except (pikepdf.PdfError, RuntimeError, ValueError):
            self.dropped["form-fields-unflattenable"] += widgets
        for number, page in enumerate(self.src.pages):
            if number in kept:
                page.obj["/Annots"] = Array(kept[number])
        return widgets

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

    def scrub(self) -> None:
        """Second layer: no action key survives anywhere in what was copied."""
        for obj in self.dst.objects:
            target = obj.stream_dict if isinstance(obj, Stream) else obj
            if not isinstance(target, Dictionary):
                continue
            for key in SCRUB_KEYS:
                if key in target:
                    del target[key]
                    self.dropped[f"hidden-{key.lstrip('/').lower()}"] += 1
            if _name(target.get("/S")) in DANGEROUS_S:
                del target["/S"]
                self.dropped["hidden-action"] += 1

    def run(self) -> pikepdf.Pdf:
        pages = len(self.src.pages)
        if pages == 0:
            raise MalformedInput("the PDF has no pages")
        if pages > self.ctx.policy.limits.max_pages:
            raise LimitExceeded(f"{pages} pages (limit {self.ctx.policy.limits.max_pages})")
        flattened = self.flatten_forms()
        if flattened:
            self.dropped["form-fields-flattened"] += flattened
        sources = list(self.src.pages)
        for page in sources:
            self.dst.pages.append(pikepdf.Page(self.src.make_indirect(self.page(page))))
        for number, page in enumerate(sources):
            annots = self.annotations(page)
            if annots:
                self.dst.pages[number].obj["/Annots"] = Array([self.dst.make_indirect(a) for a in annots])
        self.outline()
        self.metadata()
        self.scrub()
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
    form = root.get("/AcroForm")
    if isinstance(form, Dictionary) and "/XFA" in form:
        found.append(Finding("xfa"))
    return found


class PdfSanitizer(Sanitizer):
    handles = frozenset({FileType.PDF})

    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        src.seek(0)
        data = src.read()
        pdf = open_pdf(src, ctx.password, ctx.policy.limits.max_objects)
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
        pdf = open_pdf(src, ctx.password, ctx.policy.limits.max_objects)
        found = [*_catalog_findings(pdf), *raw_structure(data)]
        encrypted = pdf.is_encrypted
        rebuild = _Rebuild(pdf, ctx)
        clean = rebuild.run()
        try:
            clean.save(
                dst,
                compress_streams=True,
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
                fix_metadata_version=False,
            )
        except (pikepdf.PdfError, RuntimeError) as exc:
            raise MalformedInput(f"the rebuilt PDF could not be written: {str(exc)[:200]}") from None
        actions = [
            ActionTaken(f.kind, "removed", f.count)
            for f in found
            if f.kind not in ("thumbnail", "page-piece", "form-widget", "acroform")
        ]
        actions += [
            ActionTaken(kind, "flattened" if kind == "form-fields-flattened" else "removed", count)
            for kind, count in sorted(rebuild.dropped.items())
        ]
        if encrypted:
            actions.append(ActionTaken("encryption", "removed"))
        return SanitizeResult(FileType.PDF, tuple(actions), {"pages": len(clean.pages)})
