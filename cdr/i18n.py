"""The administrator's language: Japanese under a Japanese locale, English otherwise.

Messages are written in English in the code and looked up in the gettext catalogue
``cdr`` (``cdr/locale/ja/LC_MESSAGES/cdr.mo``, compiled from ``cdr.po`` beside it). The
language is chosen from LANGUAGE, LC_ALL, LC_MESSAGES and LANG as gettext does; Python's
gettext only reads those variables, so ``LANG=ja_JP.UTF-8`` works on a server where the
ja_JP locale was never generated.

Like a C program that calls ``setlocale`` first, nothing is translated until the program
says so (``speak_the_environment_language``): the admin CLI does; the library, the tests
that import it and the journal keep English — a command whose stderr systemd connected to
the journal (a service, a timer) speaks English whatever the server's locale. Audit
records, JSON output and staff notices are never translated here (notices are always in
both languages).

A table built when a module is imported marks its texts with ``N_`` and translates them
where they are shown, so the choice made later still applies to them.
"""

from __future__ import annotations

import gettext
import io
import os
import sys
from pathlib import Path

DOMAIN = "cdr"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_chosen: gettext.NullTranslations = gettext.NullTranslations()


def speak_the_environment_language() -> None:
    """Translate from now on into the language the environment names (English if none)."""
    global _chosen
    escape_what_the_terminal_cannot_show()
    if writes_to_the_journal() or not shows_japanese():
        speak_english()
        return
    _chosen = gettext.translation(DOMAIN, LOCALE_DIR, fallback=True)
    # argparse takes its own words ("usage:", "error:") from the global domain: ours holds them
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)


def writes_to_the_journal() -> bool:
    """Whether stderr is the journal stream systemd names in JOURNAL_STREAM ("device:inode");
    compared with stderr itself, since a child started from a service inherits the variable."""
    try:
        device, inode = (int(n) for n in os.environ.get("JOURNAL_STREAM", "").split(":"))
        stat = os.fstat(2)
    except (ValueError, OSError):
        return False
    return (stat.st_dev, stat.st_ino) == (device, inode)


def escape_what_the_terminal_cannot_show() -> None:
    """A character stdout's encoding lacks (a dash, a name under PYTHONIOENCODING=ascii or
    an EUC-JP terminal) is written as ``\\u2013``, as Python's stderr does: a traceback
    in the middle of a listing would hide the lines that follow it."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def shows_japanese() -> bool:
    """Whether stdout can carry Japanese at all; if not, English reads better than escapes."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        "監査ログ".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def speak_english() -> None:
    """Back to the English of the code (a daemon writing to the journal)."""
    global _chosen
    _chosen = gettext.NullTranslations()
    gettext.textdomain("messages")


def speaks_japanese() -> bool:
    """Whether messages are being translated (a text kept in both languages picks by it)."""
    return type(_chosen) is not gettext.NullTranslations


def _(message: str) -> str:
    return _chosen.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _chosen.ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Marks a text for the catalogue where it is defined; ``_`` translates it where shown."""
    return message
