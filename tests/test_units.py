"""Durations and sizes are read one way by the policy, the config file and the CLI."""

from __future__ import annotations

import pytest

from cdr.units import duration, size


@pytest.mark.parametrize(
    ("given", "bare", "seconds"),
    [
        ("500ms", "s", 0.5),
        ("90s", "s", 90.0),
        (" 2.5 m ", "s", 150.0),
        ("12h", "s", 43200.0),
        ("30d", "s", 2592000.0),
        (3, "s", 3.0),
        (0.25, "s", 0.25),
        ("2", "s", 2.0),
        ("30", "d", 2592000.0),  # purge --older-than 30
        (7, "d", 604800.0),
    ],
)
def test_durations(given: object, bare: str, seconds: float) -> None:
    assert duration(given, bare=bare) == seconds


@pytest.mark.parametrize("given", ["soon", "", "0", "0s", 0, -5, "-5s", "3 weeks", "1e3", True, None, "5 S"])
def test_what_is_not_a_duration_says_what_is(given: object) -> None:
    with pytest.raises(ValueError) as caught:
        duration(given)
    assert str(caught.value) == (
        f"{given!r} is not a duration (allowed: a number above zero with ms, s, m, h or d, "
        "such as 90s, 30m or 30d; a bare number means seconds)"
    )


def test_zero_only_where_the_caller_allows_it() -> None:
    assert duration("0", bare="d", zero=True) == 0.0
    with pytest.raises(ValueError, match=r"allowed: a number zero or more .* a bare number means days"):
        duration("-1", bare="d", zero=True)


@pytest.mark.parametrize(
    ("given", "expected"),
    [(512, 512), ("512", 512), ("2 KB", 2000), ("2KiB", 2048), ("1.5 gib", 1610612736), ("1 TiB", 2**40)],
)
def test_sizes(given: object, expected: int) -> None:
    assert size(given) == expected


@pytest.mark.parametrize("given", ["lots", 0, -1, "1 PB", True, 1.5])
def test_what_is_not_a_size(given: object) -> None:
    with pytest.raises(ValueError, match=r"is not a size \(allowed: a positive number with B, KB"):
        size(given)
