"""Everything that crosses the sandbox boundary, in one module.

Requests go in as small JSON documents the parent builds here; answers come back as one
bounded JSON document per job, written by a child that parsed hostile bytes — so every
answer is hostile data (DESIGN.md invariant 8). Each answer has a schema: its keys are
exactly the ones listed (an unknown key is refused, not ignored), every number is range
checked, every enum must be one of ours, and every piece of free text the child wrote
(messages, names, parser errors, finding details) is cleaned of control and bidi
characters and cut before it can reach ``meta.json``, a notice, the audit log or a
terminal. An answer outside its schema ends the file in quarantine as ``bad-answer``.

What the answer says is still only a claim: the parent checks the output against its
own decision (``cdr.pipeline``, ``cdr.verify``).
"""

from __future__ import annotations

import json
import re
import signal
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from cdr.errors import (
    CODE_RANGE,
    SANITIZE_REASONS,
    BadAnswer,
    CpuLimit,
    SandboxCrash,
    SandboxTimeout,
    SanitizeError,
    error_for_code,
)
from cdr.model import Action, ActionTaken, Detection, FileType, Finding, SanitizeResult
from cdr.names import display
from cdr.policy import Limits

# The most a job may answer, in bytes; the zygote passes one byte more on, so that an
# answer that was cut shows as too long instead of as damaged JSON.
MAX_ANSWER = 256 << 10
MAX_FINDINGS = 200
MAX_ACTIONS = 200
MAX_DETAILS = 32
MAX_LIST = 50
MAX_COUNT = 1 << 40
MAX_MESSAGE = 500
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
E = TypeVar("E", bound=Enum)


# ------------------------------------------------------------------ small checks
def clean_text(untrusted: object, limit: int, what: str = "text") -> str:
    """A child's free text, fit for a person: a string, no control or bidi characters, cut."""
    if not isinstance(untrusted, str):
        raise BadAnswer(f"{what} is not text")
    return display(untrusted[: limit * 2])[:limit]


def _fields(
    untrusted: object, required: frozenset[str], optional: frozenset[str], what: str
) -> dict[str, Any]:
    if not isinstance(untrusted, dict):
        raise BadAnswer(f"{what} is not an object")
    keys = set(untrusted)
    if missing := required - keys:
        raise BadAnswer(f"{what} lacks {sorted(missing)}")
    if extra := keys - required - optional:
        raise BadAnswer(f"{what} has unknown keys {sorted(clean_text(k, 40) for k in extra)[:5]}")
    return untrusted


def _int(untrusted: object, low: int, high: int, what: str) -> int:
    if isinstance(untrusted, bool) or not isinstance(untrusted, int) or not low <= untrusted <= high:
        raise BadAnswer(f"{what} is not a number from {low} to {high}")
    return untrusted


def _bool(untrusted: object, what: str) -> bool:
    if not isinstance(untrusted, bool):
        raise BadAnswer(f"{what} is not true or false")
    return untrusted


def _list(untrusted: object, limit: int, what: str) -> list[Any]:
    if not isinstance(untrusted, list) or len(untrusted) > limit:
        raise BadAnswer(f"{what} is not a list of at most {limit}")
    return untrusted


def _enum(kind: type[E], untrusted: object, what: str) -> E:
    try:
        return kind(untrusted)
    except ValueError:
        raise BadAnswer(f"{what} {clean_text(str(untrusted), 40)!r} is not one we know") from None


# ------------------------------------------------------------------ answers
def finding(untrusted: object) -> Finding:
    raw = _fields(untrusted, frozenset({"kind"}), frozenset({"detail", "count", "suspicious"}), "a finding")
    return Finding(
        clean_text(raw["kind"], 80, "a finding's kind"),
        clean_text(raw.get("detail", ""), MAX_MESSAGE, "a finding's detail"),
        _int(raw.get("count", 1), 0, MAX_COUNT, "a finding's count"),
        _bool(raw.get("suspicious", False), "a finding's suspicion"),
    )


def findings(untrusted: object) -> tuple[Finding, ...]:
    return tuple(finding(f) for f in _list(untrusted, MAX_FINDINGS, "findings"))


def detection(untrusted: object) -> Detection:
    raw = _fields(
        untrusted,
        frozenset({"file_type", "mime", "description", "encrypted", "findings"}),
        frozenset(),
        "a detection",
    )
    return Detection(
        file_type=_enum(FileType, raw["file_type"], "the file type"),
        mime=clean_text(raw["mime"], 200, "the MIME type"),
        description=clean_text(raw["description"], 300, "the description"),
        encrypted=_bool(raw["encrypted"], "encrypted"),
        findings=findings(raw["findings"]),
    )


def details(untrusted: object) -> dict[str, Any]:
    """A flat table of facts (pages, sizes, names): scalars or short lists of text."""
    if not isinstance(untrusted, dict) or len(untrusted) > MAX_DETAILS:
        raise BadAnswer(f"details are not a table of at most {MAX_DETAILS}")
    out: dict[str, Any] = {}
    for key, value in untrusted.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise BadAnswer("a detail has a name that is not one word")
        out[key] = _detail_value(value, key)
    return out


def _detail_value(value: object, key: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _int(value, -MAX_COUNT, MAX_COUNT, key)
    if isinstance(value, float):
        return value if abs(value) < MAX_COUNT else 0.0
    if isinstance(value, str):
        return clean_text(value, MAX_MESSAGE, key)
    return [clean_text(item, 200, key) for item in _list(value, MAX_LIST, key)]


def _action_taken(untrusted: object) -> ActionTaken:
    raw = _fields(untrusted, frozenset({"what", "action"}), frozenset({"count"}), "an action")
    return ActionTaken(
        clean_text(raw["what"], 80, "an action's subject"),
        clean_text(raw["action"], 40, "an action"),
        _int(raw.get("count", 1), 0, MAX_COUNT, "an action's count"),
    )


def sanitize_result(untrusted: object) -> SanitizeResult:
    raw = _fields(untrusted, frozenset({"output_type", "actions", "details"}), frozenset(), "a result")
    return SanitizeResult(
        output_type=_enum(FileType, raw["output_type"], "the output type"),
        actions=tuple(_action_taken(a) for a in _list(raw["actions"], MAX_ACTIONS, "actions")),
        details=details(raw["details"]),
    )


def refusal(untrusted: object) -> SanitizeError:
    """A sanitizer's refusal carried inside an answer: its class comes from the code."""
    raw = _fields(untrusted, frozenset({"code", "message"}), frozenset(), "a refusal")
    code = _int(raw["code"], CODE_RANGE.start, CODE_RANGE.stop - 1, "a refusal's code")
    return error_for_code(code, clean_text(raw["message"], MAX_MESSAGE, "a refusal's message"))


@dataclass(frozen=True)
class ProcessAnswer:
    """Identify, and — when nothing needed the parent in between — sanitize as well."""

    detection: Detection
    action: Action | None = None
    result: SanitizeResult | None = None
    refused: SanitizeError | None = None


def process_answer(untrusted: object) -> ProcessAnswer:
    raw = _fields(untrusted, frozenset({"detection"}), frozenset({"action", "result", "error"}), "an answer")
    found = detection(raw["detection"])
    if "error" in raw:
        if "action" in raw or "result" in raw:
            raise BadAnswer("an answer both refused and sanitized")
        return ProcessAnswer(found, refused=refusal(raw["error"]))
    if ("action" in raw) != ("result" in raw):
        raise BadAnswer("an answer has an action without a result, or the reverse")
    if "result" not in raw:
        return ProcessAnswer(found)
    return ProcessAnswer(found, _enum(Action, raw["action"], "the action"), sanitize_result(raw["result"]))


@dataclass(frozen=True)
class InspectAnswer:
    detection: Detection
    findings: tuple[Finding, ...]
    details: dict[str, Any]
    refused: str | None = None  # the reason the type's sanitizer would not read the file


def inspect_answer(untrusted: object) -> InspectAnswer:
    raw = _fields(
        untrusted, frozenset({"detection", "findings", "details"}), frozenset({"refused"}), "an answer"
    )
    refused = raw.get("refused")
    if refused is not None and not (isinstance(refused, str) and refused in SANITIZE_REASONS):
        raise BadAnswer(f"the refusal {clean_text(str(refused), 40)!r} is not a reason we know")
    return InspectAnswer(
        detection(raw["detection"]), findings(raw["findings"]), details(raw["details"]), refused
    )


@dataclass(frozen=True)
class VerifyAnswer:
    detection: Detection
    findings: tuple[Finding, ...]


def verify_answer(untrusted: object) -> VerifyAnswer:
    raw = _fields(untrusted, frozenset({"detection", "findings"}), frozenset(), "an answer")
    return VerifyAnswer(detection(raw["detection"]), findings(raw["findings"]))


def decrypt_answer(untrusted: object) -> bool:
    raw = _fields(untrusted, frozenset({"decrypted"}), frozenset(), "an answer")
    if raw["decrypted"] is not True:
        raise BadAnswer("the decryption answer is not a plain yes")
    return True


def ocr_answer(untrusted: object) -> int:
    raw = _fields(untrusted, frozenset({"words"}), frozenset(), "an answer")
    return _int(raw["words"], 0, MAX_COUNT, "the number of words")


MAX_OCR_LINE = 1024


@dataclass(frozen=True)
class OcrWord:
    """One word tesseract recognised, on a page this process rendered (pixels)."""

    page: int
    left: int
    top: int
    width: int
    height: int
    text: str


def ocr_word(line: bytes, page_sizes: list[tuple[int, int]]) -> OcrWord:
    """One line of the ``ocr-words`` job's output: a word inside a page that exists."""
    if len(line) > MAX_OCR_LINE:
        raise BadAnswer("a recognised word is too long")
    raw = _fields(_json(line, "a recognised word"), frozenset({"page", "box", "text"}), frozenset(), "a word")
    page = _int(raw["page"], 0, len(page_sizes) - 1, "the page of a word")
    width_px, height_px = page_sizes[page]
    box = _list(raw["box"], 4, "a word's box")
    if len(box) != 4:
        raise BadAnswer("a word's box is not four numbers")
    left, top = _int(box[0], 0, width_px - 1, "a word's left"), _int(box[1], 0, height_px - 1, "a word's top")
    width = _int(box[2], 1, width_px - left, "a word's width")
    height = _int(box[3], 1, height_px - top, "a word's height")
    text = raw["text"]
    if not isinstance(text, str) or not 0 < len(text.strip()) <= 100 or not printable(text):
        raise BadAnswer("a recognised word is empty, too long or holds control characters")
    return OcrWord(page, left, top, width, height, text)


def printable(text: str) -> bool:
    """No control, format (bidi, zero-width), surrogate, private or unassigned character."""
    return all(unicodedata.category(c)[0] != "C" for c in text)


def selftest_answer(untrusted: object) -> dict[str, Any]:
    """The sandbox's own tests (cdr/sanitizers/selftest.py) answer with a small table."""
    return details(untrusted)


def _test_schema(op: str) -> Callable[[object], Any]:
    # a lie (cdr/sanitizers/selftest.py) stands in for a real operation, held to its schema
    if op.startswith("test:lie-ocr"):
        return ocr_answer
    return process_answer if op.startswith("test:lie-") else selftest_answer


ANSWERS: dict[str, Callable[[object], Any]] = {
    "identify": detection,
    "process": process_answer,
    "sanitize": sanitize_result,
    "inspect": inspect_answer,
    "verify": verify_answer,
    "decrypt": decrypt_answer,
    "ocr-words": ocr_answer,
    "member": detection,  # what the copied-out member is, for the parent to decide again
}


# ------------------------------------------------------------------ the envelope
@dataclass(frozen=True)
class Hello:
    """The zygote's first words: ready, and which layers it could set up."""

    seccomp: bool
    job_namespaces: bool

    def encode(self) -> bytes:
        return json.dumps(
            {"ready": True, "seccomp": self.seccomp, "job_namespaces": self.job_namespaces}
        ).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Hello:
        fields = _fields(
            _json(raw, "the zygote's greeting"),
            frozenset({"ready", "seccomp", "job_namespaces"}),
            frozenset(),
            "a greeting",
        )
        if fields["ready"] is not True:
            raise BadAnswer("the zygote is not ready")
        return cls(_bool(fields["seccomp"], "seccomp"), _bool(fields["job_namespaces"], "job namespaces"))


@dataclass(frozen=True)
class Envelope:
    """How a job ended, as the zygote saw it, and the raw bytes the job answered."""

    status: str  # exited | signaled | timeout
    value: int  # exit code or signal number
    answer: bytes

    def encode(self) -> bytes:
        header = json.dumps({"status": self.status, "value": self.value}).encode()
        return header + b"\0" + self.answer

    @classmethod
    def decode(cls, raw: bytes) -> Envelope:
        header, _, answer = raw.partition(b"\0")
        fields = _fields(
            _json(header, "the zygote's reply"), frozenset({"status", "value"}), frozenset(), "a reply"
        )
        if fields["status"] not in ("exited", "signaled", "timeout"):
            raise BadAnswer("the zygote's reply has an unknown status")
        return cls(fields["status"], _int(fields["value"], 0, 255, "the exit status"), answer)


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadAnswer(f"{what} is not JSON") from None


def _refuse_constant(name: str) -> None:
    raise ValueError(name)  # NaN and Infinity are not JSON


def read_answer(op: str, envelope: Envelope, limits: Limits) -> Any:
    """The job's answer, parsed by the schema of ``op``; or the error that ends the file."""
    if envelope.status == "timeout":
        raise SandboxTimeout(f"took longer than {limits.wall_time:g}s (wall-clock limit)")
    if envelope.status == "signaled":
        if envelope.value in (signal.SIGXCPU, signal.SIGKILL):
            raise CpuLimit(f"used more than {limits.cpu_time:g}s of CPU (killed by signal {envelope.value})")
        known = envelope.value in signal.Signals._value2member_map_
        raise SandboxCrash(
            f"the parser crashed ({signal.Signals(envelope.value).name if known else envelope.value})"
        )
    if len(envelope.answer) > MAX_ANSWER:
        raise BadAnswer(f"the answer is longer than {MAX_ANSWER} bytes")
    if envelope.value != 0:
        raise _failure(envelope)
    payload = _fields(_json(envelope.answer, "the answer"), frozenset({"result"}), frozenset(), "an answer")
    parse = _test_schema(op) if op.startswith("test:") else ANSWERS.get(op)
    if parse is None:
        raise BadAnswer(f"no schema for the operation {op!r}")
    return parse(payload["result"])


def _failure(envelope: Envelope) -> SanitizeError:
    """A job that failed: its exit code picks the error; its message is only shown."""
    message = f"the parser failed (exit {envelope.value})"
    try:
        raw = _fields(
            _json(envelope.answer, "the answer"), frozenset({"error", "message"}), frozenset(), "an error"
        )
        message = clean_text(raw["message"], MAX_MESSAGE, "the message") or message
    except BadAnswer:
        pass  # a crash that wrote half an answer still costs only this file
    return error_for_code(envelope.value, message)


# ------------------------------------------------------------------ requests
# What each operation is asked with: parameter → (type, required). The parent builds
# requests to this table and the job refuses any other (cdr/zygote.py).
_TEXT, _TABLE, _FLAG, _NUMBER = str, dict, bool, int
REQUESTS: dict[str, dict[str, tuple[type, bool]]] = {
    "identify": {"name": (_TEXT, False)},
    "process": {"name": (_TEXT, True), "policy": (_TABLE, True), "password": (_TEXT, False)},
    "sanitize": {
        "file_type": (_TEXT, True),
        "action": (_TEXT, True),
        "name": (_TEXT, True),
        "policy": (_TABLE, True),
        "password": (_TEXT, False),
        # an archive's second pass: member index → length of its converted bytes in the
        # third descriptor, in index order; member index → [error code, why not converted]
        "converted": (_TABLE, False),
        "unconverted": (_TABLE, False),
    },
    # one member of an archive copied out for the parent to convert (never by name to disk)
    "member": {
        "file_type": (_TEXT, True),
        "name": (_TEXT, True),
        "policy": (_TABLE, True),
        "index": (_NUMBER, True),
        "password": (_TEXT, False),
    },
    "inspect": {
        "name": (_TEXT, True),
        "policy": (_TABLE, True),
        "details": (_FLAG, False),
        "action": (_TEXT, False),
    },
    "verify": {"name": (_TEXT, True), "policy": (_TABLE, True), "expect": (_TEXT, True)},
    "decrypt": {"password": (_TEXT, True)},
    "ocr-words": {"pages": (_NUMBER, True)},
}


def check_request(op: str, params: dict[str, Any]) -> None:
    """Refuse parameters outside the operation's table (test operations take any)."""
    if op.startswith("test:"):
        return
    table = REQUESTS.get(op)
    if table is None:
        raise ValueError(f"no operation {op!r}")
    if unknown := set(params) - set(table):
        raise ValueError(f"{op}: unknown parameters {sorted(unknown)}")
    for key, (kind, required) in table.items():
        if key not in params:
            if required:
                raise ValueError(f"{op}: {key} is missing")
        elif not isinstance(params[key], kind) or (kind is int and isinstance(params[key], bool)):
            raise ValueError(f"{op}: {key} is not {kind.__name__}")


def job_request(
    op: str, params: dict[str, Any], limits: Limits, file_size: int, test_ops: bool, seccomp: bool = True
) -> bytes:
    """The header of one job; its descriptors travel beside it (``socket.send_fds``)."""
    check_request(op, params)
    request: dict[str, Any] = {
        "op": op,
        "params": params,
        "wall_time": limits.wall_time,
        "limits": {
            "memory": limits.memory,
            "cpu_seconds": max(1, int(limits.cpu_time)),
            "file_size": file_size,
        },
        "test_ops": test_ops,
    }
    if not seccomp:
        request["seccomp"] = False
    return json.dumps(request).encode()
