"""Mail (.eml, Outlook .msg, TNEF winmail.dat inside either): a new mail from the parts
known to be harmless.

The mail is read into ``cdr.mail_model.Mail`` (only the kept headers, the bodies and the
parts), then every attachment and inline picture goes through detect → decide → its
sanitizer exactly as an archive's members do (``ArchiveSanitizer``, whose member run this
class shares): an attached mail is rebuilt by this sanitizer one level deeper, a ZIP by the
archive sanitizer, and what cannot be made safe is left out and named in the report part.
An attachment of a top-level mail that needs LibreOffice or 画像化 takes the archive's two
passes (``cdr.member_conversion``): its index is the part's place in ``Mail.parts``, the same
on both passes because both read the same bytes with the same reader; a deeper mail's are
listed.
The HTML body is cleaned with ``cdr.htmlclean`` by the policy's link schemes (or replaced
by its text: ``mail.html: text``, and always while no cleaner is installed); links are
defanged when the policy says so. The rebuild writes a new .eml (``cdr.mail_write``).

The text action (the guideline's メールテキスト化) writes one ZIP: ``<mail name>.txt`` with
the headers, the body as text and what became of each attachment, and beside it the
attachments rebuilt exactly as in a rebuilt mail. One file, so that the job still has one
output: verified as a whole in one child (every member against its own allow-list) and
released by the same single atomic link as any other output, found again by its hash
after a crash. A folder would need the parent to unpack a child's archive outside the
sandbox and a publish of many files that a kill can cut between; a ZIP needs neither.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePosixPath
from typing import BinaryIO

from cdr.detect import identify_bytes
from cdr.errors import LimitExceeded, MalformedInput, SanitizeError, WrongPassword
from cdr.mail_model import Mail, Part
from cdr.mail_write import REPORT_NAME, build_eml, defang, mail_text
from cdr.model import Action, ActionTaken, Category, Detection, FileType, Finding, SanitizeResult
from cdr.names import display, safe_component, with_extension
from cdr.sanitizers.archive import ArchiveSanitizer, NeedsParent, _BombInside, _removed_line, to_convert
from cdr.sanitizers.base import Context, read_limited
from cdr.text_payloads import defang_shares, neutralise_body
from cdr.types import row, types_where
from cdr.zipwriter import write_zip

# What a scan reports in an HTML body (the rebuild does not look for these: it keeps only
# what the cleaner allows, or the text)
_ACTIVE_HTML = re.compile(
    r"<\s*(script|iframe|object|embed|form|meta[^>]+refresh|base|link)\b|\son\w+\s*=|javascript:|"
    r"\ssrc\s*=\s*[\"']?(?:https?:|//)",
    re.I,
)


def read_mail(src: BinaryIO, ctx: Context) -> Mail:
    """The mail in ``src`` (.eml or .msg by the type detect found), within the limits."""
    if ctx.depth > ctx.policy.limits.archive_depth:
        raise LimitExceeded(f"mails nested in mails or archives deeper than {ctx.policy.limits.archive_depth}")
    data = read_limited(src, ctx.policy.limits.max_file_size)
    options = ctx.policy.mail
    if ctx.file_type == FileType.MSG:
        from cdr.mail_msg import read_msg

        return read_msg(data, ctx.policy.limits, received=options.received, x_headers=options.x_headers)
    from cdr.mail_eml import read_eml

    return read_eml(data, ctx.policy.limits, received=options.received, x_headers=options.x_headers)


class MailSanitizer(ArchiveSanitizer):
    """A mail is a container of parts: its members run like an archive's."""

    handles = types_where(sanitizer="mail")

    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        mail = read_mail(src, ctx)
        findings: list[Finding] = []
        if mail.html is not None and _ACTIVE_HTML.search(mail.html):
            findings.append(Finding("mail-active-html", "scripts, handlers, frames, forms or remote pictures"))
        for part in mail.parts:
            findings += self._inspect_member(part.name, part.data, ctx)
        return findings

    def sanitize(self, src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        mail = read_mail(src, ctx)
        if ctx.action == Action.TEXT:
            return self._as_text(mail, dst, ctx)
        kept, removed, reasons, pending = self._rebuild_parts(mail, ctx)
        html_action = self._clean_body(mail, ctx)
        body_actions: list[ActionTaken] = []
        if mail.text is not None:
            mail.text, body_actions = _neutralised(mail.text)
        summary = f"cdr; headers=kept-list; html={html_action}; attachments={len(kept)} rebuilt, {len(removed)} removed"
        if ctx.policy.mail.defang_links:
            summary += "; links=defanged"
        dropped = [f"{display(d)}\t取り出せない部分です\tnot-extracted" for d in mail.dropped]
        report = _report(removed + dropped) if removed or dropped else None
        dst.write(build_eml(mail, kept, summary, report))
        actions = [ActionTaken("mail-html", html_action), ActionTaken("mail-attachments", "rebuilt", len(kept))]
        actions += [ActionTaken(f"member:{r}", "removed", n) for r, n in sorted(reasons.items())]
        if ctx.policy.mail.defang_links:
            actions.append(ActionTaken("mail-links", "defanged"))
        return _result(FileType.EML, actions + body_actions, kept, removed, pending, ctx)

    def copy_member(self, src: BinaryIO, dst: BinaryIO, ctx: Context, index: int) -> Detection:
        """One attachment's bytes, by its place in the parts, for the parent to convert."""
        parts = read_mail(src, ctx).parts
        if not 0 <= index < len(parts):
            raise MalformedInput(f"the mail has no attachment {index} to convert")
        part = parts[index]
        dst.write(part.data)
        return identify_bytes(part.data, part.name)

    def _rebuild_parts(
        self, mail: Mail, ctx: Context, reserved: str = REPORT_NAME
    ) -> tuple[list[Part], list[str], Counter[str], list[int]]:
        """Every part rebuilt (or left out with its line for the report); ``reserved`` is
        the name the appliance's own part takes, which no attachment may pose as. Last, the
        parts the parent must convert (first pass), by index."""
        kept: list[Part] = []
        removed: list[str] = []
        reasons: Counter[str] = Counter()
        pending: list[int] = []
        used: set[str] = {reserved.lower()}
        for index, part in enumerate(mail.parts):
            try:
                clean, out_type = self._member(part.data, part.name, ctx, index)
            except WrongPassword:
                raise
            except _BombInside as bomb:  # a mail or archive too deep inside: the whole mail is held
                raise bomb.error from None
            except (NeedsParent, SanitizeError) as caught:
                exc = caught.error if isinstance(caught, NeedsParent) else caught
                pending += [index] if isinstance(caught, NeedsParent) else []
                removed.append(_removed_line(part.name, exc))
                reasons[exc.reason] += 1
                continue
            inline = part.inline and row(out_type).category == Category.IMAGE
            name = _unique_name(part.name, out_type, used)
            kept.append(Part(name, clean, content_id=part.content_id if inline else None, inline=inline))
        return kept, removed, reasons, pending

    def _clean_body(self, mail: Mail, ctx: Context) -> str:
        """The HTML body cleaned, or replaced by its text; links defanged if the policy says."""
        from cdr.sanitizers.text import html_to_text

        options = ctx.policy.mail
        action = "none"
        if mail.html is not None:
            if mail.text is None:  # the plain alternative, for readers that show no HTML
                mail.text = html_to_text(mail.html)[0]
            cleaner = _html_cleaner() if options.html == "sanitize" else None
            if cleaner is None:
                mail.html, action = None, "replaced-by-text"
            else:
                mail.html = cleaner(mail.html, link_schemes=options.links, defang=options.defang_links)
                # a share path or file: address in the text is made a link by some clients, as
                # in the plain body (_neutralised): written so that none does, whatever the policy
                mail.html = defang_shares(mail.html)[0]
                action = "sanitized"
        if options.defang_links:
            mail.text = defang(mail.text or "")
            mail.html = defang(mail.html) if mail.html is not None else None
        return action

    def _as_text(self, mail: Mail, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        """The text of the mail and its rebuilt attachments, together in one ZIP."""
        from cdr.sanitizers.text import html_to_text

        body = mail.text if mail.text is not None else html_to_text(mail.html or "")[0]
        if ctx.policy.mail.defang_links:
            body = defang(body)
        body, body_actions = _neutralised(body)
        text_name = text_name_for(ctx.name)
        kept, removed, reasons, pending = self._rebuild_parts(mail, ctx, reserved=text_name)
        withheld = [line.split("\t")[:2] for line in removed]
        text = mail_text(mail, body, [p.name for p in kept], [(name, why) for name, why in withheld])
        write_zip(dst, [(text_name, b"\xef\xbb\xbf" + text.encode("utf-8")), *((p.name, p.data) for p in kept)])
        actions = [ActionTaken("mail-text", "converted"), ActionTaken("mail-attachments", "rebuilt", len(kept))]
        actions += [ActionTaken(f"member:{r}", "removed", n) for r, n in sorted(reasons.items())]
        return _result(FileType.ZIP, actions + body_actions, kept, removed, pending, ctx)


def _neutralised(text: str) -> tuple[str, list[ActionTaken]]:
    """The plain body without what a mail client would decode into a file or make a link to
    a share (``cdr.text_payloads``), whatever the policy: neither is text a clerk reads."""
    text, removed, defanged = neutralise_body(text)
    actions = [ActionTaken("encoded-file", "removed", removed)] if removed else []
    return text, actions + ([ActionTaken("share-links", "defanged", defanged)] if defanged else [])


def text_name_for(name: str) -> str:
    """``会議.eml`` → ``会議.txt``: the text's name in the ZIP, after the mail's."""
    stem = PurePosixPath(safe_component(name.replace("\\", "/").rsplit("/", 1)[-1] or "mail")).stem
    return f"{stem or 'mail'}.txt"


def _html_cleaner():  # type: ignore[no-untyped-def]
    """``cdr.htmlclean.clean_html`` when it is installed (it is written beside this module)."""
    try:
        from cdr.htmlclean import clean_html
    except ImportError:
        return None
    return clean_html


def _unique_name(name: str, out_type: FileType, used: set[str]) -> str:
    """The attachment's name made safe, named for its output type, unique in the mail."""
    type_row = row(out_type)
    path = with_extension(PurePosixPath(safe_component(name.replace("\\", "/").rsplit("/", 1)[-1])), type_row.extension, type_row.aliases)
    target = str(path)
    while target.lower() in used:
        target = f"{path.stem}_{len(used)}{path.suffix}"
    used.add(target.lower())
    return target


def _result(
    output_type: FileType, actions: list[ActionTaken], kept: list[Part], removed: list[str], pending: list[int], ctx: Context
) -> SanitizeResult:
    """The mail's result: the parent's conversions counted, the parts it must convert named."""
    if ctx.converted:
        actions.append(ActionTaken("mail-attachments", "converted", len(ctx.converted)))
    details = {"attachments": len(kept), "removed": len(removed), **to_convert(pending)}
    return SanitizeResult(output_type, tuple(actions), details)


def _report(lines: list[str]) -> str:
    return (
        "無害化できなかったため、次の添付ファイルなどを取り除きました（名前、理由、詳細）。\n"
        "These attachments could not be made safe and were removed (name, reason, detail).\n\n"
        + "\n".join(lines)
        + "\n"
    )

