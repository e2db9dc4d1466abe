"""`cdr scan`: what a file holds and what the policy would do, changing nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cdr.decide import decide
from cdr.errors import SanitizeError
from cdr.pipeline import open_untrusted
from cdr.policy import Policy
from cdr.sandbox import Sandbox
from cdr.wire import InspectAnswer


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
