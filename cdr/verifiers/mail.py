"""Allow-list verification of a rebuilt mail (.eml).

Accepted, from RFC 5322 and RFC 2045–2047 rather than from the sanitizer: printable ASCII
only (headers encoded, bodies base64); at the top the headers a rebuilt mail carries (originator, destination,
identification and informational fields of RFC 5322 §3.6, MIME-Version, Content-Type,
Content-Transfer-Encoding and ``X-CDR-Sanitized`` exactly once), plus ``Received`` and
other ``X-`` fields only when the policy keeps them. Below it a tree of multipart/mixed,
alternative and related no deeper than ``MAX_NESTING``, whose leaves are base64 and are
each one of: text/plain in UTF-8; text/html whose every element and attribute is on the
lists below, whose links use a scheme the policy allows (or a defanged one) and whose
pictures are only ``cid:`` references to parts of the mail itself (one that is missing
shows nothing; none loads from anywhere); a picture inside multipart/related; or an
attachment identified by its content as a type with a verifier, which it passes (a mail
attached to the mail is verified by this module one level deeper).
"""

from __future__ import annotations

import email
import email.message
import email.policy
import html.parser
import io
import re
from typing import BinaryIO

from cdr.detect import identify_bytes
from cdr.model import FileType, Finding
from cdr.verifiers import VerifyContext, verify_structure
from cdr.verifiers.html import mailto_link_ok

VERIFIES = frozenset({FileType.EML})
MAX_NESTING = 4
_TOP = frozenset(
    {"from", "to", "cc", "reply-to", "date", "subject", "message-id", "in-reply-to", "references",
     "mime-version", "content-type", "content-transfer-encoding", "x-cdr-sanitized"}
)
_PART = frozenset({"content-type", "content-transfer-encoding", "content-disposition", "content-id", "mime-version"})
_CONTAINERS = frozenset({"multipart/mixed", "multipart/alternative", "multipart/related"})
_TAGS = frozenset(
    "a abbr b bdi big blockquote body br caption center cite code col colgroup dd del dfn div dl dt em font "
    "h1 h2 h3 h4 h5 h6 head hr html i img ins kbd li mark ol p pre q rp rt ruby s samp small span strike "
    "strong style sub sup table tbody td tfoot th thead title tr tt u ul var wbr".split()
)
_ATTRIBUTES = frozenset(
    "abbr align alt bgcolor border cellpadding cellspacing class color cols colspan dir face headers height "
    "href hreflang lang rel rowspan rules scope size span src start style summary title type valign width".split()
)
_CSS_LOADS = re.compile(r"url\s*\(|@import|expression\s*\(|javascript|behaviou?r\s*:|-moz-binding|\\", re.I)
_DEFANGED = ("hxxp:", "hxxps:", "fxp:")
_NOT_PRINTABLE_ASCII = re.compile(rb"[^\t\r\n\x20-\x7e]")


# What a client makes of a plain body beyond showing it: the first line of a uuencoded, yEnc
# or BinHex file (offered as an attachment), a share path or a file: address (made a link).
_ENCODED_FILE = re.compile(rb"^[ \t]*(?:begin(?:-base64)? [0-7]{3,4} \S|=ybegin |\(This file must be converted with BinHex)",
                           re.M | re.I)
_SHARE_OR_FILE = re.compile(rb"\\\\[^\\\s]|\bfile:\S", re.I)
def verify(src: BinaryIO, ctx: VerifyContext) -> list[Finding]:
    data = src.read(ctx.policy.limits.max_file_size + 1)
    if len(data) > ctx.policy.limits.max_file_size:
        return [Finding("mail-too-large", "larger than the file size limit")]
    if ctx.depth > ctx.policy.limits.archive_depth + 1:
        return [Finding("mail-too-deep", f"a mail nested {ctx.depth} levels deep")]
    if _NOT_PRINTABLE_ASCII.search(data):  # headers encoded, every body base64: nothing else is written
        return [Finding("mail-bytes", "the mail holds bytes that are not printable ASCII")]
    message = email.message_from_bytes(data, policy=email.policy.default)
    findings = _top_headers(message, ctx)
    checker = _Checker(ctx)
    checker.part(message, 0, "mixed")
    return findings + checker.findings


def _top_headers(message: email.message.Message, ctx: VerifyContext) -> list[Finding]:
    findings: list[Finding] = []
    for name in message.keys():
        key = name.lower()
        kept = key in _TOP or (key == "received" and ctx.policy.mail.received)
        kept = kept or (key.startswith("x-") and ctx.policy.mail.x_headers)
        if not kept:
            findings.append(Finding("mail-header-not-allowed", name[:60]))
    if len(message.get_all("X-CDR-Sanitized", [])) != 1:
        findings.append(Finding("mail-not-sanitized", "X-CDR-Sanitized must appear exactly once"))
    return findings


class _Checker:
    def __init__(self, ctx: VerifyContext) -> None:
        self.ctx = ctx
        self.findings: list[Finding] = []
        self.leaves = 0

    def fail(self, kind: str, detail: str) -> None:
        if len(self.findings) < 50:
            self.findings.append(Finding(kind, detail[:300]))

    def part(self, part: email.message.Message, depth: int, parent: str) -> None:
        content_type = part.get_content_type()
        if depth:
            unknown = [k for k in part.keys() if k.lower() not in _PART]
            if unknown:
                self.fail("mail-part-header-not-allowed", ", ".join(unknown)[:100])
        if content_type in _CONTAINERS:
            if depth >= MAX_NESTING:
                self.fail("mail-too-deep", f"{content_type} at depth {depth}")
                return
            for inner in part.get_payload():  # type: ignore[union-attr]
                self.part(inner, depth + 1, content_type.split("/")[1])
            return
        self.leaves += 1
        if self.leaves > self.ctx.policy.limits.archive_members + 2:
            self.fail("mail-too-many-parts", f"more than {self.ctx.policy.limits.archive_members}")
            return
        if str(part.get("Content-Transfer-Encoding", "")).strip().lower() != "base64":
            self.fail("mail-part-encoding", f"{content_type} is not base64")
            return
        data = part.get_payload(decode=True)
        self.leaf(part, content_type, data if isinstance(data, bytes) else b"", parent)

    def leaf(self, part: email.message.Message, content_type: str, data: bytes, parent: str) -> None:
        attached = part.get_content_disposition() == "attachment"
        if content_type == "text/plain" and not attached:
            if (part.get_content_charset() or "") != "utf-8":
                self.fail("mail-text-charset", "a text part is not UTF-8")
            if _ENCODED_FILE.search(data):
                self.fail("mail-text-encoded-file", "a uuencoded, yEnc or BinHex file in the text, which clients decode")
            if _SHARE_OR_FILE.search(data):
                self.fail("mail-text-share-link", "a share path or file: address in the text, which clients link")
            return
        if content_type == "text/html" and not attached and parent in ("alternative", "related"):
            if (part.get_content_charset() or "") != "utf-8":
                self.fail("mail-text-charset", "the HTML part is not UTF-8")
            self.html(data.decode("utf-8", "replace"))
            return
        if content_type.startswith("image/") and parent == "related" and not attached:
            self.attachment(data, f"inline.{content_type.split('/')[1]}", pictures_only=True)
            return
        if not attached:
            self.fail("mail-part-not-allowed", f"{content_type} that is neither a body nor an attachment")
            return
        self.attachment(data, part.get_filename() or "attachment", pictures_only=False)

    def attachment(self, data: bytes, name: str, pictures_only: bool) -> None:
        detection = identify_bytes(data, name)
        if pictures_only and not detection.mime.startswith("image/"):
            self.fail("mail-inline-not-picture", f"{name}: {detection.file_type.value}")
            return
        inner = VerifyContext(self.ctx.policy, name, self.ctx.depth + 1)
        for finding in verify_structure(detection.file_type, io.BytesIO(data), inner):
            self.fail(finding.kind, f"{name[:100]}: {finding.detail}")

    def html(self, markup: str) -> None:
        checker = _HtmlAllowList(self.ctx.policy.mail.links)
        checker.feed(markup)
        checker.close()
        for problem in checker.problems[:10]:
            self.fail("mail-html-not-allowed", problem)
        # the text as a client shows it, joined across tags: "\\<b></b>host" is a share too
        if _SHARE_OR_FILE.search("".join(checker.text).encode("utf-8")):
            self.fail("mail-text-share-link", "a share path or file: address in the HTML text, which clients link")


class _HtmlAllowList(html.parser.HTMLParser):
    def __init__(self, schemes: tuple[str, ...]) -> None:
        super().__init__(convert_charrefs=True)
        self.schemes = tuple(f"{s}:" for s in schemes)
        self.problems: list[str] = []
        self.in_style = False
        self.text: list[str] = []  # what a reader sees, for the share-path check

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            self.problems.append(f"<{tag}>")
            return
        self.in_style = tag == "style"
        for name, value in attrs:
            self._attribute(tag, name, value or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.in_style = False

    def handle_endtag(self, tag: str) -> None:
        self.in_style = False

    def _attribute(self, tag: str, name: str, value: str) -> None:
        compact = re.sub(r"[\x00-\x20]", "", value).lower()
        if name not in _ATTRIBUTES:
            self.problems.append(f"<{tag} {name}>")
        elif name == "href" and not (compact.startswith(self.schemes + _DEFANGED) or compact.startswith("#")):
            self.problems.append(f"<{tag} href> {value[:60]}")
        elif name == "href" and compact.startswith("mailto:") and not mailto_link_ok(value):
            self.problems.append(f"<{tag} href> {value[:60]}")
        elif name == "src" and (tag != "img" or not compact.startswith("cid:")):
            self.problems.append(f"<{tag} src> {value[:60]}")
        elif name == "style" and _CSS_LOADS.search(value):
            self.problems.append(f"<{tag} style> {value[:60]}")

    def handle_data(self, data: str) -> None:
        if self.in_style and _CSS_LOADS.search(data):
            self.problems.append("<style> that loads or runs something")
        if not self.in_style:
            self.text.append(data)

    def handle_comment(self, data: str) -> None:
        if "[if" in data.lower():
            self.problems.append("a conditional comment")

    def handle_pi(self, data: str) -> None:
        self.problems.append("a processing instruction")

    def unknown_decl(self, data: str) -> None:
        self.problems.append("a declaration")
