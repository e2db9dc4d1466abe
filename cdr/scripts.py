"""Recognise script content inside what libmagic calls text.

A script does not have to start with a shebang or ``@echo off``: Windows runs a ``.bat``,
``.ps1``, ``.vbs``, ``.js`` or ``.hta`` by its name, so text that a person only has to
rename is a script by content. This module judges the first lines by their *statements*
— things a language's interpreter acts on (downloading, spawning, decoding, COM objects)
and the shapes of its statements — rather than by a single first-line marker.

One strong statement is enough; weaker shapes (a ``Dim``, a batch label, a ``$var =``)
must appear on at least two lines of the same language, so that prose or a CSV that
merely mentions one keyword stays text.
"""

from __future__ import annotations

import re

SCAN_LINES = 200  # the first lines, however long; an interpreter reads a script from the top
MAX_SCAN_CHARS = 8 << 20
_F = re.I | re.M

# Statements that only a script carries, one is enough.
_STRONG: dict[str, re.Pattern[str]] = {
    "shell": re.compile(r"\A\s*#!|/dev/tcp/|^\s*(?:curl|wget)\b[^\n]*\|\s*(?:ba|z|da)?sh\b", _F),
    "batch": re.compile(
        r"^\s*@?echo\s+off\b|%comspec%|%~dp0|^\s*(?:cmd(?:\.exe)?\s+/[ck]|start\s+\"?\S*\"?\s+/b)\b|"
        r"\b(?:certutil(?:\.exe)?\s+-(?:urlcache|decode)|bitsadmin(?:\.exe)?\s+/transfer|"
        r"mshta(?:\.exe)?\s|rundll32(?:\.exe)?\s+\S+,|regsvr32(?:\.exe)?\s+/s|schtasks(?:\.exe)?\s+/create|"
        r"reg(?:\.exe)?\s+add\s+hk)",
        _F,
    ),
    "powershell": re.compile(
        r"\b(?:invoke-expression|iex\s*[\(\$]|invoke-webrequest|invoke-restmethod|start-process|"
        r"new-object\s+(?:-typename\s+)?(?:system\.)?net\.webclient|downloadstring\s*\(|downloadfile\s*\(|"
        r"frombase64string\s*\(|set-executionpolicy|add-type\s+-|-encodedcommand\b|"
        r"powershell(?:\.exe)?\s+(?:-\w+\s+)*-(?:e|ec|enc|nop|noprofile|w|windowstyle|exec|executionpolicy)\b)",
        _F,
    ),
    "vbscript": re.compile(
        r"\b(?:createobject\s*\(|getobject\s*\(|wscript\.(?:shell|createobject|run|echo)|"
        r"shell\.application|executeglobal\b|on\s+error\s+resume\s+next)",
        _F,
    ),
    "jscript": re.compile(r"\bnew\s+activexobject\s*\(|\bwscript\.\w+\s*\(", _F),
    "hta": re.compile(r"<\s*(?:hta:application|job[\s>]|package[\s>])|<\?php", _F),
}
# Shapes of statements; two different lines of one language are needed.
_WEAK: dict[str, re.Pattern[str]] = {
    "batch": re.compile(
        r"^\s*(?:@?rem\s|set\s+(?:/[ap]\s+)?\w+=|goto\s+:?\w+|call\s+:?\S+|:[a-z_]\w*\s*$|"
        r"if\s+(?:not\s+)?(?:exist|errorlevel|defined)\s|for\s+/[fdlr]\s|%\w+%\s*$|exit\s+/b)",
        _F,
    ),
    "powershell": re.compile(
        r"^\s*(?:\$\w+\s*=|param\s*\(|function\s+[\w-]+\s*(?:\(|\{)|"
        r"(?:get|set|new|remove|invoke|start|stop|add|import|write|out)-[a-z]\w+\b)",
        _F,
    ),
    "vbscript": re.compile(
        r"^\s*(?:dim\s+\w+|set\s+\w+\s*=\s*\w|(?:sub|function)\s+\w+\s*\(|end\s+(?:sub|function|if)\b|"
        r"option\s+explicit\b)",
        _F,
    ),
    "jscript": re.compile(r"^\s*(?:var\s+\w+\s*=|function\s+\w*\s*\([^)]*\)\s*\{|eval\s*\()", _F),
    "shell": re.compile(
        r"^\s*(?:export\s+\w+=|if\s+\[\[?\s|fi\s*$|then\s*$|done\s*$|chmod\s+[+0-7]|rm\s+-[rf]+\s|"
        r"(?:ba)?sh\s+-c\s)",
        _F,
    ),
}


def _decode(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", "replace")
    for encoding in ("utf-8", "cp932"):
        try:
            return head.decode(encoding)
        except UnicodeDecodeError:
            continue
    return head.decode("latin-1")


def _first_lines(text: str) -> str:
    end = 0
    for _ in range(SCAN_LINES):
        end = text.find("\n", end) + 1
        if end == 0:
            end = len(text)
            break
    # one line may be long, but not unbounded: a regex over 100 MB of one line is a DoS
    return text[: min(end, MAX_SCAN_CHARS)].replace("\r\n", "\n").replace("\r", "\n")


def script_language(head: bytes) -> str | None:
    """The scripting language whose statements ``head`` holds, or None for plain text."""
    return script_language_of_text(_decode(head))


def script_language_of_text(text: str) -> str | None:
    """As ``script_language``, for text already decoded (the text sanitizer sees all of it,
    so a first line longer than the detector's window does not hide what follows)."""
    text = _first_lines(text)
    for language, pattern in _STRONG.items():
        if pattern.search(text):
            return language
    for language, pattern in _WEAK.items():
        lines = {match.group(0).strip().lower() for match in pattern.finditer(text)}
        if len(lines) >= 2:
            return language
    return None
