"""A ``cdr.mail_model.Mail`` written out: as a new .eml, or as one text (メールテキスト化).

The .eml is built with the standard library's ``EmailMessage`` from decoded text only, so
every header is encoded afresh (RFC 2047 in UTF-8) and every body and part is base64 in a
structure this module chooses: multipart/mixed of (alternative of plain and HTML, with
the HTML's pictures related to it), the attachments, and the report of what was removed.
Nothing of the original's MIME structure, transfer encodings or parameters survives.
"""

from __future__ import annotations

import email.policy
import hashlib
import mimetypes
from collections.abc import Iterable
from email.errors import HeaderParseError
from email.message import EmailMessage

from cdr.errors import MalformedInput
from cdr.mail_charset import readable
from cdr.mail_model import Mail, Part

POLICY = email.policy.default.clone(linesep="\r\n", max_line_length=78)
SANITIZED_HEADER = "X-CDR-Sanitized"
REPORT_NAME = "cdr-removed.txt"
_IDENTIFIERS = frozenset({"message-id", "in-reply-to", "references"})


def raw_eml(mail: Mail) -> bytes:
    """A mail read from another format (an attached .msg) as a plain .eml, not yet sanitized."""
    return build_eml(mail, mail.parts, None, None)


def build_eml(mail: Mail, parts: Iterable[Part], sanitized: str | None, report: str | None) -> bytes:
    message = EmailMessage(policy=POLICY)
    for name, value in mail.headers:
        _set_header(message, name, value)
    if sanitized is not None:
        message[SANITIZED_HEADER] = sanitized
    message["MIME-Version"] = "1.0"
    message.set_content(readable(mail.text or ""), cte="base64")
    inline = [p for p in parts if p.inline and p.content_id]
    if mail.html is not None:
        message.add_alternative(readable(mail.html), subtype="html", cte="base64")
        html_part = message.get_body(("html",))
        for part in inline:
            maintype, subtype = _mime(part)
            html_part.add_related(part.data, maintype, subtype, cid=f"<{part.content_id}>")  # type: ignore[union-attr]
    for part in parts:
        if part.inline and part.content_id and mail.html is not None:
            continue
        maintype, subtype = _mime(part)
        message.add_attachment(part.data, maintype, subtype, filename=part.name)
    if report is not None:
        message.add_attachment(report, subtype="plain", cte="base64", disposition="inline", filename=REPORT_NAME)
    _fixed_boundaries(message)
    try:
        return message.as_bytes(policy=POLICY)
    except (UnicodeError, ValueError, TypeError, IndexError, HeaderParseError) as exc:
        raise MalformedInput(f"the mail cannot be written again: {str(exc)[:200]}") from None


def _fixed_boundaries(message: EmailMessage) -> None:
    """Boundaries named from the content, so that the same mail gives the same bytes (the
    library draws random ones). ``=_`` never occurs in base64, the only body encoding here."""
    digest = hashlib.sha256()
    for part in message.walk():
        if not part.is_multipart():
            digest.update(str(part.get_payload()).encode("ascii", "replace"))
    token = digest.hexdigest()[:24]
    multiparts = [part for part in message.walk() if part.is_multipart()]
    for number, part in enumerate(multiparts):
        part.set_boundary(f"=_cdr_{token}_{number}")


def _set_header(message: EmailMessage, name: str, value: str) -> None:
    """A decoded header set afresh; one the library cannot encode is left out (it came from
    the sender, and the mail is still readable without it)."""
    if not value or (name.lower() in _IDENTIFIERS and not value.isascii()):
        return  # a message identifier is ASCII (RFC 5322 §3.6.4); another is a sender's mistake
    try:
        message[name] = value
        POLICY.fold(name, message[name])  # parse and fold now, not when the mail is written
    except (HeaderParseError, ValueError, TypeError, IndexError, AttributeError):
        del message[name]


def _mime(part: Part) -> tuple[str, str]:
    """The type a rebuilt part is declared as, from its rebuilt name; a mail travels as an
    octet stream named .eml, so that it is verified like any other attachment."""
    guessed, _ = mimetypes.guess_type(part.name, strict=False)
    if not guessed or guessed.startswith(("message/", "multipart/", "text/html")):
        guessed = "application/octet-stream"
    maintype, _, subtype = guessed.partition("/")
    return maintype, subtype


def defang(text: str) -> str:
    """Links no click follows: https://x → hxxps://x, ftp://x → fxp://x."""
    import re

    text = re.sub(r"(?i)\bh(tt)(ps?)(?=(?::|&#0*58;|&colon;)//)", r"hxx\2", text)
    return re.sub(r"(?i)\bf(t)(p)(?=:\/\/)", r"fx\2", text)


def mail_text(mail: Mail, body: str, delivered: list[str], withheld: list[tuple[str, str]]) -> str:
    """The guideline's メールテキスト化: headers, the body as text, then what became of each
    attachment — ``delivered`` (rebuilt, beside this text) and ``withheld`` (name, the
    reason in Japanese)."""
    labels = {"From": "差出人 / From", "To": "宛先 / To", "Cc": "CC", "Date": "日付 / Date", "Subject": "件名 / Subject"}
    lines = [f"{label}: {mail.header(name)}" for name, label in labels.items() if mail.header(name)]
    lines += ["", "-" * 40, readable(body).rstrip(), "-" * 40, ""]
    if delivered:
        lines.append("添付ファイルは無害化して、このテキストと一緒に届けています。")
        lines.append("The attachments were made safe and are delivered together with this text.")
        lines += [f"・{name}" for name in delivered]
    if withheld:
        lines.append("次の添付ファイルは無害化できなかったため、届けていません。必要な場合は管理者にご相談ください。")
        lines.append("These attachments could not be made safe and are not delivered; ask the administrator if you need them.")
        lines += [f"・{name}（{why}）" for name, why in withheld]
    if not delivered and not withheld:
        lines.append("添付ファイルはありません。 / No attachments.")
    return "\r\n".join(line.replace("\n", "\r\n") for line in lines) + "\r\n"
