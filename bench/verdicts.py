"""Same corpus, two versions of cdr: do they reach the same verdicts?

    python bench/verdicts.py --before 4b22dbb            # that commit against the work tree
    python bench/verdicts.py --before v1 --after HEAD    # two commits

Each side is a copy of the tree (``git archive`` of a commit, or the work tree itself)
that sanitizes every file of the bench corpus with the default policy through
``cli.py sanitize --json``. The result lines are compared minus what differs on every run
by design: ids, durations, and the paths of the scratch folders. Exits 0 when the
verdicts agree, 1 with the differences otherwise.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("CDR_BENCH_CORPUS", ROOT.parent / "shared" / "bench-corpus"))
# Fields that name a run rather than a verdict.
VOLATILE = ("id", "quarantine_id", "duration_ms", "output_sha256")


def _tree(rev: str | None, into: Path) -> Path:
    """The source tree of ``rev`` (a commit) or of the work tree when ``rev`` is None."""
    if rev is None:
        return ROOT
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev], check=True, capture_output=True
    ).stdout
    target = into / "src"
    target.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def _inputs() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file())


def _run(tree: Path, scratch: Path) -> dict[str, dict[str, Any]]:
    """Sanitize the corpus with the cdr in ``tree``; its result lines by input name."""
    out, quarantine = scratch / "out", scratch / "quarantine"
    command = [
        sys.executable,
        "cli.py",
        "sanitize",
        *map(str, _inputs()),
        "--out",
        str(out),
        "--quarantine",
        str(quarantine),
        "--audit",
        str(scratch / "audit.jsonl"),
        "--json",
    ]
    # cwd first on sys.path: the tree's own cdr package wins over the installed one
    env = {**os.environ, "PYTHONPATH": str(tree), "CDR_CONFIG": "/dev/null"}
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{tree}: exit {done.returncode}\n{done.stderr[-2000:]}")
    lines: dict[str, dict[str, Any]] = {}
    for line in done.stdout.splitlines():
        result = json.loads(line)
        for key in VOLATILE:
            result.pop(key, None)
        if result.get("output"):
            result["output"] = str(Path(result["output"]).relative_to(out))
        lines[result["input"]] = result
    return lines


def _differences(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[str]:
    found = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old != new:
            found.append(f"{name}\n  before: {json.dumps(old, ensure_ascii=False)}\n"
                         f"  after:  {json.dumps(new, ensure_ascii=False)}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="a commit")
    parser.add_argument("--after", help="a commit (default: the work tree)")
    args = parser.parse_args()
    results = []
    for rev in (args.before, args.after):
        with tempfile.TemporaryDirectory(prefix="cdr-verdicts-") as scratch:
            results.append(_run(_tree(rev, Path(scratch)), Path(scratch)))
    before, after = results
    differences = _differences(before, after)
    released = sum(r["verdict"] == "released" for r in after.values())
    print(f"{len(after)} files; after: {released} released, {len(after) - released} quarantined")
    for difference in differences:
        print(difference)
    print("same verdicts" if not differences else f"{len(differences)} files differ")
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
