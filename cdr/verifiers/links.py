"""What a released link may say, shared by the verifiers of every format that has links.

RFC 6068 lets a ``mailto:`` URI set any mail header; some mail programs honour
``attach=`` and its variants and send a local file ("Mailto: Me Your Secrets", NDSS 2021).
Only the headers below are accepted.
"""

from __future__ import annotations

MAILTO_HEADERS = frozenset({"to", "cc", "bcc", "subject", "body"})


def mailto_ok(uri: str) -> bool:
    """The query of a mailto: link (given whole or after its scheme) names only harmless headers."""
    if "?" not in uri:
        return True
    pairs = uri.split("?", 1)[1].split("&")
    return all(pair.split("=", 1)[0].strip().lower() in MAILTO_HEADERS for pair in pairs if pair)
