"""Where things live. Flags override ``CDR_*`` environment variables, which override the
config file (``CDR_CONFIG`` or ``/etc/cdr/cdr.yaml``), which overrides the defaults.

Run from a checkout, the defaults are folders inside it (``var/…``, ``quarantine/``) so
``make run`` needs no set-up; an installed copy uses ``/srv/cdr``, ``/var/lib/cdr`` and
``/var/log/cdr`` (see systemd/).

The config file is validated like the policy: an unknown key or a value of the wrong kind
is an error naming the file, the line, the key and what is allowed. A policy path given
anywhere (flag, environment, config file) must exist — cdr never falls back to the
built-in policy because of a typo; only when no policy was configured at all, and the
default location holds none, does the built-in one apply (its name says so). Relative
paths given on the command line or in the environment mean the current folder (they are
kept as given, so result lines show them so); those in the config file mean the config
file's folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cdr import mailer, units, yamlfile
from cdr.errors import ConfigError

CHECKOUT = Path(__file__).resolve().parent.parent
IN_CHECKOUT = (CHECKOUT / "pyproject.toml").exists() and (CHECKOUT / "cli.py").exists()
SYSTEM_CONFIG = Path("/etc/cdr/cdr.yaml")
PATH_KEYS = ("inbox", "outbox", "spool", "quarantine", "audit", "policy")
MAX_WORKERS = 64
MAX_DELAY = 3600.0


def _whole(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)  # from the environment every value is text
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValueError(f"{value!r} is not allowed (allowed: a whole number from {low} to {high})")
        return value

    return parse


def _delay(value: Any) -> float:
    seconds = units.duration(value)
    if seconds > MAX_DELAY:  # a retry an hour away is a stuck queue, not a retry
        raise ValueError(f"{value!r} is not allowed (allowed: a duration of at most {MAX_DELAY:g}s)")
    return seconds


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not allowed (allowed: a path)")
    return value


PARSERS: dict[str, Callable[[Any], Any]] = {
    **{key: _path for key in PATH_KEYS},
    "workers": _whole(1, MAX_WORKERS),
    "retry_attempts": _whole(1, 100),
    "retry_delay": _delay,
    **mailer.PARSERS,  # mail_relay, mail_to … (off unless mail_relay is set)
}
KEYS = tuple(PARSERS)


def _defaults() -> dict[str, Any]:
    common = {"workers": min(os.cpu_count() or 1, MAX_WORKERS), "retry_attempts": 5, "retry_delay": 2.0}
    common |= mailer.DEFAULTS
    if IN_CHECKOUT:
        var = CHECKOUT / "var"
        return {
            "inbox": var / "inbox",
            "outbox": var / "outbox",
            "spool": var / "spool",
            "quarantine": CHECKOUT / "quarantine",
            "audit": var / "log" / "audit.jsonl",
            "policy": CHECKOUT / "policies" / "default.yaml",
            **common,
        }
    return {
        "inbox": Path("/srv/cdr/inbox"),
        "outbox": Path("/srv/cdr/outbox"),
        "spool": Path("/srv/cdr/spool"),  # beside the inbox: one file system, for the claim's rename
        "quarantine": Path("/var/lib/cdr/quarantine"),
        "audit": Path("/var/log/cdr/audit.jsonl"),
        "policy": Path("/etc/cdr/policy.yaml"),
        **common,
    }


@dataclass(frozen=True)
class Settings:
    inbox: Path
    outbox: Path
    spool: Path
    quarantine: Path
    audit: Path
    policy: Path | None
    workers: int
    retry_attempts: int = 5
    retry_delay: float = 2.0
    mail_relay: str = ""  # host[:port] of the SMTP relay; empty: no mail (cdr/mailer.py)
    mail_from: str = ""
    mail_to: tuple[str, ...] = ()
    mail_starttls: bool = False
    mail_user: str = ""
    mail_password_file: str = ""
    mail_batch: float = 300.0  # seconds of quarantines collected into one alert


@dataclass(frozen=True)
class _Value:
    value: Any
    where: str  # for messages: "--policy", "CDR_POLICY", "/etc/cdr/cdr.yaml:7", "default"
    base: Path | None  # what a relative path in a config file is relative to


def _from_file() -> dict[str, _Value]:
    named = os.environ.get("CDR_CONFIG")
    path = Path(named or SYSTEM_CONFIG)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:  # a file named on purpose that is not there is a typo, not "no configuration"
            raise ConfigError(
                f"CDR_CONFIG: {path} does not exist (unset it, or name /dev/null for no configuration file)"
            ) from None
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc}") from None
    root = yamlfile.compose(text, path)
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}:{root.start_mark.line + 1}: expected a mapping of {', '.join(KEYS)}")
    found: dict[str, _Value] = {}
    for key_node, value_node in root.value:
        where = f"{path}:{key_node.start_mark.line + 1}"
        key = str(key_node.value)
        if key not in PARSERS:
            hint = yamlfile.keyboard_hint(text, key_node.start_mark.line + 1)
            raise ConfigError(f"{where}: {key}: unknown key (allowed: {', '.join(KEYS)}){hint}")
        if key in found:
            raise ConfigError(f"{where}: {key}: given twice")
        if not isinstance(value_node, yaml.ScalarNode):
            raise ConfigError(f"{where}: {key}: expected a single value")
        value = yaml.safe_load(yaml.serialize(value_node))
        found[key] = _Value(value, where, path.absolute().parent)
    return found


def _gather(flags: dict[str, Any]) -> dict[str, _Value]:
    values = {key: _Value(value, "default", None) for key, value in _defaults().items()}
    values.update(_from_file())
    for key in KEYS:
        env = os.environ.get(f"CDR_{key.upper()}")
        if env:
            values[key] = _Value(env, f"CDR_{key.upper()}", None)
        if flags.get(key) is not None:
            values[key] = _Value(flags[key], f"--{key.replace('_', '-')}", None)
    return values


def _checked(key: str, given: _Value) -> Any:
    value = given.value if isinstance(given.value, Path) else _parse(key, given)
    if key in PATH_KEYS:
        return given.base / value if given.base else Path(value)  # an absolute path stays as it is
    return value


def _parse(key: str, given: _Value) -> Any:
    try:
        return PARSERS[key](given.value)
    except ValueError as exc:
        raise ConfigError(f"{given.where}: {key}: {exc}") from None


def _policy(given: _Value, path: Path) -> Path | None:
    if path.exists():
        return path
    if given.where == "default":
        return None  # nothing configured and nothing installed: the built-in policy
    raise ConfigError(
        f"{given.where}: policy: {path} does not exist (cdr does not fall back to the default policy)"
    )


def settings(flags: dict[str, Any]) -> Settings:
    values = _gather(flags)
    checked = {key: _checked(key, given) for key, given in values.items()}
    checked["policy"] = _policy(values["policy"], checked["policy"])
    return Settings(**checked)
