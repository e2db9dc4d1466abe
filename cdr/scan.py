"""`cdr scan`: what a file holds and what the policy would do, changing nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cdr.decide import decide
from cdr.errors import SanitizeError
from cdr.names import display
from cdr.notices import type_words
from cdr.pipeline import open_untrusted
from cdr.policy import Policy
from cdr.reasons import in_japanese as reason_ja
from cdr.removals import OTHER_JA
from cdr.removals import in_japanese as removal_ja
from cdr.sandbox import Sandbox
from cdr.wire import InspectAnswer

# What the policy would do, in the administrator's Japanese (the code stays beside it)
WOULD_JA: dict[str, str] = {
    "rebuild": "作り直して届けます",
    "pixels": "画像にして届けます",
    "text": "文字だけにして届けます",
    "block": "届けません",
    "quarantine": "隔離します",
}
# Finding kinds that are no removal code (removals.WORDS_JA names those), in Japanese
FINDINGS_JA: dict[str, str] = {
    "macro-enabled-type": "マクロ付きの形式",
    "extension-mismatch": "名前と中身の不一致",
    "javascript": "JavaScript",
    "submit-form": "入力内容を送信する動作",
    "launch": "プログラムを起動する動作",
    "encrypted": "暗号化",
}


def scan_file(sandbox: Sandbox, path: Path, relative: str, policy: Policy) -> dict[str, Any]:
    report: dict[str, Any] = {
        "input": relative,
        "type": None,
        "mime": None,
        "findings": [],
        "would": "quarantine",
        "reason": None,
    }
    try:
        fd = open_untrusted(path)
    except SanitizeError as exc:
        report["reason"] = exc.reason
        return report
    except OSError as exc:
        report["reason"] = f"unreadable: {exc.strerror}"
        return report
    try:
        report["size"] = os.fstat(fd).st_size
        answer: InspectAnswer = sandbox.run(
            "inspect", {"name": path.name, "policy": policy.to_json(), "details": True}, [fd], policy.limits
        )
        detection = answer.detection
        report.update(
            type=detection.file_type.value,
            mime=detection.mime,
            description=detection.description,
            encrypted=detection.encrypted,
        )
        report["findings"] = [f.to_json() for f in (*detection.findings, *answer.findings)]
        # a refusal shows in the details as it always has; the parent reads it from its field
        report["details"] = answer.details if answer.refused is None else {"refused": answer.refused}
        if answer.refused is not None:
            report["reason"] = answer.refused
        else:
            report["would"] = decide(detection, policy).action.value
    except SanitizeError as exc:
        report["reason"] = f"{exc.reason}: {exc}"
    finally:
        os.close(fd)
    return report


def scan_text(report: dict[str, Any], japanese: bool) -> str:
    """The report of one file for the terminal. In Japanese: the type, the decision, the reason
    and each finding in words with its code beside, and none of the parsers' own English (that
    is in the English text and in --json)."""
    if not japanese:
        return _english_text(report)
    kind = report.get("type")
    type_ja = type_words(str(kind) if kind else None)[0]
    would = report["would"]
    head = f"{display(report['input'])}: {type_ja} ({kind or '-'}) → ポリシーの判断: {WOULD_JA.get(would, would)} ({would})"
    reason = str(report.get("reason") or "").partition(":")[0]
    lines = [head] + ([f"    理由: {reason_ja(reason, kind)} [{reason}]"] if reason else [])
    for finding in report["findings"]:
        code = str(finding["kind"])
        count = f" ×{finding['count']}" if finding.get("count", 1) > 1 else ""
        suspicious = "（要注意）" if finding.get("suspicious") else ""
        lines.append(f"    {_finding_ja(code)}{count} [{display(code)}]{suspicious}")
    return "\n".join(lines)


def _finding_ja(code: str) -> str:
    words = FINDINGS_JA.get(code) or removal_ja(code)
    return display(code) if words == OTHER_JA else words


def _english_text(report: dict[str, Any]) -> str:
    lines = [
        f"{display(report['input'])}: {report['type']} ({display(report.get('mime') or '')})"
        f" → policy: {report['would']}" + (f" ({report['reason']})" if report.get("reason") else "")
    ]
    for finding in report["findings"]:
        count = f" ×{finding['count']}" if finding.get("count", 1) > 1 else ""
        suspicious = "; suspicious" if finding.get("suspicious") else ""  # what the default policy holds
        detail = display(finding.get("detail") or "")
        lines.append(f"    {finding['kind']}{count}" + (f": {detail}" if detail else "") + suspicious)
    for key, value in (report.get("details") or {}).items():
        lines.append(f"    {key}: {value}")
    return "\n".join(lines)
