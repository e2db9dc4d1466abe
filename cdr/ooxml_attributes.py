"""Which elements of a parsed OOXML part need a look, found by libxml2 in C.

Both the rebuild (``cdr/sanitizers/ooxml_content.py``) and the verifier
(``cdr/verifiers/ooxml_xml.py``) read an element's attributes one by one only when one of
them is in a namespace they must judge: a relationship reference (``r:id``) or a namespace
outside their vocabularies. An attribute in no namespace or in a vocabulary that carries
only values (``w:val``, ``xml:space``) needs nothing, and in a Word document that is nearly
every attribute.

An attribute can only be in a namespace the part declares (``xmlns:p="…"``; only ``xml:``
is declared by XML itself, and an undeclared prefix leaves the attribute in no namespace).
So the part is parsed with the declarations reported as libxml2 meets them, and only the
declared namespaces that need a look are searched for, by name tests in one XPath that
libxml2 runs in C. Each side passes its own list of harmless namespaces: the verifier keeps
its own tables and imports nothing from the sanitizers.

Elements are picked out by their names the same way: each side spells the names its rules
are about in every declared namespace (a whole namespace as ``{ns}*``) and adds
``NO_NAMESPACE`` and ``NOT_ELEMENTS``; one ``root.iter`` over them all then walks the tree
in C and hands Python only those elements.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

XML_NS = "http://www.w3.org/XML/1998/namespace"
# Nodes ``root.iter()`` yields that are not elements (an entity reference survives a parse
# that does not resolve entities): ``root.iter(*NOT_ELEMENTS)`` finds them in C. The
# "{}*" tag finds the elements in no namespace the same way.
NOT_ELEMENTS = (etree.Comment, etree.ProcessingInstruction, etree.Entity)
NO_NAMESPACE = "{}*"


def parse_declaring(data: bytes, **parser_options: Any) -> tuple[etree._Element, frozenset[str]]:
    """The part's root, parsed as ``etree.fromstring`` with ``parser_options`` would, and
    every namespace it declares; raises ``etree.XMLSyntaxError`` as the parse does."""
    # The whole part in one feed: iterparse reads its source in small chunks, which cost a
    # third more than the parse itself on a part of many small elements (styles.xml).
    parser = etree.XMLPullParser(events=("start-ns",), **parser_options)
    parser.feed(data)
    root = parser.close()
    declared = {uri for _event, (_prefix, uri) in parser.read_events()}
    return root, frozenset(declared | {XML_NS})


def tags_to_find(declared: frozenset[str], spelt: Callable[[str], tuple[str, ...]]) -> list[object]:
    """What ``root.iter`` must be given to yield every element a side's rules are about, in
    a part declaring ``declared``: ``spelt(namespace)`` names them in one namespace. An
    element can only be in a declared namespace (or ``xml:``, which is in ``declared``), in
    none, or not be an element."""
    found: list[object] = [*NOT_ELEMENTS, NO_NAMESPACE]
    for namespace in sorted(declared):
        if namespace:
            found += spelt(namespace)
    return found


def tags_needing_a_look(
    root: etree._Element, declared: frozenset[str], harmless: frozenset[str]
) -> set[str]:
    """The tags of the elements holding an attribute in a declared namespace outside
    ``harmless`` (attributes in no namespace never count)."""
    to_judge = sorted(namespace for namespace in declared - harmless if namespace)
    if not to_judge:
        return set()
    prefixes = {f"n{index}": namespace for index, namespace in enumerate(to_judge)}
    union = " | ".join(f"//@{prefix}:*" for prefix in prefixes)
    return {element.tag for element in root.xpath(f"({union})/..", namespaces=prefixes)}
