"""Which elements of a parsed OOXML part hold an attribute that needs a look.

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
"""

from __future__ import annotations

import io
from typing import Any

from lxml import etree

XML_NS = "http://www.w3.org/XML/1998/namespace"


def parse_declaring(data: bytes, **parser_options: Any) -> tuple[etree._Element, frozenset[str]]:
    """The part's root, parsed as ``etree.fromstring`` with ``parser_options`` would, and
    every namespace it declares; raises ``etree.XMLSyntaxError`` as the parse does."""
    events = etree.iterparse(io.BytesIO(data), events=("start-ns",), **parser_options)
    declared = {uri for _event, (_prefix, uri) in events}
    return events.root, frozenset(declared | {XML_NS})


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
