"""What staff read in the outbox when a file does not arrive, or arrives later.

A held file's notice says what happened, whether it is dangerous, and the one next step
that fits — chosen by the entry's reason code and, where the words differ, by what the
content really is (``cdr.types``). A file released later (unlock, re-run, or its original
handed over) gets a short notice saying when and as what it arrived.

Japanese first, complete and without English words inside its sentences (format names in
full-width letters, ＰＤＦ, as municipal documents write them), then a separator and the
English. The parser's own message never appears here: it is English, technical and partly
hostile-controlled; it stays in meta.json and the audit log. No command is shown either:
staff do not type commands. The full ID is on the last line — crash recovery finds a
published notice by it (``cdr.quarantine``).

This module only chooses and writes text; storing and publishing are ``cdr.quarantine``'s.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cdr.model import Category, FileType
from cdr.names import display, reception_number
from cdr.policy import QuarantineOptions
from cdr.types import EXTENSION_CLAIMS, PASSWORD_TYPES, row

SEPARATOR = "-" * 68
# What a notice in the outbox currently says, recorded in meta.json beside its path, so
# that a change of the entry's state (released, a wrong password) replaces it.
HELD, WRONG_PASSWORD, RELEASED, RELEASED_ORIGINAL = "held", "wrong-password", "released", "released-original"


def _japan() -> tzinfo:
    try:
        return ZoneInfo("Asia/Tokyo")
    except ZoneInfoNotFoundError:  # no tzdata on this host: Japan has had no summer time since 1951
        return timezone(timedelta(hours=9), "JST")


JST = _japan()


def when_ja(timestamp: float) -> str:
    """``2026年11月29日 10:31`` in Japan time, whatever the server's own time zone."""
    moment = datetime.fromtimestamp(timestamp, JST)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def when_en(timestamp: float) -> str:
    return f"{datetime.fromtimestamp(timestamp, JST):%Y-%m-%d %H:%M} JST"


# ---------------------------------------------------------------- contact
_JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")


def contact_halves(contact: str) -> tuple[str, str]:
    """The contact for the Japanese and for the English text.

    ``notice.contact`` may give its English after `` / ``: ``総務課（内線 2107） / General
    Affairs, ext. 2107``. The split is on the last `` / `` and only when what follows has no
    Japanese in it, so a Japanese contact that itself holds a slash stays whole; without an
    English half both texts name the contact as written. (One key rather than a second
    ``contact_en``: the contact travels as one string in meta.json and the owed-notice
    records, and every policy written so far stays valid and reads right.)
    """
    head, slash, tail = contact.rpartition(" / ")
    if slash and head.strip() and tail.strip() and not _JAPANESE.search(tail):
        return head.strip(), tail.strip()
    return contact.strip(), contact.strip()


# ---------------------------------------------------------------- types in words
# A type's name for staff: by type where it is better known by its own name, else by category.
TYPE_WORDS: dict[str, tuple[str, str]] = {
    "pdf": ("ＰＤＦ", "a PDF"),
    "svg": ("ＳＶＧ形式の図", "an SVG drawing"),
    "heic": ("写真（ＨＥＩＣ形式）", "a HEIC photo"),
    "rtf": ("リッチテキスト形式の文書", "an RTF document"),
    "msg": ("保存されたメール（アウトルック形式）", "a saved Outlook message"),
    "encrypted-office": ("パスワード付きのオフィス文書", "a password-protected Office document"),
    "zip": ("ＺＩＰ形式の圧縮ファイル", "a ZIP archive"),
    "7z": ("7z形式の圧縮ファイル", "a 7z archive"),
    "rar": ("ＲＡＲ形式の圧縮ファイル", "a RAR archive"),
    "gzip": ("ＧＺＩＰ形式の圧縮ファイル", "a gzip archive"),
    "tar": ("ＴＡＲ形式のまとめファイル", "a tar archive"),
    "lzh": ("ＬＺＨ形式の圧縮ファイル", "an LZH archive"),
    "cab": ("ＣＡＢ形式の圧縮ファイル", "a CAB archive"),
    "eml": ("保存されたメール", "a saved e-mail"),
    "csv": ("ＣＳＶ形式の表", "a CSV table"),
    "html": ("ホームページの形式（ＨＴＭＬ）", "an HTML page"),
    "executable": ("実行ファイル（プログラム）", "an executable program"),
    "script": ("スクリプト（プログラム）", "a script (a program)"),
    "shortcut": ("ショートカット（プログラムを起動するもの）", "a shortcut that starts a program"),
    "disk-image": ("ディスクイメージ", "a disk image"),
    "unknown": ("種類の分からないデータ", "data of no known type"),
    # matched as text: these types are newer than some entries that may name them
    "ichitaro": ("一太郎の文書", "an Ichitaro document"),
    "docuworks": ("ドキュワークスの文書", "a DocuWorks document"),
    "hanako": ("花子の文書", "a Hanako document"),
    # with macros: a policy that holds them says so, and staff should know what they ask for
    "docm": ("マクロ付きのワードの文書", "a Word document with macros"),
    "dotm": ("マクロ付きのワードのひな形", "a Word template with macros"),
    "xlsm": ("マクロ付きのエクセルの表", "an Excel workbook with macros"),
    "xltm": ("マクロ付きのエクセルのひな形", "an Excel template with macros"),
    "pptm": ("マクロ付きのパワーポイントの資料", "a PowerPoint presentation with macros"),
    "potm": ("マクロ付きのパワーポイントのひな形", "a PowerPoint template with macros"),
    "ppsm": ("マクロ付きのパワーポイントのスライドショー", "a PowerPoint slide show with macros"),
}
CATEGORY_WORDS: dict[Category, tuple[str, str]] = {
    Category.PDF: ("ＰＤＦ", "a PDF"),
    Category.IMAGE: ("画像", "a picture"),
    Category.WORD: ("ワードの文書", "a Word document"),
    Category.EXCEL: ("エクセルの表", "an Excel workbook"),
    Category.POWERPOINT: ("パワーポイントの資料", "a PowerPoint presentation"),
    Category.MAIL: ("保存されたメール", "a saved e-mail"),
    Category.OPENDOCUMENT: ("オープンドキュメント形式の文書", "an OpenDocument file"),
    Category.DOCUMENT: ("文書", "a document"),
    Category.TEXT: ("テキスト", "text"),
    Category.ARCHIVE: ("圧縮ファイル", "an archive"),
    Category.EXECUTABLE: ("実行ファイル（プログラム）", "an executable program"),
    Category.SCRIPT: ("スクリプト（プログラム）", "a script (a program)"),
    Category.OTHER: ("種類の分からないデータ", "data of no known type"),
}
UNNAMED_TYPE = ("この形式のファイル", "a file of this kind")

# What runs when opened. A disk image is not a program itself, but a mailed .iso or .img
# is the usual wrapping for one (Windows opens it with a double-click): worded as strongly.
PROGRAM_CATEGORIES = (Category.EXECUTABLE, Category.SCRIPT)
PROGRAM_LIKE = frozenset({"disk-image"})
# Types that no converter here can rebuild, whatever the reason code says.
NO_CONVERTER = frozenset({"ichitaro", "docuworks", "hanako"})


def category(kind: str | None) -> Category | None:
    try:
        return row(FileType(kind)).category if kind else None
    except ValueError:  # a type string this version does not know
        return None


def type_words(kind: str | None) -> tuple[str, str]:
    """The type in words, Japanese and English: 「実行ファイル（プログラム）」, "an executable program"."""
    if kind in TYPE_WORDS:
        return TYPE_WORDS[kind]
    found = category(kind)
    return CATEGORY_WORDS[found] if found else UNNAMED_TYPE


def runs_when_opened(kind: str | None) -> bool:
    return category(kind) in PROGRAM_CATEGORIES or kind in PROGRAM_LIKE


# ---------------------------------------------------------------- the kinds of notice
@dataclass(frozen=True)
class Kind:
    """One kind of held-file notice: its title, the words on danger and the one next step.
    ``{name}``, ``{type}``, ``{claimed}``, ``{detail}`` and ``{contact}`` are filled in."""

    title: tuple[str, str]
    what: tuple[str, str]
    danger: tuple[str, str]
    step: tuple[str, str]


NOT_DANGEROUS = ("危険なファイルと判断したわけではありません。", "This does not mean that the file is dangerous.")
ASK_PDF = ("送信元に、ＰＤＦにして送り直してもらってください。", "Ask the sender to send it again as a PDF.")
NOT_DELIVERABLE = ("この形式のファイルは届けられないため、お預かりしています", "Held: this kind of file is not delivered")

KINDS: dict[str, Kind] = {
    "password": Kind(
        ("パスワードが届くまでお預かりしています", "Held until its password arrives"),
        (
            "ファイル「{name}」はパスワードで保護されているため、中身を確認できるまでお預かりしています。",
            'The file "{name}" is protected by a password, so it is held until its content can be checked.',
        ),
        NOT_DANGEROUS,
        (
            "パスワードが書かれたメールを、受付番号を添えて{contact}に転送してください。"
            "パスワードで開いて安全を確認できれば、このフォルダーに届けます。",
            "Forward the e-mail with the password to {contact}, quoting the reception number. "
            "Once it opens and is found safe, it will be delivered to this folder.",
        ),
    ),
    "locked": Kind(
        ("パスワード付きで開けないため、お預かりしています", "Held: protected by a password this appliance cannot open"),
        (
            "ファイル「{name}」は{type}で、パスワードで保護されています。"
            "この形式のパスワードを解く方法がこの装置にはないため、パスワードが届いても中身を確認できません。",
            'The file "{name}" is {type} protected by a password. This appliance has no way to open '
            "this kind with a password, so it cannot be checked even when the password arrives.",
        ),
        NOT_DANGEROUS,
        (
            "送信元に、パスワードなしで、またはパスワード付きのＺＩＰにして送り直してもらってください。",
            "Ask the sender to send it again without a password, or as a password-protected ZIP.",
        ),
    ),
    "wrong-password": Kind(
        ("パスワードが違っていたため、引き続きお預かりしています", "Still held: the password did not open it"),
        (
            "ファイル「{name}」は、お知らせいただいたパスワードでは開けませんでした。",
            'The password that was sent did not open the file "{name}".',
        ),
        NOT_DANGEROUS,
        (
            "送信元に正しいパスワードを確かめ、そのパスワードが書かれたメールを、受付番号を添えて{contact}に転送してください。",
            "Ask the sender for the right password and forward the e-mail with it to {contact}, "
            "quoting the reception number.",
        ),
    ),
    "program": Kind(
        ("危険なおそれがあるため、ファイルを止めました", "Stopped: this file may be dangerous"),
        ("ファイル「{name}」の中身は{type}でした。", 'The file "{name}" is {type}.'),
        (
            "開くとウイルスに感染するおそれがあるため、届けていません。"
            "同じファイルを別の方法で受け取っていても、開かないでください。",
            "Opening it could infect the computer, so it was not delivered. "
            "Do not open it, even if you received it some other way.",
        ),
        (
            "送信元に、メールへの返信ではなく電話で、本当に送ったものか確認してください。",
            "Confirm with the sender by telephone, not by replying to the e-mail, that they really sent it.",
        ),
    ),
    "mismatch": Kind(
        ("名前と中身が一致しないため、お預かりしています", "Held: its name and content do not match"),
        (
            "ファイル「{name}」は、名前は{claimed}のようですが、中身は{type}でした。",
            'The file "{name}" is named like {claimed}, but it is {type}.',
        ),
        (
            "危険と決まったわけではありませんが、名前と中身が違うファイルは攻撃に使われることがあるため、"
            "安全のため届けずにお預かりしています。",
            "It is not known to be dangerous, but files whose name and content differ are used in attacks, "
            "so it was held to be safe.",
        ),
        (
            "送信元に、正しい名前で、またはＰＤＦにして送り直してもらってください。",
            "Ask the sender to send it again with the right name, or as a PDF.",
        ),
    ),
    "not-accepted": Kind(
        NOT_DELIVERABLE,
        (
            "ファイル「{name}」は{type}です。この装置では、この形式のファイルは届けない設定になっています。",
            'The file "{name}" is {type}. This appliance is set not to deliver this kind of file.',
        ),
        NOT_DANGEROUS,
        ASK_PDF,
    ),
    "no-converter": Kind(
        NOT_DELIVERABLE,
        (
            "ファイル「{name}」は{type}です。この装置には、{type}を安全な形に作り直す方法がありません。",
            'The file "{name}" is {type}. This appliance has no way to rebuild this kind of file safely.',
        ),
        NOT_DANGEROUS,
        ASK_PDF,
    ),
    "archive-not-accepted": Kind(
        NOT_DELIVERABLE,
        (
            "ファイル「{name}」は{type}です。この装置では、この形式の圧縮ファイルは届けない設定になっています。",
            'The file "{name}" is {type}. This appliance is set not to deliver archives of this kind.',
        ),
        NOT_DANGEROUS,
        (
            "送信元に、ＺＩＰ形式で圧縮し直して送ってもらってください。",
            "Ask the sender to send it again as a ZIP file.",
        ),
    ),
    "unchecked": Kind(
        ("安全を確認できなかったため、お預かりしています", "Held: it could not be checked safely"),
        (
            "ファイル「{name}」は、{detail}ため、安全かどうかを確認できませんでした。",
            'The file "{name}" could not be checked safely: {detail}.',
        ),
        (
            "それだけで危険なファイルとは限りませんが、確認できないファイルは届けないことになっています。",
            "That alone does not make it dangerous, but files that cannot be checked are not delivered.",
        ),
        (
            "送信元に、別の形式（ＰＤＦなど）で送り直してもらってください。",
            "Ask the sender to send it again in another format, such as PDF.",
        ),
    ),
    "not-a-file": Kind(
        ("ファイルそのものではなかったため、受け付けていません", "Not accepted: it was not a file itself"),
        (
            "「{name}」はファイルそのものではなく、リンクなどの特別な項目でした。",
            '"{name}" was not a file itself but a link or another special entry.',
        ),
        ("危険と判断したわけではありません。", "This does not mean that it is dangerous."),
        (
            "リンクではなく、ファイルそのものを置き直してください。",
            "Put the file itself in the folder again, not a link to it.",
        ),
    ),
    "appliance": Kind(
        ("装置の不具合のため、お預かりしています", "Held: a fault of this appliance"),
        (
            "ファイル「{name}」は、この装置の側の問題で処理できませんでした。",
            'The file "{name}" could not be processed because of a problem on this appliance\'s side.',
        ),
        NOT_DANGEROUS,
        (
            "管理者が原因を取り除いた後に処理し直し、このフォルダーに届けます。"
            "お急ぎの場合は、受付番号を添えて{contact}にご連絡ください。",
            "The administrator will remove the cause and process it again; it will then be delivered "
            "to this folder. If it is urgent, contact {contact}, quoting the reception number.",
        ),
    ),
}

# Why a file could not be checked, for the "unchecked" kind: fixed words, never the parser's.
UNCHECKED_DETAIL: dict[str, tuple[str, str]] = {
    "malformed": ("ファイルが壊れているか、形式が正しくない", "it is damaged or not in a valid format"),
    "limit-exceeded": (
        "大きさ（ページ数や画素数など）が上限を超えていた",
        "it is larger than allowed (size, pages or pixels)",
    ),
    "memory-limit": ("確認に必要なメモリが上限を超えた", "checking it needed more memory than allowed"),
    "timeout": ("確認に時間がかかりすぎた", "checking it took too long"),
    "cpu-limit": ("確認に時間がかかりすぎた", "checking it took too long"),
    "output-too-large": ("作り直したファイルが大きくなりすぎた", "the rebuilt file became too large"),
    "verification-failed": ("作り直した後の検査に合格しなかった", "the rebuilt file did not pass the final check"),
    "sandbox-crash": ("確認の途中で処理が止まってしまった", "the check stopped unexpectedly"),
    "bad-answer": ("確認の処理から思いがけない答えが返ってきた", "the check gave an unexpected answer"),
    "sanitize-failed": ("安全な形に作り直せなかった", "it could not be rebuilt in a safe form"),
}
UNCHECKED_OTHERWISE = ("確認の途中で問題が起きた", "a problem occurred while checking it")

# Where one reason of a kind needs its own first sentence.
WHAT_FOR_REASON: dict[tuple[str, str], tuple[str, str]] = {
    # a program under another type's name: the disguise is said first
    ("program", "extension-mismatch"): KINDS["mismatch"].what,
    ("no-converter", "converter-unavailable"): (
        "ファイル「{name}」は{type}です。{type}を変換するソフトが、いまこの装置で使えません。",
        'The file "{name}" is {type}. The software that converts this kind of file is not available now.',
    ),
}

# Where one type of a kind needs its own next step: a PDF that could not be checked is not
# asked to come back "in another format, such as PDF"
STEP_FOR_TYPE: dict[tuple[str, str], tuple[str, str]] = {
    ("unchecked", "pdf"): (
        "送信元に、ＰＤＦを作り直して（保存し直して）送り直すか、別の形式で送ってもらってください。",
        "Ask the sender to make the PDF again (save or export it anew) and send it again, or to send it in another format.",
    ),
}

_NOT_ACCEPTED = ("blocked-type", "unsupported-type", "converter-unavailable")


def _unlockable(file_type: str | None) -> bool:
    try:
        return file_type is None or FileType(file_type) in PASSWORD_TYPES
    except ValueError:  # a type this version does not know: the held notice, as before
        return True


def kind_of(reason: str, file_type: str | None) -> str:
    """The kind of notice for a reason code and the real type (``meta['type']``)."""
    if file_type in NO_CONVERTER:
        return "no-converter"
    if reason == "encrypted":
        # a password helps only where something here can open the type with it (RAR: no
        # free library decrypts it); otherwise the sender has to send it another way
        return "password" if _unlockable(file_type) else "locked"
    if reason == "wrong-password":
        return "wrong-password"
    if reason in ("blocked-type", "extension-mismatch") and runs_when_opened(file_type):
        return "program"
    if reason == "extension-mismatch":
        return "mismatch"
    if reason in _NOT_ACCEPTED:
        if category(file_type) == Category.ARCHIVE:
            return "archive-not-accepted"
        return "not-accepted" if reason == "blocked-type" else "no-converter"
    if reason == "not-a-regular-file":
        return "not-a-file"
    if reason in ("internal-error", "operational-error"):
        return "appliance"
    return "unchecked"


def _claimed(name: str) -> tuple[str, str]:
    """What a name's extension promises, in words: 「ＰＤＦ」 for ``invoice.pdf``."""
    suffix = PurePosixPath(name).suffix.lower()
    claimed = EXTENSION_CLAIMS.get(suffix)
    if claimed is None:
        return f"「{suffix}」の形式", f'a "{suffix}" file'
    return type_words(claimed.value)


def _kept(seconds: float) -> tuple[str, str]:
    """How long an original is kept, in whole days (or hours, under a day)."""
    days = seconds / 86400
    if days >= 1 and days == int(days):
        return f"{int(days)}日間", f"{int(days)} day{'s' if days != 1 else ''}"
    hours = max(1, math.ceil(seconds / 3600))
    return f"{hours}時間", f"{hours} hour{'s' if hours != 1 else ''}"


# ---------------------------------------------------------------- the texts
def state(meta: dict[str, Any]) -> str:
    """What the entry's notice should say now (recorded as ``notice_state`` once it does)."""
    status = meta.get("status")
    if status in (RELEASED, RELEASED_ORIGINAL):
        return str(status)
    return WRONG_PASSWORD if meta.get("notice_reason") == WRONG_PASSWORD else HELD


def notice_text(
    qid: str, meta: dict[str, Any], contact: str, kept: bool, steps: dict[str, tuple[str, str]] | None = None
) -> str:
    """The notice an entry should show in the outbox now; ``kept``: its original is stored.
    ``steps`` replaces the next step of a kind (by ``kind_of``'s name) where the reader is
    somewhere else than the outbox: the web console, where the password form is on the page."""
    if state(meta) in (RELEASED, RELEASED_ORIGINAL):
        return released_text(qid, meta)
    return held_text(qid, meta, contact, kept, steps)


def held_text(
    qid: str, meta: dict[str, Any], contact: str, kept: bool, steps: dict[str, tuple[str, str]] | None = None
) -> str:
    name = display(PurePosixPath(meta.get("relative") or "file").name)
    file_type = meta.get("type")
    reason = WRONG_PASSWORD if state(meta) == WRONG_PASSWORD else str(meta.get("reason") or "")
    kind_name = kind_of(reason, file_type)
    kind = KINDS[kind_name]
    what = WHAT_FOR_REASON.get((kind_name, reason), kind.what)
    contacts = contact_halves(contact or meta.get("contact") or "")
    words, claimed = type_words(file_type), _claimed(name)
    detail = UNCHECKED_DETAIL.get(reason, UNCHECKED_OTHERWISE)
    step = (steps or {}).get(kind_name) or STEP_FOR_TYPE.get((kind_name, str(file_type)), kind.step)
    ja, en = (
        [
            part[lang].format(
                name=name, type=words[lang], claimed=claimed[lang], contact=contacts[lang], detail=detail[lang]
            )
            for part in (what, kind.danger, step)
        ]
        for lang in (0, 1)
    )
    when = float(meta.get("quarantined_at") or time.time())
    number = reception_number(qid)  # near the top: what staff quote on the phone
    kept_ja, kept_en = _kept(float(meta.get("retention") or QuarantineOptions().retention))
    lines = [f"【{kind.title[0]}】", "", f"受付番号: {number}", "", *ja, "", f"ファイル名: {name}"]
    lines += [f"受付日時: {when_ja(when)}", f"問い合わせ先: {contacts[0]}"]
    lines += [f"原本は{kept_ja}保管した後、削除されます。"] if kept else []
    lines += ["", SEPARATOR, f"[{kind.title[1]}]", "", f"Reception number: {number}", "", *en, ""]
    lines += [f"File: {name}", f"Received: {when_en(when)}", f"Contact: {contacts[1]}"]
    lines += [f"The original is kept for {kept_en} and then deleted."] if kept else []
    return _with_id(lines, qid)


def released_text(qid: str, meta: dict[str, Any]) -> str:
    """The short notice that replaces a held file's notice once the file was delivered."""
    number = reception_number(qid)
    output = display(PurePosixPath(str(meta.get("released_as") or "")).name)
    when = float(meta.get("released_at") or time.time())
    if state(meta) == RELEASED_ORIGINAL:
        decided_ja, decided_en = _who_decided(meta)
        lines = [
            "【お預かりしていたファイルを原本のまま届けました】",
            "",
            f"受付番号 {number} のファイルは、{when_ja(when)}に原本のまま『{output}』として届けました。",
            f"無害化はしていません。{decided_ja}",
            "",
            SEPARATOR,
            "[Delivered as the original, not made safe]",
            "",
            f'The file with reception number {number} was delivered unchanged on {when_en(when)} as "{output}".',
            f"It was not made safe: {decided_en}",
        ]
        return _with_id(lines, qid)
    unlocked = meta.get("release_mode") == "unlock"
    how_ja = "パスワードで開いて安全を確認し、作り直したものです。" if unlocked else "安全な形に作り直したものです。"
    how_en = "It was opened with the password, checked and rebuilt." if unlocked else "It was rebuilt in a safe form."
    lines = [
        "【お預かりしていたファイルを届けました】",
        "",
        f"受付番号 {number} のファイルは、{when_ja(when)}に『{output}』として届けました。",
        how_ja,
        "",
        SEPARATOR,
        "[Delivered: the file that was held]",
        "",
        f'The file with reception number {number} was delivered on {when_en(when)} as "{output}".',
        how_en,
    ]
    return _with_id(lines, qid)


def _who_decided(meta: dict[str, Any]) -> tuple[str, str]:
    """Who decided that an original is handed over: the requester and the approver of a
    console request (two people), or the administrator at the command line."""
    requester, approver = (display(str(meta.get(key) or "")) for key in ("requested_by", "approved_by"))
    if requester and approver:
        return (
            f"{requester} さんの申請を承認者 {approver} さんが承認して届けたものです。",
            f"it was handed over because the approver {approver} approved the request of {requester}.",
        )
    who = display(str(meta.get("released_by") or ""))
    return (
        f"管理者（{who}）の判断で届けたものです。",
        f"it was handed over on the decision of the administrator ({who}).",
    )


def _with_id(lines: list[str], qid: str) -> str:
    # The last line: how a notice published before a crash is recognised (cdr.quarantine).
    return "\n".join([*lines, "", f"管理用 ID / ID for the administrator: {qid}", ""])


def encoded(text: str) -> bytes:
    """UTF-8 with BOM and CRLF: Notepad on an older LGWAN PC shows it correctly."""
    return b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
