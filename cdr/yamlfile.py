"""YAML as the policy and the configuration file read it: a node tree that keeps line numbers.

Both files are validated by walking nodes, so that every message can name the file, the
line and the key; a syntax error is named the same way, never shown as PyYAML's traceback.
"""

from __future__ import annotations

import yaml

from cdr.errors import ConfigError


def compose(text: str, source: object) -> yaml.Node | None:
    """The document's root node (None when it is empty), or a ConfigError at its line."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}{line}: not valid YAML: {problem}") from None
