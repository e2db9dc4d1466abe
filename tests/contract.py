"""The contract every sanitizer meets, run through the real pipeline and sandbox.

A subclass names a hostile sample (``hostile``), a way to find the planted item that does
not use the sanitizer (``planted``), and a check that the benign content survived
(``assert_benign_survived``).
"""

from __future__ import annotations

from pathlib import Path

from cdr.model import Outcome, Verdict
from cdr.pipeline import Pipeline


class SanitizerContract:
    name: str = "sample.bin"

    def hostile(self) -> bytes:
        raise NotImplementedError

    def planted(self, data: bytes) -> list[str]:
        """What an independent tool finds in ``data`` that must not cross."""
        raise NotImplementedError

    def assert_benign_survived(self, original: bytes, output: bytes) -> None:
        raise NotImplementedError

    def malformed(self) -> bytes:
        return self.hostile()[:60]

    def _run(self, pipeline: Pipeline, tmp_path: Path, data: bytes, name: str | None = None) -> Verdict:
        source = tmp_path / "in" / (name or self.name)
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(data)
        return pipeline.process(source, source.name)

    def test_planted_item_is_found_independently(self) -> None:
        assert self.planted(self.hostile()), "the hostile sample must plant something"

    def test_sanitize_removes_it_and_keeps_content(self, pipeline: Pipeline, tmp_path: Path) -> None:
        data = self.hostile()
        verdict = self._run(pipeline, tmp_path, data)
        assert verdict.verdict == Outcome.RELEASED, verdict
        output = Path(verdict.output).read_bytes()
        assert self.planted(output) == []
        self.assert_benign_survived(data, output)
        assert verdict.actions, "the result must say what was done"

    def test_second_pass_changes_nothing_more(self, pipeline: Pipeline, tmp_path: Path) -> None:
        first = self._run(pipeline, tmp_path, self.hostile())
        output = Path(first.output).read_bytes()
        second = self._run(pipeline, tmp_path / "again", output, Path(first.output).name)
        assert second.verdict == Outcome.RELEASED
        removed = [a for a in second.actions if a["action"] in ("removed", "neutralised")]
        assert removed == [], f"a second pass still removed {removed}"

    def test_malformed_input_is_quarantined(self, pipeline: Pipeline, tmp_path: Path) -> None:
        verdict = self._run(pipeline, tmp_path, self.malformed())
        assert verdict.verdict == Outcome.QUARANTINED
        assert verdict.reason in (
            "malformed",
            "sanitize-failed",
            "blocked-type",
            "unsupported-type",
            "extension-mismatch",
        )
