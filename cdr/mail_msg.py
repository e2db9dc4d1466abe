"""An Outlook mail (.msg, MS-OXMSG) → ``cdr.mail_model.Mail``, read with olefile.

A .msg is a compound file: each MAPI property of the message is a stream named
``__substg1.0_<id><type>``, recipients and attachments are storages below it, and a mail
attached to the mail is a whole message inside its attachment's storage. Read here with
olefile (a dependency already, BSD-licensed) rather than extract-msg, which is GPL and
cannot ship inside this Apache-2.0 package. Only the properties the rebuilt mail needs are
read: subject, sender, recipients, date, Message-ID, the plain and HTML bodies, and each
attachment's name, type, Content-ID and data. An attached mail is written back out as a
plain .eml (``cdr.mail_write.raw_eml``) and goes through the pipeline like any attachment.
"""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

from cdr.errors import LimitExceeded, MalformedInput
from cdr.mail_charset import decode_text, decode_words, one_line
from cdr.mail_eml import kept_headers
from cdr.mail_model import Mail, Part, content_id
from cdr.policy import Limits

PT_UNICODE = "001F"
PT_STRING8 = "001E"
PT_BINARY = "0102"
PT_OBJECT = "000D"
# Property ids (MS-OXPROPS)
SUBJECT, TRANSPORT_HEADERS, BODY, BODY_HTML = "0037", "007D", "1000", "1013"
SENDER_NAME, SENDER_SMTP, SENDER_EMAIL = "0C1A", "5D01", "0C1F"
DISPLAY_TO, DISPLAY_CC, MESSAGE_ID = "0E04", "0E03", "1035"
ATTACH_DATA, ATTACH_LONG_NAME, ATTACH_NAME, ATTACH_MIME, ATTACH_CID = "3701", "3707", "3704", "370E", "3712"
PR_CLIENT_SUBMIT_TIME, PR_MESSAGE_CODEPAGE, PR_ATTACH_FLAGS = 0x0039, 0x3FFD, 0x3714
JAPAN = timezone(timedelta(hours=9), "JST")
MAX_NESTED_MSG = 5  # attached mails inside attached mails, before the limit says no


class _Message:
    """One message's storage in the compound file: the top one or an attached mail's."""

    def __init__(self, ole: Any, prefix: list[str], limits: Limits) -> None:
        self.ole = ole
        self.prefix = prefix
        self.limits = limits
        self.codepage = "cp932"  # what Japanese Outlook writes 8-bit strings in
        codepage = self.fixed(PR_MESSAGE_CODEPAGE)
        if codepage is not None:
            self.codepage = f"cp{codepage & 0xFFFF}"

    def stream(self, name: str, under: list[str] | None = None) -> bytes | None:
        path = [*(under or self.prefix), name]
        if not self.ole.exists("/".join(path)):
            return None
        if self.ole.get_size("/".join(path)) > self.limits.max_stream_size:
            raise LimitExceeded(f"a property of the .msg is larger than {self.limits.max_stream_size} bytes")
        return bytes(self.ole.openstream(path).read())

    def text(self, prop: str, under: list[str] | None = None) -> str | None:
        raw = self.stream(f"__substg1.0_{prop}{PT_UNICODE}", under)
        if raw is not None:
            return raw.decode("utf-16-le", "replace").rstrip("\0")
        raw = self.stream(f"__substg1.0_{prop}{PT_STRING8}", under)
        if raw is not None:
            return decode_text(raw.rstrip(b"\0"), self.codepage)
        return None

    def binary(self, prop: str, under: list[str] | None = None) -> bytes | None:
        return self.stream(f"__substg1.0_{prop}{PT_BINARY}", under)

    def fixed(self, prop_id: int, under: list[str] | None = None) -> int | None:
        """A fixed-size property from the ``__properties_version1.0`` stream: its 8 value bytes
        as a little-endian number. The top message's stream has a 32-byte header, others 24
        (attachments, recipients: 8)."""
        raw = self.stream("__properties_version1.0", under)
        if raw is None:
            return None
        depth = under or self.prefix
        header = 8 if under else (32 if not depth else 24)
        for offset in range(header, len(raw) - 15, 16):
            _type, found = struct.unpack_from("<HH", raw, offset)
            if found == prop_id:
                return int.from_bytes(raw[offset + 8 : offset + 16], "little")
        return None

    def children(self, kind: str) -> list[list[str]]:
        depth = len(self.prefix)
        found = {
            tuple(entry[: depth + 1])
            for entry in self.ole.listdir(streams=True, storages=True)
            if entry[:depth] == self.prefix and len(entry) > depth and entry[depth].startswith(kind)
        }
        return [list(path) for path in sorted(found)]


def read_msg(data: bytes, limits: Limits, *, received: bool = False, x_headers: bool = False) -> Mail:
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - olefile raises many kinds on hostile input
        raise MalformedInput(f"the .msg cannot be read: {str(exc)[:200]}") from None
    try:
        return _mail(_Message(ole, [], limits), 0, received=received, x_headers=x_headers)
    except RecursionError:  # a directory whose siblings or children loop
        raise MalformedInput("the .msg's directory loops or is nested too deeply") from None
    except (OSError, ValueError, struct.error, IndexError, KeyError, TypeError) as exc:
        raise MalformedInput(f"the .msg cannot be read: {str(exc)[:200]}") from None
    finally:
        ole.close()


def _mail(message: _Message, depth: int, *, received: bool, x_headers: bool) -> Mail:
    mail = Mail(headers=_headers(message, received=received, x_headers=x_headers))
    mail.text = message.text(BODY)
    html = message.binary(BODY_HTML)
    if html is not None:
        mail.html = decode_text(html, _html_charset(html) or message.codepage)
    elif message.text(BODY_HTML) is not None:
        mail.html = message.text(BODY_HTML)
    attachments = message.children("__attach_version1.0_")
    if len(attachments) > message.limits.archive_members:
        raise LimitExceeded(f"the .msg has more than {message.limits.archive_members} attachments")
    for storage in attachments:
        part = _attachment(message, storage, depth)
        if part is None:
            mail.dropped.append("an attachment with no data (a link or an OLE object)")
        else:
            mail.parts.append(part)
    return mail


def _headers(message: _Message, *, received: bool, x_headers: bool) -> list[tuple[str, str]]:
    """The Internet headers Outlook kept (a received mail has them all), else the headers
    rebuilt from the message's own properties (a draft or a mail saved before sending)."""
    transport = message.text(TRANSPORT_HEADERS)
    if transport:
        import email
        import email.policy

        parsed = email.message_from_string(transport + "\n\n", policy=email.policy.default)
        headers = kept_headers(parsed.raw_items(), received=received, x_headers=x_headers)
        if any(name == "From" for name, _ in headers):
            return headers
    sender_name = message.text(SENDER_NAME) or ""
    sender = message.text(SENDER_SMTP) or message.text(SENDER_EMAIL) or ""
    headers = [("From", one_line(f"{sender_name} <{sender}>" if sender else sender_name))]
    headers += [(name, one_line(value)) for name, value in (("To", message.text(DISPLAY_TO)), ("Cc", message.text(DISPLAY_CC))) if value]
    submitted = message.fixed(PR_CLIENT_SUBMIT_TIME)
    if submitted:
        headers.append(("Date", _filetime(submitted)))
    headers.append(("Subject", one_line(decode_words(message.text(SUBJECT) or ""))))
    message_id = message.text(MESSAGE_ID)
    if message_id:
        headers.append(("Message-ID", one_line(message_id)))
    return headers


def _filetime(value: int) -> str:
    try:
        moment = datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=value // 10)
    except OverflowError:
        return ""
    return format_datetime(moment.astimezone(JAPAN))  # Outlook stores UTC; the staff read Japan time


def _html_charset(html: bytes) -> str | None:
    import re

    match = re.search(rb"charset=[\"']?([A-Za-z0-9_.:-]{1,40})", html[:4096], re.I)
    return match.group(1).decode("ascii") if match else None


def _attachment(message: _Message, storage: list[str], depth: int) -> Part | None:
    name = one_line(message.text(ATTACH_LONG_NAME, storage) or message.text(ATTACH_NAME, storage) or "", 255)
    mime = one_line(message.text(ATTACH_MIME, storage) or "application/octet-stream", 100).lower()
    cid = content_id(message.text(ATTACH_CID, storage))
    flags = message.fixed(PR_ATTACH_FLAGS, storage) or 0
    data = message.binary(ATTACH_DATA, storage)
    if data is not None:
        hidden = cid is not None and bool(flags & 0x4 or "image/" in mime)
        return Part(name or "attachment.bin", data, mime, cid, hidden)
    embedded = [*storage, f"__substg1.0_{ATTACH_DATA}{PT_OBJECT}"]
    if not message.ole.exists("/".join(embedded)):
        return None
    if depth + 1 > MAX_NESTED_MSG:
        raise LimitExceeded(f"mails attached inside mails deeper than {MAX_NESTED_MSG}")
    from cdr.mail_write import raw_eml

    inner = _mail(_Message(message.ole, embedded, message.limits), depth + 1, received=True, x_headers=False)
    subject = inner.header("Subject") or "message"
    return Part(f"{name or subject}.eml" if not name.lower().endswith(".eml") else name, raw_eml(inner), "message/rfc822")
