"""The sample registry: every builder module registers its samples with `@sample`.

A sample is a function that returns the hostile (or control) file's bytes. Each one names
where the attack comes from (a specification section or a public write-up), so a reader can
check that the catalogue attacks the formats, not the sanitizer's current lists.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class Expect(enum.Enum):
    """What the appliance may do with a sample; the inspector judges every release anyway."""

    SAFE = "quarantined, or released with nothing active"
    RELEASED = "released clean (a benign control: quarantining it is a usability failure)"
    QUARANTINED = "quarantined (nothing harmless could be rebuilt from it)"


Build = Callable[[Path], bytes]


@dataclass(frozen=True)
class Sample:
    name: str
    family: str  # ooxml | pdf | image | text | zip: one CLI batch per family
    attack: str  # the attack class of issue #8 §1
    suffix: str
    source: str  # the specification section or write-up the attack comes from
    build: Build
    expect: Expect = Expect.SAFE

    @property
    def filename(self) -> str:
        return self.name + self.suffix


CATALOGUE: list[Sample] = []


def sample(
    name: str, suffix: str, attack: str, source: str, expect: Expect = Expect.SAFE
) -> Callable[[Build], Build]:
    """Register a builder; the family is its module's name up to the first '_' (ooxml_word -> ooxml)."""

    def register(build: Build) -> Build:
        family = build.__module__.rsplit(".", 1)[-1].split("_")[0]
        if any(known.name == name for known in CATALOGUE):
            raise ValueError(f"two samples named {name}")
        CATALOGUE.append(Sample(name, family, attack, suffix, source, build, expect))
        return build

    return register


def load() -> list[Sample]:
    """Import every builder module (registration happens on import) and return the catalogue."""
    from tests.attacks.builders import (  # noqa: F401
        archive,
        images,
        ooxml_converted,
        ooxml_excel,
        ooxml_powerpoint,
        ooxml_word,
        pdf,
        text,
    )

    return list(CATALOGUE)


def write(samples: list[Sample], folder: Path, work: Path) -> dict[str, Path]:
    """Build each sample into `folder`; `work` is scratch space for tools (LibreOffice)."""
    folder.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    written = {}
    for item in samples:
        path = folder / item.filename
        path.write_bytes(item.build(work))
        written[item.name] = path
    return written
