"""YAML as the policy and the configuration file read it: a node tree that keeps line numbers.

Both files are validated by walking nodes, so that every message can name the file, the
line and the key; a syntax error is named the same way, never shown as PyYAML's traceback.
"""

from __future__ import annotations

import difflib
import re

import yaml

from cdr.errors import ConfigError
from cdr.i18n import N_, _

# What a Japanese keyboard types where YAML wants ASCII: it looks right and means nothing.
_WIDE = {
    "\uff1a": N_("a full-width colon '：': type ':'"),
    "\u3000": N_("a full-width space: indent with ASCII spaces"),
    "\uff03": N_("a full-width '＃': comments start with '#'"),
    "\uff0d": N_("a full-width '－': list items start with '-'"),
}
# ``contact: 総務課: 内線 123``: an unquoted value holding ": " reads as a second key.
_COLON_IN_VALUE = re.compile(r"""^\s*(?:-\s+)?[^\s#'"-][^:#]*:\s+(?P<value>[^\s'"\[{|>#].*)$""")
# PyYAML's words for the mistakes people make most: kept in English, translated otherwise.
_YAML_PROBLEMS = frozenset(
    (
        N_("mapping values are not allowed here"),
        N_("found character '\\t' that cannot start any token"),
        N_("expected <block end>, but found '<block mapping start>'"),
        N_("found unexpected end of stream"),
    )
)
_QUOTE_IT = N_("the value contains ': ': put the whole value in quotes, such as contact: \"総務課: 内線 123\"")


def likely_meant(typed: object, allowed: tuple[str, ...] | list[str]) -> str | None:
    """The allowed word a typo most likely meant (jpg → jpeg, rebild → rebuild, workres →
    workers), if one is close enough to say "did you mean"."""
    close = difflib.get_close_matches(str(typed).strip().lower(), list(allowed), n=1, cutoff=0.75)
    return close[0] if close else None


def keyboard_hint(text: str, *lines: int) -> str:
    """A hint for what a Japanese keyboard typed on the given lines (1-based), or ""."""
    all_lines = text.splitlines()
    looked = [all_lines[n - 1] for n in lines if 1 <= n <= len(all_lines)]
    found = [_(hint) for char, hint in _WIDE.items() if any(char in line for line in looked)]
    if any(_holds_a_colon(line) for line in looked):
        found.append(_(_QUOTE_IT))
    return f" — {'; '.join(found)}" if found else ""


def _holds_a_colon(line: str) -> bool:
    match = _COLON_IN_VALUE.match(line)
    value = match.group("value").split(" #")[0].rstrip() if match else ""
    return ": " in value or value.endswith(":")


def compose(text: str, source: object) -> yaml.Node | None:
    """The document's root node (None when it is empty), or a ConfigError at its line."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        problem = _(problem) if problem in _YAML_PROBLEMS else problem
        # PyYAML often notices a line late: the line before is looked at too
        hint = keyboard_hint(text, mark.line, mark.line + 1) if mark else ""
        raise ConfigError(
            _("{where}: not valid YAML: {problem}").format(where=f"{source}{line}", problem=problem) + hint
        ) from None
