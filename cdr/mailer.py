"""Mail to the administrator through an SMTP relay on the LGWAN side — off unless
``mail_relay`` is set in cdr.yaml: the settings, composing a message, sending it, and the
spool of mail not sent yet.

A message is composed whole and written to ``<spool>/mail-pending/`` (durably: a crash,
a reboot or a relay that is down loses nothing) before anything is sent. Whoever sends
(``cdr notify``, run by a timer) sends what waits there oldest first, and a message leaves
the spool only once the relay has accepted it — so a mail may, after a crash at exactly
that moment, arrive twice, but is never lost. Each sent or failed message is an audit
record with its kind and the number of files it names, never its text.

The daemon does not send: its unit has no network at all (``PrivateNetwork=yes``), and a
relay that hangs must never hold a file up. File names are chosen by whoever sent the
file: they go only into the body (through ``names.display``); the headers hold our own
words and the configured addresses, and the email package refuses a header value with a
line break in it.
"""

from __future__ import annotations

import fcntl
import json
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdr import units
from cdr.durable import fsync_dir, write_json
from cdr.errors import ConfigError
from cdr.names import display, new_id

if TYPE_CHECKING:
    from cdr.audit import AuditLog
    from cdr.config import Settings

PENDING = "mail-pending"
SUFFIX = ".mail"  # a message waiting: JSON with the envelope and the whole message
TIMEOUT = 20.0  # seconds for the relay to answer; the sender is a timer's job, not the daemon
MAX_BATCH = 3600.0

_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]"
_RELAY = re.compile(rf"({_HOST})(?::(\d{{1,5}}))?")
# plain ASCII addresses: a relay on the LGWAN side need not speak SMTPUTF8
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


class MailError(Exception):
    """The relay could not be reached or did not take the message (one line, no secrets)."""


# ------------------------------------------------------------------ settings (cdr.yaml keys)
def _not_allowed(value: Any, allowed: str) -> ValueError:
    return ValueError(f"{value!r} is not allowed (allowed: {allowed})")


def _relay(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    match = _RELAY.fullmatch(text)
    if text and (not match or not 0 < int(match.group(2) or 25) < 65536):
        raise _not_allowed(value, "empty (no mail), or host or host:port of the SMTP relay, such as 10.0.0.25:25")
    return text


def _address(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if text and not _ADDRESS.fullmatch(text):
        raise _not_allowed(value, "an address such as cdr@town.lg.jp")
    return text


def _addresses(value: Any) -> tuple[str, ...]:
    parts = [part.strip() for part in ("" if value is None else str(value)).split(",")]
    if any(not _ADDRESS.fullmatch(part) for part in parts if part):
        raise _not_allowed(value, "addresses such as admin@town.lg.jp, separated by commas")
    return tuple(part for part in parts if part)


def _yes_no(value: Any) -> bool:
    text = str(value).strip().lower()  # from the environment every value is text
    if isinstance(value, bool) or text in ("true", "false", "yes", "no", "on", "off", "1", "0"):
        return value if isinstance(value, bool) else text in ("true", "yes", "on", "1")
    raise _not_allowed(value, "true or false")


def _user(value: Any) -> str:
    text = "" if value is None else str(value)
    if any(c.isspace() for c in text):
        raise _not_allowed(value, "a user name without spaces, or empty for none")
    return text


def _secret_file(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if text and not Path(text).is_absolute():
        raise _not_allowed(value, "empty, or the absolute path of a file holding the relay's password")
    return text


def _batch(value: Any) -> float:
    seconds = units.duration(value)
    if seconds > MAX_BATCH:  # an alert an hour late is no alert
        raise _not_allowed(value, f"a duration of at most {MAX_BATCH:g}s")
    return seconds


# cdr.yaml keys (also CDR_MAIL_RELAY …): what cdr/config.py adds to its own
PARSERS: dict[str, Callable[[Any], Any]] = {
    "mail_relay": _relay,
    "mail_from": _address,
    "mail_to": _addresses,
    "mail_starttls": _yes_no,
    "mail_user": _user,
    "mail_password_file": _secret_file,
    "mail_batch": _batch,
}
DEFAULTS: dict[str, Any] = {
    "mail_relay": "",
    "mail_from": "",
    "mail_to": "",
    "mail_starttls": False,  # a relay inside the LGWAN often has no TLS at all
    "mail_user": "",
    "mail_password_file": "",
    "mail_batch": "5m",
}


@dataclass(frozen=True)
class MailConfig:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = False
    user: str = ""
    password_file: str = ""
    batch: float = 300.0  # how long quarantines are collected into one alert

    @classmethod
    def of(cls, settings: Settings) -> MailConfig | None:
        """The mail settings, or None when mail is off (no relay)."""
        relay = settings.mail_relay
        if not relay:
            return None
        if not settings.mail_to:
            raise ConfigError("mail_to: names no one, but mail_relay is set (give mail_to, or empty mail_relay)")
        if settings.mail_user and not settings.mail_password_file:
            raise ConfigError("mail_password_file: needed when mail_user is given")
        match = _RELAY.fullmatch(relay)
        if match is None:  # cdr.yaml's parser refuses it first; Settings made in code are not parsed
            raise ConfigError(f"mail_relay: {relay!r} is not host or host:port")
        return cls(
            host=match.group(1).strip("[]"),
            port=int(match.group(2) or 25),
            sender=settings.mail_from or f"cdr@{socket.getfqdn()}",
            recipients=settings.mail_to,
            starttls=settings.mail_starttls,
            user=settings.mail_user,
            password_file=settings.mail_password_file,
            batch=settings.mail_batch,
        )

    @property
    def relay(self) -> str:
        return f"{self.host}:{self.port}"


# ------------------------------------------------------------------ one message
def compose(config: MailConfig, subject: str, body: str) -> EmailMessage:
    """A UTF-8 message: the subject is encoded by the email package (RFC 2047), the body
    is base64, which any relay passes unchanged (no 8BITMIME needed)."""
    message = EmailMessage(policy=SMTP)
    message["Subject"] = subject
    message["From"] = config.sender
    message["To"] = ", ".join(config.recipients)
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["Message-ID"] = make_msgid("cdr", domain=config.sender.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"  # no vacation replies back to the appliance
    message.set_content(body, charset="utf-8", cte="base64")
    return message


def send(config: MailConfig, sender: str, recipients: list[str], data: bytes) -> dict[str, Any]:
    """Hand ``data`` to the relay; the recipients it refused (the others have it)."""
    import smtplib
    import ssl

    try:
        with smtplib.SMTP(config.host, config.port, timeout=TIMEOUT) as smtp:
            smtp.ehlo()
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config.user:
                smtp.login(config.user, _password(config.password_file))
            refused = smtp.sendmail(sender, recipients, data)
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"the relay {config.relay} said {exc.smtp_code} {_said(exc.smtp_error)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"the relay {config.relay} refused every recipient: {', '.join(exc.recipients)}") from None
    except OSError as exc:  # refused, unreachable, timed out, TLS failed; SMTPException too
        why = exc.strerror or str(exc) or type(exc).__name__
        raise MailError(f"the relay {config.relay}: {display(why)}") from None
    return {address: f"{code} {_said(said)}" for address, (code, said) in refused.items()}


def _said(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return display(text)[:300]


def _password(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise MailError(f"{path}: cannot read the relay's password: {exc.strerror}") from None


# ------------------------------------------------------------------ the spool of unsent mail
@dataclass(frozen=True)
class Waiting:
    path: Path
    record: dict[str, Any]  # kind, files, sender, recipients, data; failed, last_failure


@dataclass(frozen=True)
class Delivery:
    sent: int
    waiting: int
    failure: str | None = None  # why the first message that failed is still waiting


class MailSpool:
    """``<spool>/mail-pending/``: one file per message not yet accepted by the relay."""

    def __init__(self, spool: Path) -> None:
        self.folder = spool / PENDING

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One sender at a time (the minute timer and the daily summary may meet)."""
        self.folder.mkdir(mode=0o750, parents=True, exist_ok=True)
        with open(self.folder / ".lock", "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield

    def put(self, kind: str, files: int, message: EmailMessage, **extra: Any) -> Path:
        """The message, kept until sent; ``extra`` is kept beside it (never sent)."""
        self.folder.mkdir(mode=0o750, parents=True, exist_ok=True)
        path = self.folder / f"{new_id()}{SUFFIX}"
        record = {
            "kind": kind,
            "files": files,
            "sender": str(message["From"]),
            "recipients": [a.strip() for a in str(message["To"]).split(",")],
            "data": message.as_bytes().decode("ascii"),  # encoded headers, base64 body: ASCII
            **extra,
        }
        write_json(path, record, sync_folder=True)
        return path

    def waiting(self) -> list[Waiting]:
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.glob(f"*{SUFFIX}")):  # IDs sort by time: oldest first
            try:
                found.append(Waiting(path, json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError):
                continue  # a half-written file cannot exist (write_json); an unreadable one waits
        return found

    def deliver(self, config: MailConfig, audit: AuditLog) -> Delivery:
        """Send what waits, oldest first; stop at the first failure (the relay is down for
        the rest too), which is audited once per message, not every minute it lasts."""
        waiting = self.waiting()
        for sent, mail in enumerate(waiting):
            record = mail.record
            try:
                refused = send(config, record["sender"], record["recipients"], record["data"].encode("ascii"))
            except MailError as exc:
                if not record.get("failed"):
                    audit.append("mail-failed", kind=record["kind"], files=record["files"], error=str(exc))
                write_json(mail.path, {**record, "failed": record.get("failed", 0) + 1, "last_failure": str(exc)})
                return Delivery(sent, len(waiting) - sent, str(exc))
            audit.append(
                "mail-sent",
                kind=record["kind"],
                files=record["files"],
                to=record["recipients"],
                refused=refused or None,
                tries=record.get("failed", 0) + 1,
            )
            mail.path.unlink()
            fsync_dir(self.folder)
        return Delivery(len(waiting), 0)
