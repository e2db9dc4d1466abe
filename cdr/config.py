"""Where things live. Flags override ``CDR_*`` environment variables, which override the
config file (``CDR_CONFIG`` or ``/etc/cdr/cdr.yaml``), which overrides the defaults.

Run from a checkout, the defaults are folders inside it (``var/…``, ``quarantine/``) so
``make run`` needs no set-up; an installed copy uses ``/srv/cdr``, ``/var/lib/cdr`` and
``/var/log/cdr`` (see systemd/).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cdr.errors import ConfigError

CHECKOUT = Path(__file__).resolve().parent.parent
IN_CHECKOUT = (CHECKOUT / "pyproject.toml").exists() and (CHECKOUT / "cli.py").exists()
SYSTEM_CONFIG = Path("/etc/cdr/cdr.yaml")
KEYS = ("inbox", "outbox", "spool", "quarantine", "audit", "policy", "workers")


def _defaults() -> dict[str, Any]:
    if IN_CHECKOUT:
        var = CHECKOUT / "var"
        return {
            "inbox": var / "inbox",
            "outbox": var / "outbox",
            "spool": var / "spool",
            "quarantine": CHECKOUT / "quarantine",
            "audit": var / "log" / "audit.jsonl",
            "policy": CHECKOUT / "policies" / "default.yaml",
            "workers": os.cpu_count() or 1,
        }
    return {
        "inbox": Path("/srv/cdr/inbox"),
        "outbox": Path("/srv/cdr/outbox"),
        "spool": Path("/var/lib/cdr/spool"),
        "quarantine": Path("/var/lib/cdr/quarantine"),
        "audit": Path("/var/log/cdr/audit.jsonl"),
        "policy": Path("/etc/cdr/policy.yaml"),
        "workers": os.cpu_count() or 1,
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


def _from_file() -> dict[str, Any]:
    path = Path(os.environ.get("CDR_CONFIG", SYSTEM_CONFIG))
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of {', '.join(KEYS)}")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (allowed: {', '.join(KEYS)})")
    return data


def settings(flags: dict[str, Any]) -> Settings:
    values = _defaults()
    values.update(_from_file())
    for key in KEYS:
        env = os.environ.get(f"CDR_{key.upper()}")
        if env:
            values[key] = env
        if flags.get(key) is not None:
            values[key] = flags[key]
    try:
        workers = int(values["workers"])
    except (TypeError, ValueError):
        raise ConfigError(f"workers: {values['workers']!r} is not a whole number") from None
    policy = Path(values["policy"]) if values.get("policy") else None
    if (
        policy is not None
        and not policy.exists()
        and flags.get("policy") is None
        and not os.environ.get("CDR_POLICY")
    ):
        policy = None  # the built-in default, when no policy file was installed
    return Settings(
        Path(values["inbox"]),
        Path(values["outbox"]),
        Path(values["spool"]),
        Path(values["quarantine"]),
        Path(values["audit"]),
        policy,
        max(1, workers),
    )
