"""Verify an output before release: a fresh sandboxed child re-identifies it and holds it
against the allow-list of the type the parent's decision promised (``cdr.verifiers``);
anything not on that list is a failure. The output was written by a child that parsed
hostile input, so it is treated as untrusted too, and the child's report is bounded."""

from __future__ import annotations

import os
from typing import Any

from cdr.errors import VerificationFailed
from cdr.model import EXTENSION_MISMATCH, Decision, Detection, FileType, Finding, SanitizeResult
from cdr.policy import Policy
from cdr.sandbox import Sandbox
from cdr.wire import VerifyAnswer

# Outputs that a second detector may name either way without meaning anything: a text
# file may turn out to be a table, and a table is text.
_EQUIVALENT = {FileType.CSV: {FileType.CSV, FileType.TEXT}, FileType.TEXT: {FileType.TEXT, FileType.CSV}}


def promised_type(decision: Decision) -> FileType | None:
    """What the decision says the output is; None when only the content can tell (an
    encrypted Office package, whose inside is known after decryption)."""
    return decision.output_type if decision.output_type not in (None, FileType.UNKNOWN) else None


def keeps_promise(made: FileType, promised: FileType) -> bool:
    return made in _EQUIVALENT.get(promised, {promised})


def verify_output(
    sandbox: Sandbox,
    output_fd: int,
    name: str,
    decision: Decision,
    result: SanitizeResult,
    policy: Policy,
    policy_json: dict[str, Any],
) -> tuple[Detection, list[Finding]]:
    size = os.fstat(output_fd).st_size
    if size == 0:
        raise VerificationFailed("the sanitizer produced an empty file")
    if size > policy.limits.max_output_size:
        raise VerificationFailed(f"the output is larger than {policy.limits.max_output_size} bytes")
    promised = promised_type(decision)
    if promised is not None and not keeps_promise(result.output_type, promised):
        raise VerificationFailed(
            f"the sanitizer made {result.output_type.value}, the policy promised {promised.value}"
        )
    expected = promised or result.output_type
    answer: VerifyAnswer = sandbox.run(
        "verify", {"name": name, "policy": policy_json, "expect": expected.value}, [output_fd], policy.limits
    )
    detection, findings = answer.detection, list(answer.findings)
    if not keeps_promise(detection.file_type, expected):
        raise VerificationFailed(f"the output is {detection.file_type.value}, expected {expected.value}")
    if detection.encrypted:
        raise VerificationFailed("the output is encrypted")
    leftover = [f for f in (*detection.findings, *findings) if f.kind != EXTENSION_MISMATCH]
    if leftover:
        described = "; ".join(f"{f.kind}: {f.detail}" if f.detail else f.kind for f in leftover[:5])
        raise VerificationFailed(f"not on the allow-list: {described}")
    return detection, findings
