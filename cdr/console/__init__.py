"""The web console: another face of the same quarantine store, audit log and pipeline.

What the console adds and nothing else keeps — accounts, sessions, requests for an
original, rate limits — lives in one SQLite file behind ``cdr.console.db``; what people
may do with an entry (ask for its original, decide a request, unlock it) is
``cdr.console.workflow``, which calls ``cdr.admin.Admin`` exactly as the CLI does.

A refusal a page shows carries its Japanese and English text together: the person reads
the one of their language (per account), the audit log and tests can read either.
"""

from __future__ import annotations

from cdr.errors import CdrError


class Refused(CdrError):
    """An action the console will not do, for this person or in this state; said in both
    languages, Japanese first. Never carries a password or anything typed into one."""

    def __init__(self, ja: str, en: str) -> None:
        super().__init__(f"{ja}\n{en}")
        self.ja = ja
        self.en = en

    def text(self, lang: str) -> str:
        """The message in the person's language (``ja`` or ``en``)."""
        return self.en if lang == "en" else self.ja
