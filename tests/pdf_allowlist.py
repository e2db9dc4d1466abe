"""An inspector of rebuilt PDFs for the form and structure tests, written from ISO 32000-1
and independent of cdr (neither the sanitizer nor the verifier is imported).

It walks every object reachable from the trailer, and every object in the file, and
accepts a dictionary of the kinds forms, tags, labels, layers and the outline use only
with the keys the specification gives them; anywhere at all it refuses the keys and names
that act (scripts, submit, import, launch, URIs, XFA, embedded files, open actions).
"""

from __future__ import annotations

import io

import pikepdf

# Keys that act or carry what acts, refused wherever they appear.
FORBIDDEN_KEYS = frozenset(
    "/JS /JavaScript /AA /URI /Launch /SubmitForm /ImportData /XFA /EmbeddedFile /EmbeddedFiles /EF "
    "/OpenAction /CO /NeedAppearances /SigFlags /Usage /AS_Usage /RichMediaContent /Win /Mac /Unix".split()
)
# Names that only an action, a file specification or a script uses.
FORBIDDEN_NAMES = frozenset(
    "/JavaScript /Launch /SubmitForm /ResetForm /ImportData /GoToR /GoToE /URI /Action /Filespec "
    "/EmbeddedFile /Rendition /Hide /SetOCGState /Named /Sound /Movie /RichMediaExecute /ECMAScript".split()
)
# By kind: the keys the specification allows (tables 28, 101, 159, 164, 188, 189, 220–229, 322–325).
KINDS: dict[str, frozenset[str]] = {
    "field": frozenset(
        "/FT /Parent /Kids /T /TU /TM /Ff /V /DV /Opt /TI /I /MaxLen /Q /DA /Type /Subtype /Rect /F /AS "
        "/Border /BS /MK /AP /P /H /C /Contents /NM /M /StructParent".split()
    ),
    "acroform": frozenset("/Fields /DA /Q /DR".split()),
    "structure-element": frozenset("/Type /S /P /K /Pg /Alt /ActualText /E /T /Lang /C /A /ID /R".split()),
    "structure-root": frozenset("/Type /K /ParentTree /ParentTreeNextKey /RoleMap /ClassMap /IDTree".split()),
    "marked-content-reference": frozenset("/Type /Pg /MCID".split()),
    "object-reference": frozenset("/Type /Pg /Obj".split()),
    "page-label": frozenset("/Type /S /P /St".split()),
    "layer": frozenset("/Type /Name /Intent".split()),
    "layer-config": frozenset("/Name /Creator /BaseState /ON /OFF /Intent /Order /ListMode /RBGroups /Locked".split()),
    "outline-item": frozenset("/Title /Parent /Prev /Next /First /Last /Count /Dest /C /F".split()),
}
LABEL_STYLES = frozenset("/D /R /r /A /a".split())


BY_TYPE = {
    "/StructElem": "structure-element",
    "/StructTreeRoot": "structure-root",
    "/MCR": "marked-content-reference",
    "/OBJR": "object-reference",
    "/PageLabel": "page-label",
    "/OCG": "layer",
}
BY_PLACE = {
    "/AcroForm": "acroform",
    "/Fields": "field",
    "/Kids/field": "field",
    "/OCProperties/D": "layer-config",
    "/Configs": "layer-config",
    "/PageLabels/Nums": "page-label",
}


def _kind(obj: pikepdf.Dictionary, place: str) -> str:
    """What a dictionary is, by its type, by where it was reached from, or as an outline item."""
    if "/FT" in obj or obj.get("/Subtype") == "/Widget":
        return "field"
    by_type = BY_TYPE.get(str(obj.get("/Type", "")))
    if by_type or place in BY_PLACE:
        return by_type or BY_PLACE[place]
    return "outline-item" if "/Title" in obj and place in ("/First", "/Last", "/Next", "/Prev") else ""


class Inspector:
    """Findings for one PDF: each says where, and what is not allowed there."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.findings: list[str] = []
        self.seen: set[tuple[int, int]] = set()
        self.pages: set[tuple[int, int]] = set()

    def run(self) -> list[str]:
        if self.data.count(b"%%EOF") != 1:
            self.findings.append("more than one revision")
        with pikepdf.open(io.BytesIO(self.data)) as pdf:
            self.pages = {page.obj.objgen for page in pdf.pages}
            self.visit(pdf.trailer, "trailer", "", 0)
            for obj in pdf.objects:
                if isinstance(obj, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)):
                    self.visit(obj, f"object {obj.objgen}", "", 0)
        return self.findings

    def visit(self, obj: object, where: str, parent_key: str, depth: int) -> None:
        if depth > 200:
            self.findings.append(f"{where}: nested deeper than 200")
            return
        if isinstance(obj, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)) and obj.is_indirect:
            if obj.objgen in self.seen:
                return
            self.seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Name) and str(obj) in FORBIDDEN_NAMES:
            self.findings.append(f"{where}: name {obj}")
        if isinstance(obj, pikepdf.Array):
            for index, item in enumerate(obj):
                self.visit(item, f"{where}[{index}]", parent_key, depth + 1)
        elif isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
            self.dictionary(obj, where, parent_key, depth)

    def dictionary(self, obj: pikepdf.Object, where: str, parent_key: str, depth: int) -> None:
        kind = _kind(obj, parent_key) if isinstance(obj, pikepdf.Dictionary) else ""
        for key in obj.keys():
            if key in FORBIDDEN_KEYS:
                self.findings.append(f"{where}: key {key}")
            if kind and key not in KINDS[kind]:
                self.findings.append(f"{where}: key {key} in a {kind}")
        self._action(obj, where)
        if kind == "page-label" and "/S" in obj and str(obj.S) not in LABEL_STYLES:
            self.findings.append(f"{where}: page label style {obj.S}")
        if kind == "field" and isinstance(obj.get("/V"), pikepdf.Dictionary):
            self.findings.append(f"{where}: a field value that is a dictionary (a signature?)")
        if kind == "field" and isinstance(obj.get("/Opt"), pikepdf.Array):
            for option in obj.Opt:
                if isinstance(option, (pikepdf.Dictionary, pikepdf.Stream)):
                    self.findings.append(f"{where}: a choice option that is a dictionary")
        for key in obj.keys():
            if key == "/A" and _web_link(obj):
                continue  # a plain link to a web page, as the policy allows: nothing else inside
            child_key = "/Kids/field" if kind == "field" and key == "/Kids" else key
            if parent_key in ("/OCProperties", "/PageLabels") and key in ("/D", "/Nums"):
                child_key = f"{parent_key}{key}"
            self.visit(obj.get(key), f"{where}{key}", child_key, depth + 1)

    def _action(self, obj: pikepdf.Object, where: str) -> None:
        """An /A that is an action dictionary may only go to a page of this document."""
        action = obj.get("/A")
        if not isinstance(action, pikepdf.Dictionary) or "/S" not in action or _web_link(obj):
            return
        target = action.get("/D")
        page = target[0] if isinstance(target, pikepdf.Array) and len(target) else None
        if action.S != "/GoTo" or not isinstance(page, pikepdf.Dictionary) or page.objgen not in self.pages:
            self.findings.append(f"{where}/A: action {action.S}")


def _web_link(annotation: pikepdf.Object) -> bool:
    """A link annotation whose action only opens an http(s) address (12.6.4.7)."""
    action = annotation.get("/A")
    return (
        annotation.get("/Subtype") == "/Link"
        and isinstance(action, pikepdf.Dictionary)
        and set(action.keys()) <= {"/S", "/URI", "/Type"}
        and action.get("/S") == "/URI"
        and str(action.get("/URI", "")).startswith(("https://", "http://"))
    )


def inspect(data: bytes) -> list[str]:
    return Inspector(data).run()
