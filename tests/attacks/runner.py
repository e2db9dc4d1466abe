"""Run samples through the CLI the way an operator does, one subprocess per batch.

Shared by the catalogue test, the fuzz test and `python -m tests.attacks.runner` (the
verdict table for a report).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "cli.py"
UNSAFE = "released-with-active-content"


@dataclass
class Batch:
    """What one `cdr sanitize --json` run over a folder of inputs said and left behind."""

    folder: Path
    returncode: int
    stderr: str
    seconds: float
    results: dict[str, dict] = field(default_factory=dict)  # input file name -> result line

    def output(self, name: str) -> Path | None:
        result = self.results.get(name, {})
        if result.get("verdict") != "released" or not result.get("output"):
            return None
        return self.folder / result["output"]


def sanitize(
    folder: Path, names: list[str], timeout: float = 900, policy: Path | None = None, tag: str | None = None
) -> Batch:
    """`cli.py sanitize NAMES --out out --quarantine quarantine --audit audit.jsonl --json`, run in `folder`;
    with a tag, everything goes to folders named after it (out-strict/…) beside other runs' over the same
    inputs (the tag is the policy's name unless given)."""
    if tag is None:
        tag = f"-{policy.stem}" if policy else ""
    command = [sys.executable, str(CLI), "sanitize", *names, "--out", f"out{tag}", "--quarantine", f"quarantine{tag}",
               "--audit", f"audit{tag}.jsonl", "--spool", f"spool{tag}", "--json"]  # fmt: skip
    if policy:
        command += ["--policy", str(policy)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CDR_")}
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=timeout, env=environment
    )
    batch = Batch(folder, done.returncode, done.stderr, time.monotonic() - started)
    for line in done.stdout.splitlines():
        try:
            result = json.loads(line)
        except json.JSONDecodeError:
            continue  # a non-JSON line is the batch summary or noise; the test checks every input has a result
        if isinstance(result, dict) and "input" in result:
            batch.results[Path(str(result["input"])).name] = result
    return batch


def merged(parts: list[Batch]) -> Batch:
    """Several runs over one folder read as one: every result line, every stderr, and the exit
    status that says most (anything but 0 or 1 first, then 1)."""
    codes = [part.returncode for part in parts]
    odd = [code for code in codes if code not in (0, 1)]
    whole = Batch(
        parts[0].folder,
        odd[0] if odd else max(codes),
        "\n".join(part.stderr for part in parts),
        sum(part.seconds for part in parts),
    )
    for part in parts:
        whole.results.update(part.results)
    return whole


def sanitize_side_by_side(folder: Path, names: list[str], runs: int = 2) -> Batch:
    """The names dealt round-robin to ``runs`` CLI runs at once over one folder (each writes into
    out-N/, quarantine-N/…), read as one batch: one run keeps only one of the two cores busy."""
    with ThreadPoolExecutor(max_workers=runs) as pool:
        parts = [pool.submit(sanitize, folder, names[n::runs], tag=f"-{n}") for n in range(runs) if names[n::runs]]
        return merged([part.result() for part in parts])


def main() -> None:
    """Print the verdict table of the whole catalogue against the current tree."""
    import tempfile

    from tests.attacks import builders, inspector

    samples = builders.load()
    tally: dict[str, Counter[str]] = {}
    with tempfile.TemporaryDirectory(prefix="cdr-attacks-") as scratch:
        root = Path(scratch)
        for family in sorted({s.family for s in samples}):
            members = [s for s in samples if s.family == family]
            paths = builders.write(members, root / family, root / "work")
            batch = sanitize(root / family, [p.name for p in paths.values()])
            print(f"# {family}: {len(members)} samples, {batch.seconds:.1f}s, exit {batch.returncode}")
            for item in members:
                result = batch.results.get(item.filename, {})
                verdict = result.get("verdict", "NO RESULT")
                output = batch.output(item.filename)
                findings = inspector.inspect(output) if output else []
                label = UNSAFE if findings else ("released-clean" if verdict == "released" else verdict)
                reason = result.get("reason") or ""
                tally.setdefault(item.attack, Counter())[label] += 1
                print(f"{item.attack}\t{item.name}\t{label}\t{reason}\t{'; '.join(findings)[:400]}")
    print("# per attack class: quarantined / released-clean / released-with-active-content / other")
    for attack, counts in sorted(tally.items()):
        other = sum(counts.values()) - counts["quarantined"] - counts["released-clean"] - counts[UNSAFE]
        print(f"# {attack}\t{counts['quarantined']}\t{counts['released-clean']}\t{counts[UNSAFE]}\t{other}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
