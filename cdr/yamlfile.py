"""YAML as the policy and the configuration file read it: a node tree that keeps line numbers.

Both files are validated by walking nodes, so that every message can name the file, the
line and the key; a syntax error is named the same way, never shown as PyYAML's traceback.
"""

from __future__ import annotations

import yaml

from cdr.errors import ConfigError

# What a Japanese keyboard types where YAML wants ASCII: it looks right and means nothing.
_WIDE = {
    "\uff1a": "全角のコロン「：」は半角「:」に / a full-width colon: type ':'",
    "\u3000": "全角スペースは半角スペースに / a full-width space: indent with ASCII spaces",
    "\uff03": "全角の「＃」は半角「#」に / a full-width '#': comments start with '#'",
    "\uff0d": "全角の「－」は半角「-」に / a full-width '-': list items start with '-'",
}


def keyboard_hint(text: str, *lines: int) -> str:
    """A hint for the full-width characters on the given lines (1-based), or ""."""
    all_lines = text.splitlines()
    looked = "".join(all_lines[n - 1] for n in lines if 1 <= n <= len(all_lines))
    found = [hint for char, hint in _WIDE.items() if char in looked]
    return f" — {'; '.join(found)}" if found else ""


def compose(text: str, source: object) -> yaml.Node | None:
    """The document's root node (None when it is empty), or a ConfigError at its line."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        # PyYAML often notices a line late: the line before is looked at too
        hint = keyboard_hint(text, mark.line, mark.line + 1) if mark else ""
        raise ConfigError(f"{source}{line}: not valid YAML: {problem}{hint}") from None
