"""Where a cache hit is copied before its release (cdr/reuse.py, cdr/cache.py): a small kept
output into a sealed memfd, a big one into a work file; either way the bytes released are
the first run's, and an output that grew beyond its record is neither served nor copied whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cdr import reuse
from cdr.cache import Discarded, VerifiedCache
from cdr.model import Outcome
from cdr.pipeline import Pipeline
from tests.test_cache import _kept, _key, circular, drop, places  # noqa: F401 - places: the fixture with a cache


@pytest.mark.parametrize("in_memory", [True, False], ids=["memfd", "work-file"])
def test_a_hit_releases_the_first_runs_bytes_from_memory_or_from_disk(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, in_memory: bool
) -> None:
    made: list[tuple[int, bool]] = []
    real = reuse._hit_file

    def watched(size: int, work: Path | None, cleanup: object) -> tuple[int, bool]:
        made.append(real(size, work, cleanup))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(reuse, "_hit_file", watched)
    if not in_memory:
        monkeypatch.setattr(reuse, "IN_MEMORY", 100)  # every PDF here is bigger than this
    first = drop(pipeline, "soumu/circular.pdf", circular())
    second = drop(pipeline, "kikaku/circular.pdf", circular())
    assert (first.verdict, second.verdict, second.cached) == (Outcome.RELEASED, Outcome.RELEASED, True)
    assert Path(second.output).read_bytes() == Path(first.output).read_bytes()
    assert [kind for _, kind in made] == [in_memory]
    assert pipeline.places.work is not None and not list(pipeline.places.work.glob("cached-*")), "nothing left behind"


def test_an_output_that_grew_beyond_its_record_is_discarded_and_not_copied_whole(tmp_path: Path) -> None:
    store = VerifiedCache(tmp_path / "cache")
    output = tmp_path / "out"
    output.write_bytes(b"kept" * 100)
    assert store.store(_key(1), output, _kept(1), 2**20) is not None
    (entry,) = store.entries()
    with (entry.folder / "output").open("ab") as grown:
        grown.write(b"\0" * 5_000_000)
    into = os.open(tmp_path / "read", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        found = store.fetch(_key(1), into)
        copied = os.fstat(into).st_size
    finally:
        os.close(into)
    assert isinstance(found, Discarded) and "SHA-256" in found.why
    assert copied == 401, "the recorded 400 bytes and one more, to see that there are more"
    assert list(store.entries()) == []
