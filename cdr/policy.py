"""The YAML policy: which types cross, how, and within which limits.

A policy file is read with PyYAML's composer so that every value keeps its line number;
validation walks that node tree against ``SCHEMA``. An unknown key, a value of the wrong
kind or an action a type does not support is a ``ConfigError`` naming the file, the line,
the key and the allowed values — an operator editing YAML on a Friday evening must be
told exactly what is wrong, and a typo must never silently fall back to a default.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cdr import units, yamlfile
from cdr.errors import ConfigError
from cdr.i18n import _
from cdr.model import Action, Category, FileType
from cdr.types import ALLOWED_ACTIONS, CATALOGUE  # what each type can become: one row per type

URL_SCHEMES = ("http", "https", "mailto", "ftp")


@dataclass(frozen=True)
class Limits:
    max_file_size: int = 200 * 2**20
    max_output_size: int = 400 * 2**20
    max_pixels: int = 100_000_000
    max_pages: int = 2000
    max_objects: int = 500_000
    max_stream_size: int = 256 * 2**20  # one stream or member, stored or decoded
    max_decoded_size: int = 1024 * 2**20  # all streams of one PDF together, decoded
    archive_members: int = 1000
    archive_depth: int = 3
    archive_ratio: int = 100
    archive_total_size: int = 1024 * 2**20
    wall_time: float = 120.0
    cpu_time: float = 120.0
    memory: int = 2 * 2**30


@dataclass(frozen=True)
class PdfOptions:
    links: tuple[str, ...] = ("http", "https", "mailto")
    metadata: str = "title"  # none | title | keep
    pixels_dpi: int = 150
    pixels_format: str = "jpeg"  # jpeg | png
    pixels_quality: int = 85
    ocr: bool = False
    ocr_languages: str = "jpn+eng"


@dataclass(frozen=True)
class OfficeOptions:
    hyperlinks: tuple[str, ...] = ("http", "https", "mailto")
    properties: str = "keep"  # keep | strip
    default_password_unlock: bool = True
    metafiles: str = "drop"  # EMF/WMF pictures; only "drop" until a renderer is in the sandbox


@dataclass(frozen=True)
class TextOptions:
    output_encoding: str = "source"  # source | utf-8
    neutralise_formulas: bool = True


@dataclass(frozen=True)
class ImageOptions:
    jpeg_quality: int = 92
    keep_icc: bool = True


@dataclass(frozen=True)
class SandboxOptions:
    isolation: str = "required"  # required | best-effort


@dataclass(frozen=True)
class WatchOptions:
    settle_seconds: float = 1.0
    polling: bool = False


PLACEHOLDER_EXTENSION = "内線 0000"  # the shipped contact's extension: nobody answers it


@dataclass(frozen=True)
class NoticeOptions:
    contact: str = f"情報システム担当（{PLACEHOLDER_EXTENSION}） / the IT administrator"

    @property
    def contact_is_placeholder(self) -> bool:
        """Whether notices still send staff to the shipped, made-up extension."""
        return PLACEHOLDER_EXTENSION in self.contact


@dataclass(frozen=True)
class QuarantineOptions:
    # How long an original is kept: the one number behind the notices' 「原本は N 日間保管」,
    # `cdr quarantine purge`'s default and so the purge timer.
    retention: float = 30 * 86400.0


@dataclass(frozen=True)
class ApprovalOptions:
    # How long a request for an original (原本取り出し申請, in the web console) waits for
    # an approver; after it the request lapses and must be made again.
    expires: float = 72 * 3600.0


@dataclass(frozen=True)
class MailOptions:
    html: str = "sanitize"  # sanitize | text: the HTML part cleaned, or replaced by its text
    links: tuple[str, ...] = ("http", "https", "mailto")  # link schemes the HTML part keeps
    defang_links: bool = False  # https://x → hxxps://x, so that no link in a mail is clickable
    received: bool = False  # keep the Received: trace headers
    x_headers: bool = False  # keep X- headers (the sender's own; X-CDR-Sanitized is always written)


@dataclass(frozen=True)
class CacheOptions:
    # Verified outputs kept by content (cdr/cache.py): the same file dropped again is
    # released from the cache; the least recently used go beyond max_size.
    enabled: bool = True
    max_size: int = 2 * 2**30
    # A hit is verified again in a fresh child before release. Off by default: the key holds
    # everything the verifier's answer depends on (cdr's own source, the parser libraries,
    # libmagic and its database, the external programs' fingerprints, the policy), so the same
    # verifier would answer the same; on, "every release passed the verifier as it is now"
    # holds by construction, at the cost of one verify child per hit (about half a first run).
    verify_hits: bool = False


@dataclass(frozen=True)
class Policy:
    name: str = "default"
    actions: dict[FileType, Action] = field(default_factory=dict)
    extension_mismatch: str = "quarantine"  # quarantine | allow
    limits: Limits = Limits()
    pdf: PdfOptions = PdfOptions()
    office: OfficeOptions = OfficeOptions()
    text: TextOptions = TextOptions()
    image: ImageOptions = ImageOptions()
    sandbox: SandboxOptions = SandboxOptions()
    watch: WatchOptions = WatchOptions()
    notice: NoticeOptions = NoticeOptions()
    quarantine: QuarantineOptions = QuarantineOptions()
    mail: MailOptions = MailOptions()
    approval: ApprovalOptions = ApprovalOptions()
    cache: CacheOptions = CacheOptions()
    source: str = "<built-in>"
    sha256: str = ""

    def action_for(self, file_type: FileType) -> Action:
        return self.actions.get(file_type, DEFAULT_ACTIONS.get(file_type, Action.BLOCK))

    def to_json(self) -> dict[str, Any]:
        """The effective policy, defaults filled in, in the shape of the YAML file."""
        out: dict[str, Any] = {"name": self.name}
        out["types"] = {t.value: self.action_for(t).value for t in FileType}
        out["extension_mismatch"] = self.extension_mismatch
        for section in ("limits", "pdf", "office", "text", "image", "sandbox", "watch", "notice", "quarantine", "mail", "approval", "cache"):
            values = asdict(getattr(self, section))
            out[section] = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
        return out


# A kind of text (a web page too) is released as its text unless a policy says rebuild;
# a kind that can only be drawn (SVG) is drawn; anything else is rebuilt where it can be.
DEFAULT_ACTIONS: dict[FileType, Action] = {
    t: (
        Action.TEXT
        if Action.TEXT in allowed and (Action.REBUILD not in allowed or CATALOGUE[t].category == Category.TEXT)
        else Action.REBUILD
        if Action.REBUILD in allowed
        else Action.PIXELS
        if Action.PIXELS in allowed
        else Action.BLOCK
    )
    for t, allowed in ALLOWED_ACTIONS.items()
}


# ---------------------------------------------------------------- validation
class _Ctx:
    """Where we are in the file, for messages, and every problem found so far: the walk goes
    on past a wrong value so that one run of `cdr policy check` names them all."""

    def __init__(self, source: str, text: str = "") -> None:
        self.source = source
        self.text = text
        self.problems: list[tuple[int, str]] = []  # (line, message)

    def fail(self, node: yaml.Node, key: str, problem: str) -> ConfigError:
        line = node.start_mark.line + 1
        hint = yamlfile.keyboard_hint(self.text, line)
        named = f"{key}: " if key else ""  # the whole file has no key to name
        return ConfigError(f"{self.source}:{line}: {named}{problem}{hint}")

    def note(self, node: yaml.Node, key: str, problem: str) -> None:
        self.problems.append((node.start_mark.line, str(self.fail(node, key, problem))))

    def attempt(self, node: yaml.Node, parse: Callable[[], Any]) -> Any:
        """``parse()``, or ``WRONG`` with its problem noted at ``node``'s line."""
        try:
            return parse()
        except ConfigError as exc:
            self.problems.append((node.start_mark.line, str(exc)))
            return WRONG

    def raise_problems(self) -> None:
        if self.problems:  # in the order of the file, whatever order they were found in
            raise ConfigError(*(message for _, message in sorted(self.problems, key=lambda p: p[0])))


WRONG: Any = object()  # what a value that was wrong parses to; never used
Parser = Callable[[_Ctx, yaml.Node, str], Any]


def _scalar(ctx: _Ctx, node: yaml.Node, key: str) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise ctx.fail(node, key, _("expected a single value"))
    return yaml.safe_load(yaml.serialize(node))


def _measured(parse: Callable[[Any], Any]) -> Parser:
    """A size or duration as cdr.units reads it, its message placed at file, line and key."""

    def parser(ctx: _Ctx, node: yaml.Node, key: str) -> Any:
        value = _scalar(ctx, node, key)
        try:
            return parse(value)
        except ValueError as exc:
            raise ctx.fail(node, key, str(exc)) from None

    return parser


_size = _measured(units.size)
_duration = _measured(units.duration)
_days = _measured(lambda value: units.duration(value, bare="d"))  # a retention of "30" means days


def _count(ctx: _Ctx, node: yaml.Node, key: str) -> int:
    value = _scalar(ctx, node, key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ctx.fail(node, key, _("{value} is not a positive whole number").format(value=repr(value)))
    return value


def _bool(ctx: _Ctx, node: yaml.Node, key: str) -> bool:
    value = _scalar(ctx, node, key)
    if not isinstance(value, bool):
        raise ctx.fail(node, key, _not_allowed(value, "true, false"))
    return value


def _text(ctx: _Ctx, node: yaml.Node, key: str) -> str:
    value = _scalar(ctx, node, key)
    if not isinstance(value, str) or not value.strip():
        raise ctx.fail(node, key, _("expected a non-empty text"))
    return value


def _choice(*allowed: str) -> Parser:
    def parse(ctx: _Ctx, node: yaml.Node, key: str) -> str:
        value = _scalar(ctx, node, key)
        if value not in allowed:
            near = yamlfile.likely_meant(value, allowed)
            if near:
                said = _("{value} is not allowed: did you mean {near}? (allowed: {allowed})")
                raise ctx.fail(node, key, said.format(value=repr(value), near=near, allowed=", ".join(allowed)))
            raise ctx.fail(node, key, _not_allowed(value, ", ".join(allowed)))
        return str(value)

    return parse


def _range(low: int, high: int) -> Parser:
    def parse(ctx: _Ctx, node: yaml.Node, key: str) -> int:
        value = _scalar(ctx, node, key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ctx.fail(node, key, _not_allowed(value, _("{low} to {high}").format(low=low, high=high)))
        return value

    return parse


def _not_allowed(value: Any, allowed: str) -> str:
    return _("{value} is not allowed (allowed: {allowed})").format(value=repr(value), allowed=allowed)


def _schemes(ctx: _Ctx, node: yaml.Node, key: str) -> tuple[str, ...]:
    if not isinstance(node, yaml.SequenceNode):
        raise ctx.fail(node, key, _("expected a list (allowed items: {allowed})").format(allowed=", ".join(URL_SCHEMES)))
    scheme = _choice(*URL_SCHEMES)
    return tuple(ctx.attempt(item, lambda item=item: scheme(ctx, item, key)) for item in node.value)


SECTIONS: dict[str, tuple[type, dict[str, Parser]]] = {
    "limits": (
        Limits,
        {
            "max_file_size": _size,
            "max_output_size": _size,
            "max_pixels": _count,
            "max_pages": _count,
            "max_objects": _count,
            "max_stream_size": _size,
            "max_decoded_size": _size,
            "archive_members": _count,
            "archive_depth": _range(1, 10),
            "archive_ratio": _count,
            "archive_total_size": _size,
            "wall_time": _duration,
            "cpu_time": _duration,
            "memory": _size,
        },
    ),
    "pdf": (
        PdfOptions,
        {
            "links": _schemes,
            "metadata": _choice("none", "title", "keep"),
            "pixels_dpi": _range(36, 600),
            "pixels_format": _choice("jpeg", "png"),
            "pixels_quality": _range(30, 100),
            "ocr": _bool,
            "ocr_languages": _text,
        },
    ),
    "office": (
        OfficeOptions,
        {
            "hyperlinks": _schemes,
            "properties": _choice("keep", "strip"),
            "default_password_unlock": _bool,
            "metafiles": _choice("drop"),
        },
    ),
    "text": (
        TextOptions,
        {
            "output_encoding": _choice("source", "utf-8"),
            "neutralise_formulas": _bool,
        },
    ),
    "image": (ImageOptions, {"jpeg_quality": _range(30, 100), "keep_icc": _bool}),
    "sandbox": (SandboxOptions, {"isolation": _choice("required", "best-effort")}),
    "watch": (WatchOptions, {"settle_seconds": _duration, "polling": _bool}),
    "notice": (NoticeOptions, {"contact": _text}),
    "quarantine": (QuarantineOptions, {"retention": _days}),
    "approval": (ApprovalOptions, {"expires": _days}),
    "cache": (CacheOptions, {"enabled": _bool, "max_size": _size, "verify_hits": _bool}),
    "mail": (
        MailOptions,
        {
            "html": _choice("sanitize", "text"),
            "links": _schemes,
            "defang_links": _bool,
            "received": _bool,
            "x_headers": _bool,
        },
    ),
}
TOP_KEYS = ("name", "types", "extension_mismatch", *SECTIONS)


def _mapping(
    ctx: _Ctx, node: yaml.Node, key: str, allowed: tuple[str, ...]
) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise ctx.fail(node, key, _("expected a mapping of keys to values"))
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        name = str(key_node.value)
        where = f"{key}.{name}" if key else name
        if name not in allowed:  # noted, and the other keys still read
            near = yamlfile.likely_meant(name, allowed)
            said = _("unknown key: did you mean {near}? (allowed: {allowed})") if near else _("unknown key (allowed: {allowed})")
            ctx.note(key_node, where, said.format(near=near, allowed=", ".join(allowed)))
        elif name in out:
            ctx.note(key_node, where, _("given twice"))
        else:
            out[name] = (key_node, value_node)
    return out


def _types(ctx: _Ctx, node: yaml.Node) -> dict[FileType, Action]:
    entries = _mapping(ctx, node, "types", tuple(t.value for t in FileType))
    actions: dict[FileType, Action] = {}
    for name, (_key, value_node) in entries.items():
        file_type = FileType(name)
        allowed = sorted(a.value for a in ALLOWED_ACTIONS[file_type])
        value = ctx.attempt(value_node, lambda n=value_node, a=allowed, k=name: _choice(*a)(ctx, n, f"types.{k}"))
        if value is not WRONG:
            actions[file_type] = Action(value)
    return actions


def _section(ctx: _Ctx, node: yaml.Node, section: str) -> Any:
    cls, fields = SECTIONS[section]
    entries = _mapping(ctx, node, section, tuple(fields))
    values = {
        k: ctx.attempt(v, lambda k=k, v=v: fields[k](ctx, v, f"{section}.{k}")) for k, (_key, v) in entries.items()
    }
    return cls(**values)  # only when nothing was wrong: parse_policy raises first otherwise


def _top_value(ctx: _Ctx, key: str, node: yaml.Node) -> Any:
    if key == "name":
        return _text(ctx, node, "name")
    if key == "types":
        return _types(ctx, node)
    if key == "extension_mismatch":
        return _choice("quarantine", "allow")(ctx, node, "extension_mismatch")
    return _section(ctx, node, key)


def parse_policy(text: str, source: str) -> Policy:
    ctx = _Ctx(source, text)
    root = yamlfile.compose(text, source)
    if root is None:
        raise ConfigError(_("{source}: the policy is empty").format(source=source))
    top = ctx.attempt(root, lambda: _mapping(ctx, root, "", TOP_KEYS))
    if top is WRONG:  # not a mapping at all: nothing below it to read
        ctx.raise_problems()
    kwargs: dict[str, Any] = {"source": source}
    for key, (_key, node) in top.items():
        kwargs[{"types": "actions"}.get(key, key)] = ctx.attempt(node, lambda k=key, n=node: _top_value(ctx, k, n))
    ctx.raise_problems()
    kwargs["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Policy(**kwargs)


def load_policy(path: Path | None) -> Policy:
    """Read and validate a policy file; ``None`` means the built-in default."""
    if path is None:
        builtin = Policy()
        digest = hashlib.sha256(json.dumps(builtin.to_json(), sort_keys=True).encode()).hexdigest()
        return Policy(sha256=digest)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(_("{path}: policy file not found").format(path=path)) from None
    except UnicodeDecodeError:
        raise ConfigError(_("{path}: the policy is not UTF-8 text").format(path=path)) from None
    except OSError as exc:
        raise ConfigError(_("{path}: cannot read the policy: {why}").format(path=path, why=exc.strerror)) from None
    return parse_policy(text, str(path))


def policy_from_json(raw: dict[str, Any]) -> Policy:
    """Rebuild a Policy from ``Policy.to_json`` (used inside the sandbox child)."""
    kwargs: dict[str, Any] = {"name": raw["name"], "extension_mismatch": raw["extension_mismatch"]}
    kwargs["actions"] = {FileType(k): Action(v) for k, v in raw["types"].items()}
    for section, (cls, _fields) in SECTIONS.items():
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw[section].items()}
        kwargs[section] = cls(**values)
    return Policy(**kwargs)
