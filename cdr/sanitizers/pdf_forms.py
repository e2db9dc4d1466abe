"""PDF forms rebuilt so they stay fillable: fields and widgets from an allow-list, no actions.

A municipality's 申請書 arrives as a fillable PDF; flattening it would leave a form nobody
can fill on the LGWAN side. Text, check box, radio, choice and push-button fields are
rebuilt as new dictionaries holding only what a viewer needs to show and fill them
(ISO 32000-1 §12.7.3: name, type, flags, value, options, defaults, appearance) — never
``/A``, ``/AA`` (keystroke, format, validate, calculate scripts), submit, reset or import
actions, ``/XFA`` or the calculation order (its scripts are gone, so it has nothing to order).

A signature field keeps its place and its picture but not its signature: a rebuilt file
cannot carry a valid one, and a signature value is a dictionary of data the viewer checks.
An XFA form keeps its AcroForm fallback when there is one; without one there is nothing to
fill, and the result says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

from cdr.sanitizers.pdf_clean import Cleaner, copy_fields, copy_inert
from cdr.sanitizers.pdf_content import clean_default_appearance

MAX_FIELD_DEPTH = 32
MAX_FIELDS = 20_000
FIELD_TYPES = frozenset({"/Tx", "/Btn", "/Ch", "/Sig"})
# Table 220 (all fields), 222 (variable text), 226 (choice), 229 (text); values are inert.
FIELD_KEYS = ("/T", "/TU", "/TM", "/Ff", "/V", "/DV", "/Opt", "/TI", "/I", "/MaxLen", "/Q", "/DA")
# Tables 164 and 188: what a widget needs to be drawn and clicked; values are inert.
WIDGET_KEYS = ("/Rect", "/F", "/AS", "/Border", "/H", "/C", "/Contents", "/NM", "/M")
# Table 189: colours and captions; the icons are form XObjects, cleaned like any other.
MK_TEXT_KEYS = ("/R", "/BC", "/BG", "/CA", "/RC", "/AC", "/TP")
MK_ICON_KEYS = ("/I", "/RI", "/IX")
ICON_FIT_KEYS = frozenset({"/SW", "/S", "/A", "/FB"})  # table 247
BORDER_STYLE_KEYS = frozenset({"/Type", "/W", "/S", "/D"})  # table 166
# Field flags (tables 221, 226, 228, 230): bits 1–3 for every field, the rest by field type.
_COMMON_FLAGS = 0b111
FLAG_BITS = {
    "/Btn": _COMMON_FLAGS | 1 << 14 | 1 << 15 | 1 << 16 | 1 << 25,
    "/Tx": _COMMON_FLAGS | 1 << 12 | 1 << 13 | 1 << 20 | 1 << 22 | 1 << 23 | 1 << 24 | 1 << 25,
    "/Ch": _COMMON_FLAGS | 1 << 17 | 1 << 18 | 1 << 19 | 1 << 21 | 1 << 22 | 1 << 26,
    "/Sig": _COMMON_FLAGS,
}
ALL_FLAG_BITS = FLAG_BITS["/Btn"] | FLAG_BITS["/Tx"] | FLAG_BITS["/Ch"]  # a node whose type its kids name
SUBMITTING = frozenset({"/SubmitForm", "/ResetForm", "/ImportData"})


def _name(value: object) -> str:
    return str(value) if isinstance(value, Name) else ""


class FormRebuild:
    """One document's AcroForm: the field tree rebuilt into ``dst``, widgets by source id."""

    def __init__(
        self,
        src: pikepdf.Pdf,
        dst: pikepdf.Pdf,
        cleaner: Cleaner,
        dropped: Counter[str],
        appearance: Callable[[Dictionary], Dictionary],
    ) -> None:
        self.src, self.dst, self.cleaner, self.dropped = src, dst, cleaner, dropped
        self.appearance = appearance
        self.widgets: dict[tuple[int, int], Dictionary] = {}  # source widget → rebuilt widget
        self.placed: set[tuple[int, int]] = set()  # rebuilt widgets already on a page
        self.seen: set[tuple[int, int]] = set()
        self.fields = 0  # nodes of the field tree, widgets included (the limit)
        self.named = 0
        self.kept: Counter[str] = Counter()

    def prepare(self) -> None:
        """Fields the producer left for the viewer to draw (/NeedAppearances) get their
        appearance now: the rebuilt form does not ask the viewer to regenerate anything."""
        form = self.src.Root.get("/AcroForm")
        if isinstance(form, Dictionary) and form.get("/NeedAppearances") is True:
            try:
                self.src.generate_appearance_streams()
            except (pikepdf.PdfError, RuntimeError, ValueError):
                self.dropped["form-appearance-not-generated"] += 1

    # -------------------------------------------------------------- the AcroForm
    def build(self) -> Dictionary | None:
        form = self.src.Root.get("/AcroForm")
        if not isinstance(form, Dictionary):
            return None
        fields = form.get("/Fields")
        kept = [self.field(f, None, 0) for f in (list(fields) if isinstance(fields, Array) else [])]
        kept = [f for f in kept if f is not None]
        if "/XFA" in form:
            # with fields, the AcroForm is the fallback every viewer but Adobe's shows
            self.dropped["xfa" if kept else "xfa-form-not-kept"] += 1
        if "/CO" in form:
            self.dropped["form-calculation-order"] += 1
        if "/SigFlags" in form:
            self.dropped["form-signature-flags"] += 1
        if not kept:
            return None
        clean = Dictionary(Fields=Array(kept))
        appearance = clean_default_appearance(form.get("/DA"))
        if appearance is not None:
            clean["/DA"] = appearance
        if form.get("/Q") in (0, 1, 2):
            clean["/Q"] = int(form.get("/Q"))
        fonts = self._fonts(form.get("/DR"))
        if fonts is not None:
            clean["/DR"] = Dictionary(Font=fonts)
        self.kept["form-fields"] = self.named
        return clean

    def _fonts(self, resources: object) -> Dictionary | None:
        """The default resources' fonts (what typed text is drawn with), cleaned as page fonts are."""
        if not isinstance(resources, Dictionary) or not isinstance(resources.get("/Font"), Dictionary):
            return None
        fonts = resources.get("/Font")
        if fonts.is_indirect:
            fonts = Dictionary({k: fonts.get(k) for k in sorted(fonts.keys())[:256]})
        if not self.cleaner.keep(fonts, ("map", "font")):
            return None
        clean = Dictionary()
        # by name: keys() is a set, in an order each process draws anew, and the order of
        # the copies numbers the objects of the output (same input, same bytes)
        for key in sorted(fonts.keys()):
            font = fonts.get(key)
            if isinstance(font, Dictionary):  # the map keeps a stray number or name as it is
                clean[key] = self.dst.copy_foreign(font if font.is_indirect else self.src.make_indirect(font))
        return clean

    # -------------------------------------------------------------- fields
    def field(self, source: object, parent: Dictionary | None, depth: int) -> Dictionary | None:
        """One node of the field tree (a field, a widget, or both merged), rebuilt."""
        if not isinstance(source, Dictionary) or depth > MAX_FIELD_DEPTH or self.fields >= MAX_FIELDS:
            self.dropped["form-field-unreadable"] += 1
            return None
        if source.is_indirect:
            if source.objgen in self.seen:
                return None  # a field reached twice (a loop in /Kids) is rebuilt once
            self.seen.add(source.objgen)
        self.fields += 1
        clean = self.dst.make_indirect(Dictionary())
        kind = _name(source.get("/FT"))
        if kind in FIELD_TYPES:
            clean["/FT"] = Name(kind)
        elif "/FT" in source:
            self.dropped["form-field-type-unknown"] += 1
        for key in FIELD_KEYS:
            if key not in source:
                continue
            if kind == "/Sig" and key in ("/V", "/DV"):
                self.dropped["signature-value"] += 1  # the signature cannot survive a rebuild
                continue
            value = copy_inert(source.get(key))
            if value is not None:
                clean[key] = value
            else:
                self.dropped[f"form-field-{key[1:].lower()}-not-text"] += 1
        self._actions(source)
        self._numbers(clean, kind or (_name(parent.get("/FT")) if parent is not None else ""))
        if parent is not None:
            clean["/Parent"] = parent
        if _name(source.get("/Subtype")) == "/Widget":
            self._widget(source, clean)
        kids = source.get("/Kids")
        rebuilt = [self.field(k, clean, depth + 1) for k in list(kids)[:MAX_FIELDS]] if isinstance(kids, Array) else []
        rebuilt = [kid for kid in rebuilt if kid is not None]
        if rebuilt:  # an empty /Kids would make a terminal field look like a parent
            clean["/Kids"] = Array(rebuilt)
        if "/T" in clean and not any("/T" in kid for kid in rebuilt):
            self.named += 1  # a field a person fills: radio buttons of one group count once
        return clean

    def _numbers(self, clean: Dictionary, kind: str) -> None:
        """The default appearance as a font and a colour (pdf_content); flags, quadding, length and selections only as §12.7.4 defines them: a value no
        viewer is meant to meet is left out rather than guessed at."""
        if "/DA" in clean:
            appearance = clean_default_appearance(clean.DA)
            if appearance is None:
                del clean["/DA"]
                self.dropped["form-field-da"] += 1
            else:
                clean["/DA"] = appearance
        flags = clean.get("/Ff")
        if flags is not None:
            if isinstance(flags, int) and flags >= 0:
                clean["/Ff"] = int(flags) & FLAG_BITS.get(kind, ALL_FLAG_BITS)
            else:
                del clean["/Ff"]
        for key, ok in (("/Q", lambda v: v in (0, 1, 2)), ("/MaxLen", lambda v: v >= 0)):
            value = clean.get(key)
            if value is not None and not (isinstance(value, int) and ok(int(value))):
                del clean[key]
                self.dropped[f"form-field-{key[1:].lower()}-out-of-range"] += 1
        options = clean.get("/Opt")
        count = len(options) if isinstance(options, Array) else 0
        chosen = clean.get("/I")
        if chosen is not None:
            indices = [int(i) for i in (chosen if isinstance(chosen, Array) else []) if isinstance(i, int)]
            indices = sorted({i for i in indices if 0 <= i < count})
            if indices:
                clean["/I"] = Array(indices)
            else:
                del clean["/I"]

    def _actions(self, source: Dictionary) -> None:
        """Name what a field or widget would have run; none of it is copied."""
        if "/AA" in source:
            self.dropped["form-field-scripts"] += 1
        action = source.get("/A")
        if isinstance(action, Dictionary):
            kind = _name(action.get("/S"))
            self.dropped["form-submit-action" if kind in SUBMITTING else "form-field-scripts"] += 1
        elif action is not None:
            self.dropped["form-field-scripts"] += 1

    # -------------------------------------------------------------- widgets
    def _widget(self, source: Dictionary, clean: Dictionary) -> None:
        clean["/Type"] = Name.Annot
        clean["/Subtype"] = Name.Widget
        for key in WIDGET_KEYS:
            value = copy_inert(source.get(key)) if key in source else None
            if value is not None:
                clean[key] = value
        if "/Rect" not in clean:
            clean["/Rect"] = Array([0, 0, 0, 0])
        style = source.get("/BS")
        if isinstance(style, Dictionary):
            clean["/BS"] = copy_fields(style, BORDER_STYLE_KEYS)
        characteristics = self._characteristics(source.get("/MK"))
        if characteristics is not None:
            clean["/MK"] = characteristics
        appearance = source.get("/AP")
        if isinstance(appearance, Dictionary):
            clean["/AP"] = self.appearance(appearance)
        if source.is_indirect:
            self.widgets[source.objgen] = clean

    def _characteristics(self, value: object) -> Dictionary | None:
        """/MK: border and background colours, captions, and icons rebuilt as form XObjects."""
        if not isinstance(value, Dictionary):
            return None
        clean = Dictionary()
        for key in MK_TEXT_KEYS:
            item = copy_inert(value.get(key)) if key in value else None
            if item is not None:
                clean[key] = item
        for key in MK_ICON_KEYS:
            icon = value.get(key)
            if isinstance(icon, Stream) and self.cleaner.keep(icon, "form"):
                clean[key] = self.dst.copy_foreign(icon)
            elif icon is not None:
                self.dropped["form-icon"] += 1
        fit = value.get("/IF")
        if isinstance(fit, Dictionary):
            clean["/IF"] = copy_fields(fit, ICON_FIT_KEYS)
        return clean

    def widget(self, annot: Dictionary, page: Dictionary) -> Dictionary | None:
        """The rebuilt widget a page lists, placed on that page once; a widget no field
        owns (outside /AcroForm) has nothing to fill and is left out."""
        if not annot.is_indirect or annot.objgen not in self.widgets:
            self._actions(annot)
            self.dropped["annotation-widget"] += 1
            return None
        clean = self.widgets[annot.objgen]
        if clean.objgen in self.placed:
            return None
        self.placed.add(clean.objgen)
        clean["/P"] = page
        return clean
