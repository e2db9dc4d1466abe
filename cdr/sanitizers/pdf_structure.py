"""What a screen reader and a reader's navigation use, rebuilt: tags, page labels, layers.

The tagged structure (ISO 32000-1 §14.7–14.8), the document's language, page labels
(§12.4.2) and optional content (layers, §8.11.4) are rebuilt as new dictionaries holding
only data: element types, alt and replacement texts, languages, titles, attribute values,
label styles, layer names and states. Nothing in them can act, and nothing is copied by
reference from the source: a page, an annotation or a layer is named only through the
rebuilt document's own objects, so no path leads back to what the rebuild left out.

The parent tree (which element each marked-content sequence belongs to) is not copied but
regenerated from the element tree: every page or annotation the tree names gets a fresh
key, so a hostile parent tree can neither point elsewhere nor hide anything.
"""

from __future__ import annotations

from collections import Counter

import pikepdf
from pikepdf import Array, Dictionary, Name, String

from cdr.names import display
from cdr.sanitizers.pdf_clean import Cleaner, copy_fields, copy_inert

ObjGen = tuple[int, int]
MAX_DEPTH = 64  # element nesting; real documents stay under 20
MAX_ELEMENTS = 200_000
MAX_MCID = 65_535  # a parent-tree array holds one slot per MCID up to the largest
MAX_TEXT = 10_000
# Table 323: a structure element's entries that are text (a language tag is kept short).
TEXT_KEYS = ("/Alt", "/ActualText", "/E", "/T", "/Lang")
# Standard attribute owners (table 341) whose attributes are layout data only.
ATTRIBUTE_OWNERS = frozenset({"/Layout", "/List", "/Table", "/PrintField"})
# Standard structure types (§14.8.4 of ISO 32000-1, and those ISO 32000-2 adds): an element
# of another type is kept only when the role map leads it to one of these.
STANDARD_TYPES = frozenset(
    "/" + name
    for name in (
        "Document DocumentFragment Part Art Sect Div Aside NonStruct Private BlockQuote Caption TOC TOCI "
        "Index P H H1 H2 H3 H4 H5 H6 Title FENote L LI Lbl LBody Table TR TH TD THead TBody TFoot Span "
        "Quote Note Reference BibEntry Code Link Annot Ruby RB RT RP Warichu WT WP Figure Formula Form "
        "Sub Em Strong Artifact"
    ).split()
)
LABEL_STYLES = frozenset({"/D", "/R", "/r", "/A", "/a"})  # table 159
LABEL_KEYS = frozenset({"/S", "/P", "/St"})
MAX_LABEL_PREFIX = 1000  # a label is a page number's prefix; nothing longer is a label
MARK_INFO_KEYS = frozenset({"/Marked", "/Suspects", "/UserProperties"})  # table 321
# Table 101: an optional-content configuration; the ones holding layers are mapped.
CONFIG_NAMES = {"/BaseState": frozenset({"/ON", "/OFF", "/Unchanged"}), "/ListMode": frozenset({"/AllPages", "/VisiblePages"})}
CONFIG_LAYER_LISTS = ("/ON", "/OFF", "/Locked")
_STRUCT_ELEM = Name.StructElem  # made once: each Name.X lookup builds a new object


def _text(value: object, limit: int = MAX_TEXT) -> String | None:
    return String(display(str(value))[:limit]) if isinstance(value, String) else None


class StructureRebuild:
    """The catalogue entries for tags, language, labels and layers of one rebuilt document."""

    def __init__(
        self,
        src: pikepdf.Pdf,
        dst: pikepdf.Pdf,
        cleaner: Cleaner,
        dropped: Counter[str],
        pages: dict[ObjGen, Dictionary],
        annotations: dict[ObjGen, Dictionary],
    ) -> None:
        self.src, self.dst, self.cleaner, self.dropped = src, dst, cleaner, dropped
        self.pages, self.annotations = pages, annotations
        self.kept: Counter[str] = Counter()
        self.seen: set[ObjGen] = set()
        self.elements = 0
        self.marked: dict[ObjGen, dict[int, Dictionary]] = {}  # page → MCID → element
        self.owners: list[tuple[Dictionary, Dictionary]] = []  # rebuilt annotation, its element
        self.layers: dict[ObjGen, Dictionary] = {}
        self.types: set[str] = set(STANDARD_TYPES)  # and the role map's names that reach one

    def catalog(self) -> dict[str, object]:
        root, entries = self.src.Root, {}
        language = _text(root.get("/Lang"), 64)
        if language is not None:
            entries["/Lang"] = language
        if isinstance(root.get("/MarkInfo"), Dictionary):
            entries["/MarkInfo"] = copy_fields(root.MarkInfo, MARK_INFO_KEYS)
        for key, build in (
            ("/StructTreeRoot", self.structure),
            ("/PageLabels", self.page_labels),
            ("/OCProperties", self.optional_content),
        ):
            value = root.get(key)
            if value is None:
                continue
            try:
                rebuilt = build(value)
            except (pikepdf.PdfError, RecursionError, ValueError, TypeError):
                rebuilt = None
            if rebuilt is None:
                self.dropped[f"{key[1:].lower()}-unreadable"] += 1
            else:
                entries[key] = rebuilt
        return entries

    # -------------------------------------------------------------- tagged structure
    def structure(self, source: object) -> Dictionary | None:
        if not isinstance(source, Dictionary):
            return None
        root = self.dst.make_indirect(Dictionary(Type=Name.StructTreeRoot))
        role_map = self._role_map(source.get("/RoleMap"))  # first: it says which types are known
        if role_map:
            root["/RoleMap"] = role_map
        root["/K"] = Array(self._kids(source.get("/K"), root, None, 0))
        class_map = source.get("/ClassMap")
        if isinstance(class_map, Dictionary):
            classes = {k: self._attributes(class_map.get(k)) for k in sorted(class_map.keys())[:1024]}
            root["/ClassMap"] = Dictionary({k: v for k, v in classes.items() if v is not None})
        nums = self._parent_tree()
        root["/ParentTree"] = self.dst.make_indirect(Dictionary(Nums=Array(nums)))
        root["/ParentTreeNextKey"] = len(nums) // 2
        self.kept["structure-elements"] = self.elements
        for key in set(source.keys()) - {"/Type", "/K", "/RoleMap", "/ClassMap", "/ParentTree", "/ParentTreeNextKey"}:
            self.dropped[f"structure-{key[1:].lower()}"] += 1
        return root

    def _kids(self, value: object, parent: Dictionary, page: ObjGen | None, depth: int) -> list[object]:
        items = list(value)[:100_000] if isinstance(value, Array) else [] if value is None else [value]
        kids: list[object] = []
        for item in items:
            kid = self._kid(item, parent, page, depth)
            if kid is not None:
                kids.append(kid)
        return kids

    def _kid(self, item: object, parent: Dictionary, page: ObjGen | None, depth: int) -> object | None:
        """An MCID on the element's page, a marked-content or object reference, or an element."""
        if isinstance(item, int) and not isinstance(item, bool):
            return self._mark(int(item), page, parent)
        if not isinstance(item, Dictionary):
            return None
        # "in" first: pikepdf looks a missing key up at several times the cost of "in"
        kind = str(item.get("/Type")) if "/Type" in item else ""
        item_page = self._page(item.get("/Pg")) if "/Pg" in item else None
        own_page = item_page or page
        if kind == "/MCR":
            if "/Stm" in item or not isinstance(item.get("/MCID"), int):
                self.dropped["structure-content-elsewhere"] += 1  # marked content in an XObject
                return None
            return self._mark(int(item.MCID), own_page, parent)
        if kind == "/OBJR":
            target = item.get("/Obj")
            annotation = self.annotations.get(target.objgen) if isinstance(target, Dictionary) else None
            if annotation is None or own_page is None:
                self.dropped["structure-object-not-kept"] += 1
                return None
            self.owners.append((annotation, parent))
            return Dictionary(Type=Name.OBJR, Obj=annotation, Pg=self.pages[own_page])
        return self._element(item, item_page, parent, depth + 1)

    def _mark(self, mcid: int, page: ObjGen | None, parent: Dictionary) -> int | None:
        if page is None or not 0 <= mcid <= MAX_MCID:
            self.dropped["structure-content-unplaced"] += 1
            return None
        self.marked.setdefault(page, {})[mcid] = parent
        return mcid

    def _page(self, value: object) -> ObjGen | None:
        return value.objgen if isinstance(value, Dictionary) and value.objgen in self.pages else None

    def _element(
        self, source: Dictionary, page: ObjGen | None, parent: Dictionary, depth: int
    ) -> Dictionary | None:
        """``page``: the kept page the element's /Pg names, if any (read by _kid)."""
        if depth > MAX_DEPTH or self.elements >= MAX_ELEMENTS:
            self.dropped["structure-too-deep"] += 1
            return None
        if source.is_indirect:
            objgen = source.objgen
            if objgen in self.seen:
                return None  # an element reached twice is kept where it was first met
            self.seen.add(objgen)
        kind = source.get("/S")
        if not isinstance(kind, Name) or str(kind) not in self.types:
            self.dropped["structure-element-untyped"] += 1  # with what it holds: nothing says what that is
            return None
        self.elements += 1
        clean = self.dst.make_indirect(Dictionary({"/Type": _STRUCT_ELEM, "/S": kind, "/P": parent}))
        present = set(source.keys())  # one call: a lookup of a missing key costs as much as a hit
        if page is not None:
            clean["/Pg"] = self.pages[page]
        for key in present.intersection(TEXT_KEYS):
            text = _text(source.get(key), 64 if key == "/Lang" else MAX_TEXT)
            if text is not None:
                clean[key] = text
        classes = copy_inert(source.get("/C")) if "/C" in present else None
        if isinstance(classes, (Name, Array)):
            clean["/C"] = classes
        if "/A" in present:
            attributes = self._attributes(source.get("/A"))
            if attributes is not None:
                clean["/A"] = attributes
            else:
                self.dropped["structure-attributes"] += 1
        clean["/K"] = Array(self._kids(source.get("/K"), clean, page, depth) if "/K" in present else [])
        return clean

    def _attributes(self, value: object) -> object | None:
        """Attribute objects of the standard owners, each value inert (table 341 ff.)."""
        items = list(value)[:64] if isinstance(value, Array) else [value]
        kept = []
        for item in items:
            if not isinstance(item, Dictionary) or str(item.get("/O", "")) not in ATTRIBUTE_OWNERS:
                continue  # a revision number, or an owner whose attributes are not layout data
            clean = Dictionary()
            for key in sorted(item.keys())[:64]:
                copied = copy_inert(item.get(key))
                if copied is not None:
                    clean[key] = copied
            kept.append(clean)
        if not kept:
            return None
        return kept[0] if len(kept) == 1 and not isinstance(value, Array) else Array(kept)

    def _role_map(self, value: object) -> Dictionary | None:
        """Names mapped to names, each kept only when following the map arrives at a
        standard type: a cycle, or a chain ending nowhere, tells a reader nothing."""
        if not isinstance(value, Dictionary):
            return None
        # sorted: keys() is a set, and which 1024 are read must not change from process to process
        pairs = {k: str(value.get(k)) for k in sorted(value.keys())[:1024] if isinstance(value.get(k), Name)}
        clean = Dictionary()
        for key, target in pairs.items():
            steps, current = 0, target
            while current not in STANDARD_TYPES and current in pairs and steps < 16:
                current, steps = pairs[current], steps + 1
            if current in STANDARD_TYPES:
                clean[key] = Name(target)
                self.types.add(key)
            else:
                self.dropped["structure-role-unresolved"] += 1
        return clean

    def _parent_tree(self) -> list[object]:
        """Fresh keys: one per page with marked content, one per annotation in the tree."""
        nums: list[object] = []
        for page, marks in self.marked.items():
            slots = [marks.get(mcid) for mcid in range(max(marks) + 1)]
            self.pages[page]["/StructParents"] = len(nums) // 2
            nums += [len(nums) // 2, Array(slots)]
        for annotation, element in self.owners:
            annotation["/StructParent"] = len(nums) // 2
            nums += [len(nums) // 2, element]
        return nums

    # -------------------------------------------------------------- page labels
    def page_labels(self, source: object) -> Dictionary | None:
        if not isinstance(source, Dictionary):
            return None
        count, nums = len(self.pages), []
        for index, label in list(pikepdf.NumberTree(source).items())[:10_000]:
            if not 0 <= int(index) < count or not isinstance(label, Dictionary):
                continue
            clean = copy_fields(label, LABEL_KEYS)
            if "/S" in clean and str(clean.S) not in LABEL_STYLES:
                del clean["/S"]
            if "/P" in clean and not isinstance(clean.P, String):
                del clean["/P"]
            elif "/P" in clean and len(bytes(clean.P)) > MAX_LABEL_PREFIX:
                clean["/P"] = _text(clean.P, MAX_LABEL_PREFIX)
                self.dropped["page-label-prefix-cut"] += 1
            if "/St" in clean and not (isinstance(clean.St, int) and clean.St >= 1):
                del clean["/St"]
            if set(label.keys()) - LABEL_KEYS - {"/Type"}:
                self.dropped["page-label-key"] += 1
            nums += [int(index), clean]
        if not nums:
            return None
        self.kept["page-labels"] = len(nums) // 2
        return Dictionary(Nums=Array(nums))

    # -------------------------------------------------------------- optional content
    def optional_content(self, source: object) -> Dictionary | None:
        if not isinstance(source, Dictionary) or not isinstance(source.get("/OCGs"), Array):
            return None
        for layer in list(source.OCGs)[:4096]:
            if isinstance(layer, Dictionary) and layer.is_indirect and str(layer.get("/Type")) == "/OCG":
                if self.cleaner.keep(layer, "properties"):
                    self.layers[layer.objgen] = self.dst.copy_foreign(layer)
        if not self.layers:
            return None
        clean = Dictionary(OCGs=Array(list(self.layers.values())))
        clean["/D"] = self._config(source.get("/D")) or Dictionary()
        configs = source.get("/Configs")
        if isinstance(configs, Array):
            rebuilt = [self._config(c) for c in list(configs)[:64]]
            clean["/Configs"] = Array([c for c in rebuilt if c is not None])
        self.kept["layers"] = len(self.layers)
        return clean

    def _config(self, value: object) -> Dictionary | None:
        """Which layers are on, their order in the viewer's list, and which switch together."""
        if not isinstance(value, Dictionary):
            return None
        clean = Dictionary()
        for key in ("/Name", "/Creator"):
            text = _text(value.get(key), 500)
            if text is not None:
                clean[key] = text
        for key, allowed in CONFIG_NAMES.items():
            if str(value.get(key, "")) in allowed:
                clean[key] = value.get(key)
        for key in CONFIG_LAYER_LISTS:
            if isinstance(value.get(key), Array):
                clean[key] = Array(self._layer_list(value.get(key), 0, labels=False))
        if isinstance(value.get("/Order"), Array):
            clean["/Order"] = Array(self._layer_list(value.Order, 0, labels=True))
        groups = value.get("/RBGroups")
        if isinstance(groups, Array):
            clean["/RBGroups"] = Array(
                [Array(self._layer_list(g, 0, labels=False)) for g in list(groups)[:1024] if isinstance(g, Array)]
            )
        if "/AS" in value:
            self.dropped["layer-auto-state"] += 1
        return clean

    def _layer_list(self, items: Array, depth: int, labels: bool) -> list[object]:
        """Layers of this document only; in /Order also nested lists and their labels."""
        out: list[object] = []
        for item in list(items)[:4096]:
            if isinstance(item, Dictionary) and item.is_indirect and item.objgen in self.layers:
                out.append(self.layers[item.objgen])
            elif labels and isinstance(item, String):
                out.append(String(display(str(item))[:500]))
            elif labels and isinstance(item, Array) and depth < 8:
                out.append(Array(self._layer_list(item, depth + 1, labels)))
        return out
