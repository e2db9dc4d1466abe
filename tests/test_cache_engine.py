"""The engine part of a cache key (cdr.cache.engine_digest): the programs on disk are
fingerprinted at most once a second, not at every file, and an upgrade is still seen."""

from __future__ import annotations

import time

import pytest

from cdr import cache, engine
from cdr.cache import CacheKey


def _engine_of_a_key() -> str:
    return CacheKey.of("a" * 64, "b" * 64, "circular.pdf").engine


def test_the_programs_are_fingerprinted_once_a_second_and_an_upgrade_is_seen_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    on_disk = {"libreoffice": "7.4", "tesseract": "5.3", "magic.mgc": "5.44"}
    looks: list[dict[str, str]] = []

    def programs() -> dict[str, str]:
        looks.append(dict(on_disk))
        return dict(on_disk)

    engine.version()  # what the process loaded, read once at its start (programs included)
    monkeypatch.setattr(engine, "programs", programs)
    monkeypatch.setattr(cache, "_engine_taken", None)
    monkeypatch.setattr(cache, "ENGINE_SECONDS", 0.3)
    before = _engine_of_a_key()
    assert [_engine_of_a_key() for _ in range(20)] == [before] * 20
    assert len(looks) == 1, "one look at the disk for twenty-one files within the second"
    on_disk["libreoffice"] = "7.5"  # a package upgrade while the service runs
    time.sleep(0.35)
    after = _engine_of_a_key()
    assert after != before and len(looks) == 2
    assert after == engine.digest(), "the same digest as the engine's own, taken now"


def test_another_loaded_engine_is_seen_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "_engine_taken", None)
    before = _engine_of_a_key()
    newer = {**engine.version(), "pikepdf": "99.0.0"}
    monkeypatch.setattr(engine, "version", lambda: newer)
    assert _engine_of_a_key() != before
