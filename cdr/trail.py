"""One file's steps in the audit log, each under the policy the file runs with.

The daemon may swap its policy (SIGHUP) while a file is on its way; the file keeps the
policy it started with, and so do its audit records and its quarantine entry. Records
that belong to no file (daemon-started, policy-reloaded) name the log's current policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdr.audit import AuditLog
from cdr.model import Verdict
from cdr.policy import Policy


@dataclass(frozen=True)
class Trail:
    log: AuditLog
    verdict: Verdict  # read at each step: the hash is known only after the first read
    policy: Policy

    def step(self, event: str, **fields: Any) -> None:
        verdict = self.verdict
        self.log.append(
            event,
            verdict.id,
            verdict.input,
            verdict.sha256,
            policy=self.policy.name,
            policy_sha256=self.policy.sha256,
            **fields,
        )
