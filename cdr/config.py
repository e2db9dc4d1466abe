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

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cdr import mailer, units, yamlfile
from cdr.errors import ConfigError
from cdr.i18n import _

CHECKOUT = Path(__file__).resolve().parent.parent
IN_CHECKOUT = (CHECKOUT / "pyproject.toml").exists() and (CHECKOUT / "cli.py").exists()
SYSTEM_CONFIG = Path("/etc/cdr/cdr.yaml")
PATH_KEYS = ("inbox", "outbox", "spool", "quarantine", "audit", "policy", "console_db", "cache_dir")
MAX_WORKERS = 64
MAX_DELAY = 3600.0


def _whole(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)  # from the environment every value is text
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValueError(_not_allowed(value, _("a whole number from {low} to {high}").format(low=low, high=high)))
        return value

    return parse


def _delay(value: Any) -> float:
    seconds = units.duration(value)
    if seconds > MAX_DELAY:  # a retry an hour away is a stuck queue, not a retry
        raise ValueError(_not_allowed(value, _("a duration of at most {most}").format(most=f"{MAX_DELAY:g}s")))
    return seconds


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_not_allowed(value, _("a path")))
    return value


def _rotation(value: Any) -> Any:
    from cdr.audit import Rotation  # the audit log says what its rotation means

    try:
        return Rotation.parse(value)
    except ValueError:
        raise ValueError(_not_allowed(value, _("daily, never, or a size such as 100MiB"))) from None


def _keep(value: Any) -> float | None:
    """How long something is kept: ``forever`` (``off``: never cleaned), or an age such as
    ``14d`` or ``5y`` (a year is 366 days here: kept a little longer, never shorter)."""
    if value in ("forever", "off") or value is False:  # YAML reads a bare off as false
        return None
    text = str(value).strip()
    try:
        return units.duration(f"{float(text[:-1]) * 366:g}d" if text.endswith("y") else value, bare="d")
    except ValueError:
        raise ValueError(_not_allowed(value, _("forever, off, or an age such as 14d or 5y"))) from None


def _listen(value: Any) -> str:
    """Where the web console listens: HOST:PORT ([::1]:8765 for an IPv6 address)."""
    text = str(value).strip()
    host, _colon, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(_not_allowed(value, _("HOST:PORT, such as 127.0.0.1:8765")))
    return text


def _proxy(value: Any) -> str:
    """The reverse proxy in front of the console: its address, or empty for none."""
    text = "" if value is None else str(value).strip()
    if text:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise ValueError(_not_allowed(value, _("an IP address, such as 127.0.0.1, or empty"))) from None
    return text


def _not_allowed(value: Any, allowed: str) -> str:
    return _("{value} is not allowed (allowed: {allowed})").format(value=repr(value), allowed=allowed)


PARSERS: dict[str, Callable[[Any], Any]] = {
    **{key: _path for key in PATH_KEYS},
    "workers": _whole(1, MAX_WORKERS),
    "retry_attempts": _whole(1, 100),
    "retry_delay": _delay,
    **mailer.PARSERS,  # mail_relay, mail_to … (off unless mail_relay is set)
    "audit_rotate": _rotation,
    "audit_retention": _keep,
    "outbox_retention": _keep,
    "console_idle": lambda value: units.duration(value, bare="m"),  # a bare number means minutes
    "console_listen": _listen,
    "console_proxy": _proxy,  # X-Forwarded-For is believed from this address only
}
KEYS = tuple(PARSERS)


def _defaults() -> dict[str, Any]:
    common = {"workers": min(os.cpu_count() or 1, MAX_WORKERS), "retry_attempts": 5, "retry_delay": 2.0}
    common |= mailer.DEFAULTS
    common |= {"audit_rotate": "daily", "audit_retention": "forever", "outbox_retention": "off"}
    common |= {"console_idle": "30m"}  # a console left open logs itself out after this
    common |= {"console_listen": "127.0.0.1:8765"}  # loopback until the LGWAN-side address is named
    if IN_CHECKOUT:
        var = CHECKOUT / "var"
        return {
            "inbox": var / "inbox",
            "outbox": var / "outbox",
            "spool": var / "spool",
            "quarantine": CHECKOUT / "quarantine",
            "audit": var / "log" / "audit.jsonl",
            "policy": CHECKOUT / "policies" / "default.yaml",
            "console_db": var / "console.db",
            **common,
        }
    return {
        "inbox": Path("/srv/cdr/inbox"),
        "outbox": Path("/srv/cdr/outbox"),
        "spool": Path("/srv/cdr/spool"),  # beside the inbox: one file system, for the claim's rename
        "quarantine": Path("/var/lib/cdr/quarantine"),
        "audit": Path("/var/log/cdr/audit.jsonl"),
        "policy": Path("/etc/cdr/policy.yaml"),
        # the console's accounts, sessions and requests: state, beside the quarantine it
        # refers to (never under /srv/cdr, whose inbox and outbox are shared)
        "console_db": Path("/var/lib/cdr/console.db"),
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
    audit_rotate: Any = None  # an audit.Rotation; None: the audit log reads the configured one
    audit_retention: float | None = None  # seconds; None keeps the audit log for ever
    outbox_retention: float | None = None  # seconds; None leaves released files alone
    console_db: Path | None = None  # the web console's SQLite file (cdr/console/db.py)
    cache_dir: Path | None = None  # verified outputs (cdr/cache.py); unset: "cache" beside the spool
    console_idle: float = 30 * 60.0  # seconds without a request before a console session ends
    console_listen: str = "127.0.0.1:8765"  # HOST:PORT of `cdr console` (cdr/console/serve.py)
    console_proxy: str = ""  # the reverse proxy's address: its X-Forwarded-For names the client


@dataclass(frozen=True)
class _Value:
    value: Any
    where: str  # for messages: "--policy", "CDR_POLICY", "/etc/cdr/cdr.yaml:7", "default"
    base: Path | None  # what a relative path in a config file is relative to


def _from_file(problems: list[str]) -> dict[str, _Value]:
    """The file's values, each already checked; what is wrong goes to ``problems``, all of it."""
    named = os.environ.get("CDR_CONFIG")
    path = Path(named or SYSTEM_CONFIG)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:  # a file named on purpose that is not there is a typo, not "no configuration"
            raise ConfigError(
                _("CDR_CONFIG: {path} does not exist (unset it, or name /dev/null for no configuration file)").format(
                    path=path
                )
            ) from None
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(_("{path}: cannot read the configuration: {why}").format(path=path, why=exc)) from None
    root = yamlfile.compose(text, path)
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(
            f"{path}:{root.start_mark.line + 1}: "
            + _("expected a mapping of {keys}").format(keys=", ".join(KEYS))
        )
    found: dict[str, _Value] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        key = str(key_node.value)
        problem = _file_problem(key, value_node, found)
        if problem:
            problems.append(f"{path}:{line}: {key}: {problem}{yamlfile.keyboard_hint(text, line)}")
        else:
            found[key] = _Value(yaml.safe_load(yaml.serialize(value_node)), f"{path}:{line}", path.absolute().parent)
    return found


def _file_problem(key: str, value_node: yaml.Node, found: dict[str, _Value]) -> str:
    """What is wrong with one line of the config file, or ""."""
    if key not in PARSERS:
        near = yamlfile.likely_meant(key, KEYS)
        said = _("unknown key: did you mean {near}? (allowed: {allowed})") if near else _("unknown key (allowed: {allowed})")
        return said.format(near=near, allowed=", ".join(KEYS))
    if key in found:
        return _("given twice")
    if not isinstance(value_node, yaml.ScalarNode):
        return _("expected a single value")
    try:
        PARSERS[key](yaml.safe_load(yaml.serialize(value_node)))
    except ValueError as exc:
        return str(exc)
    return ""


def _gather(flags: dict[str, Any], problems: list[str]) -> dict[str, _Value]:
    values = {key: _Value(value, "default", None) for key, value in _defaults().items()}
    values.update(_from_file(problems))
    for key in KEYS:
        env = os.environ.get(f"CDR_{key.upper()}")
        if env:
            values[key] = _Value(env, f"CDR_{key.upper()}", None)
        if flags.get(key) is not None:
            values[key] = _Value(flags[key], f"--{key.replace('_', '-')}", None)
    return values


def _checked(key: str, given: _Value) -> Any:
    value = given.value if isinstance(given.value, Path) else PARSERS[key](given.value)
    if key in PATH_KEYS:
        return given.base / value if given.base else Path(value)  # an absolute path stays as it is
    return value


def _policy(given: _Value, path: Path) -> Path | None:
    if path.exists():
        return path
    if given.where == "default":
        return None  # nothing configured and nothing installed: the built-in policy
    raise ValueError(
        _("{path} does not exist (cdr does not fall back to the default policy)").format(path=path)
    )


def settings(flags: dict[str, Any]) -> Settings:
    """Where things live, or a ConfigError naming every problem at once (file, environment, flags)."""
    problems: list[str] = []
    values = _gather(flags, problems)
    checked: dict[str, Any] = {}
    for key, given in values.items():
        try:
            checked[key] = _checked(key, given)
            if key == "policy":
                checked[key] = _policy(given, checked[key])
        except ValueError as exc:
            problems.append(f"{given.where}: {key}: {exc}")
    if problems:
        raise ConfigError(*problems)
    checked.setdefault("cache_dir", checked["spool"].parent / "cache")  # /srv/cdr/cache, var/cache
    return Settings(**checked)


def value(key: str) -> Any:
    """One setting, checked: for code handed a path but not the settings (the audit log's rotation)."""
    problems: list[str] = []
    given = _gather({}, problems)[key]
    if problems:
        raise ConfigError(*problems)
    try:
        return _checked(key, given)
    except ValueError as exc:
        raise ConfigError(f"{given.where}: {key}: {exc}") from None
