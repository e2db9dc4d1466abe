"""A saved Internet mail (.eml, message/rfc822) → ``cdr.mail_model.Mail``.

Parsed with the standard library's ``email`` under its modern policy, inside the sandbox.
Headers are decoded here from their raw bytes (``cdr.mail_charset``): the library's own
decoding turns Microsoft's ISO-2022-JP and raw Shift_JIS into replacement characters.
Limits: parts as many as an archive may have members, MIME nesting as deep as
``MAX_NESTING``, each decoded part within ``max_stream_size`` and all of them together
within ``archive_total_size``; past any of them the whole mail is refused.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import mimetypes
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from cdr.errors import LimitExceeded, MalformedInput
from cdr.mail_charset import decode_text, decode_words, needs_redecoding, one_line
from cdr.mail_model import KEPT_HEADERS, TRACE_HEADER, Mail, Part, content_id
from cdr.mail_tnef import TNEF_SIGNATURE, read_tnef
from cdr.policy import Limits

# Real mail nests multipart/mixed → related → alternative, and forwarded mail a few more.
MAX_NESTING = 20
_TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")


@dataclass
class _Walk:
    limits: Limits
    mail: Mail
    parts_seen: int = 0
    total: int = 0


def read_eml(data: bytes, limits: Limits, *, received: bool = False, x_headers: bool = False) -> Mail:
    """The mail's kept headers, bodies and parts; LimitExceeded or MalformedInput if not."""
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
    except RecursionError:
        raise LimitExceeded("the mail's parts are nested too deeply") from None
    except (ValueError, TypeError, LookupError, IndexError) as exc:
        raise MalformedInput(f"the mail cannot be read: {str(exc)[:200]}") from None
    if not message.keys():
        raise MalformedInput("the mail has no headers")
    mail = Mail(headers=kept_headers(message.raw_items(), received=received, x_headers=x_headers))
    walk = _Walk(limits, mail)
    try:
        _walk(message, 0, walk)
    except RecursionError:
        raise LimitExceeded("the mail's parts are nested too deeply") from None
    except (ValueError, TypeError, LookupError, IndexError, AttributeError) as exc:  # a header the library chokes on
        raise MalformedInput(f"a part of the mail cannot be read: {str(exc)[:200]}") from None
    return mail


def kept_headers(raw_items: object, *, received: bool, x_headers: bool) -> list[tuple[str, str]]:
    """The headers a rebuilt mail may carry, each decoded once to one line of text."""
    canonical = {name.lower(): name for name in KEPT_HEADERS}
    kept: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, raw in raw_items:  # type: ignore[attr-defined]
        key = str(name).lower()
        value = one_line(decode_words(str(raw).replace("\r", "").replace("\n", "")))
        if key in canonical and key not in seen:
            seen.add(key)
            kept.append((canonical[key], value))
        elif key == TRACE_HEADER.lower() and received:
            kept.append((TRACE_HEADER, value))
        elif key.startswith("x-") and not key.startswith("x-cdr") and x_headers and _token(name):
            kept.append((str(name), value))
    return kept


def _token(name: object) -> bool:
    return re.fullmatch(r"X-[A-Za-z0-9-]{1,60}", str(name)) is not None


def _walk(part: email.message.Message, depth: int, walk: _Walk) -> None:
    walk.parts_seen += 1
    if walk.parts_seen > walk.limits.archive_members:
        raise LimitExceeded(f"the mail has more than {walk.limits.archive_members} parts")
    if depth > MAX_NESTING:
        raise LimitExceeded(f"the mail's parts are nested deeper than {MAX_NESTING}")
    content_type = _parameter(part.get_content_type) or "application/octet-stream"
    if content_type == "message/rfc822":
        _nested_mail(part, walk)
    elif part.is_multipart():
        for inner in part.get_payload():  # type: ignore[union-attr]
            _walk(inner, depth + 1, walk)
    else:
        _leaf(part, content_type, walk)


def _nested_mail(part: email.message.Message, walk: _Walk) -> None:
    """A forwarded mail travels on as an attachment, rebuilt by its own run of the pipeline."""
    inner = part.get_payload()
    message = inner[0] if isinstance(inner, list) and inner else None
    try:
        data = message.as_bytes(policy=email.policy.compat32) if message is not None else b""
    except (ValueError, TypeError, LookupError, UnicodeError):
        data = b""
    if not data:
        walk.mail.dropped.append("forwarded mail (unreadable)")
        return
    raw_subject = next((str(v) for k, v in message.raw_items() if k.lower() == "subject"), "") if message else ""
    subject = one_line(decode_words(raw_subject.replace("\r", "").replace("\n", "")), 100)
    _count(len(data), walk)
    walk.mail.parts.append(Part(_filename(part) or f"{subject or 'message'}.eml", data, "message/rfc822"))


def _leaf(part: email.message.Message, content_type: str, walk: _Walk) -> None:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    _count(len(data), walk)
    name = _filename(part)
    disposition = _parameter(part.get_content_disposition)
    attached = disposition == "attachment" or bool(name)
    charset = _parameter(part.get_content_charset)
    mail = walk.mail
    if content_type == "text/plain" and not attached and mail.text is None:
        mail.text = decode_text(data, charset)
    elif content_type == "text/html" and not attached and mail.html is None:
        mail.html = decode_text(data, charset)
    elif content_type in _TNEF_TYPES or name.lower() == "winmail.dat" or data.startswith(TNEF_SIGNATURE):
        text, parts = read_tnef(data, walk.limits)
        mail.parts += parts
        if mail.text is None and text:
            mail.text = text
    else:
        content_id = _content_id(part)
        extension = mimetypes.guess_extension(content_type) or ".bin"
        inline = disposition != "attachment" and content_id is not None
        mail.parts.append(Part(name or f"part-{len(mail.parts) + 1}{extension}", data, content_type, content_id, inline))


def _count(size: int, walk: _Walk) -> None:
    if size > walk.limits.max_stream_size:
        raise LimitExceeded(f"a part of the mail is larger than {walk.limits.max_stream_size} bytes once decoded")
    walk.total += size
    if walk.total > walk.limits.archive_total_size:
        raise LimitExceeded(f"the mail's parts exceed {walk.limits.archive_total_size} bytes together")


# One RFC 2231 parameter segment: name*=cs'lang'%XX…, name*0*=…, name*1=… (quoted or not)
_EXTENDED = re.compile(r"""(?i)(?:^|;)\s*(file)?name\*(\d+)?(\*)?\s*=\s*(?:"([^"]*)"|([^;\s]*))""")


def _filename(part: email.message.Message) -> str:
    """The attachment's name: RFC 2231 and RFC 2047 (also Outlook's, inside quotes)."""
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except (ValueError, TypeError, LookupError, IndexError):
        # the library decodes an RFC 2231 name with Python's codec and gives up on what it
        # lacks (ISO-2022-JP holding ① from Outlook): read the header's segments ourselves
        name = _extended_name(part)
    if isinstance(name, tuple):  # an RFC 2231 value the library left undecoded
        charset, _language, value = name
        name = decode_text(str(value).encode("latin-1", "replace"), charset)
    name = str(name)
    if needs_redecoding(name):
        name = decode_words(name)
    return one_line(name, 255)


def _extended_name(part: email.message.Message) -> str:
    """An RFC 2231 file name read from the raw header, decoded with the mail's charsets
    (cdr.mail_charset knows the Microsoft ISO-2022-JP variants); '' when there is none."""
    for key, raw in part.raw_items():
        if key.lower() not in ("content-disposition", "content-type"):
            continue
        found = [m for m in _EXTENDED.finditer(str(raw).replace("\r\n", "").replace("\n", ""))]
        for wanted in ("file", None):  # filename* before name*
            segments = sorted(
                (int(m.group(2) or 0), m.group(3) is not None or m.group(2) is None, m.group(4) or m.group(5) or "")
                for m in found
                if (m.group(1) or None) == wanted
            )[:64]
            if not segments:
                continue
            charset, data = "us-ascii", bytearray()
            for number, encoded, value in segments:
                if number == 0 and encoded and value.count("'") >= 2:
                    charset, _language, value = value.split("'", 2)
                data += urllib.parse.unquote_to_bytes(value) if encoded else value.encode("latin-1", "replace")
            return decode_text(bytes(data), charset or "us-ascii")
    return ""


def _parameter(read: Callable[[], str | None]) -> str | None:
    """A value the library parses from a header; a header it cannot decode counts as absent."""
    try:
        return read()
    except (ValueError, TypeError, LookupError, IndexError, AttributeError):
        return None


def _content_id(part: email.message.Message) -> str | None:
    return content_id(str(_parameter(lambda: part.get("Content-ID", "")) or ""))
