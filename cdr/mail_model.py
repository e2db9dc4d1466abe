"""A mail as the readers see it, whatever it was saved as (.eml, .msg, TNEF inside either).

Only what the rebuilt mail may carry is taken: a few headers as decoded text, the plain and
HTML bodies as text, and each attached or inline part as bytes with its name. Everything
else a reader meets (other headers, calendar blobs, RTF bodies, signatures' structure) is
not represented, so it cannot reach the output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The headers a rebuilt mail keeps, in the order it writes them. Received: and X- headers
# are kept only when the policy says so (mail.received, mail.x_headers).
KEPT_HEADERS = ("From", "To", "Cc", "Reply-To", "Date", "Subject", "Message-ID", "In-Reply-To", "References")
TRACE_HEADER = "Received"
_CONTENT_ID = re.compile(r"[!#-;=?-~]{1,200}")  # printable ASCII but space, quotes and angle brackets


def content_id(raw: str | None) -> str | None:
    """A picture's Content-ID without its angle brackets, or None when it is not one a
    header can carry as it is."""
    value = (raw or "").strip().removeprefix("<").removesuffix(">")
    return value if _CONTENT_ID.fullmatch(value) else None


@dataclass(frozen=True)
class Part:
    """An attachment, or a picture the HTML body shows (``content_id``)."""

    name: str
    data: bytes
    content_type: str = "application/octet-stream"
    content_id: str | None = None  # without the angle brackets
    inline: bool = False


@dataclass
class Mail:
    headers: list[tuple[str, str]] = field(default_factory=list)  # decoded, one line each
    text: str | None = None
    html: str | None = None
    parts: list[Part] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # what the reader left out, for the report

    def header(self, name: str) -> str:
        return next((value for key, value in self.headers if key.lower() == name.lower()), "")
