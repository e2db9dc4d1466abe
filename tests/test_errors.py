"""Errors cross the sandbox as exit codes, and the codes are found by walking the tree."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from cdr import errors
from cdr.errors import JOB_DIED, SANITIZE_ERRORS, SandboxCrash, SanitizeError, error_for_code


def _every_subclass(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _every_subclass(sub)
    return found


def _import_every_module() -> None:
    """Every module of the package, so that a SanitizeError subclass defined outside
    cdr/errors.py (which the code registry, built when cdr.errors is imported, never sees)
    is found whatever ran before — it was found only when an earlier test imported it."""
    import importlib
    import pkgutil

    import cdr

    for module in pkgutil.walk_packages(cdr.__path__, "cdr."):
        importlib.import_module(module.name)


def test_every_sanitize_error_has_its_own_code_an_exit_status_can_carry() -> None:
    _import_every_module()
    classes = {SanitizeError, *_every_subclass(SanitizeError)}
    assert set(SANITIZE_ERRORS.values()) == classes
    for code, cls in SANITIZE_ERRORS.items():
        assert cls.code == code and 1 <= code <= 255 and code != JOB_DIED
        assert "code" in vars(cls) and cls.reason in errors.SANITIZE_REASONS


@pytest.mark.parametrize(
    "cls", sorted(SANITIZE_ERRORS.values(), key=lambda c: c.code), ids=lambda c: c.__name__
)
def test_a_code_comes_back_as_its_class(cls: type[SanitizeError]) -> None:
    error = error_for_code(cls.code, "what the child said")
    assert type(error) is cls and str(error) == "what the child said"


@pytest.mark.parametrize("code", [0, 1, 9, 27, JOB_DIED, 255, -1])
def test_an_unknown_code_is_a_crash(code: int) -> None:
    assert type(error_for_code(code, "x")) is SandboxCrash


@pytest.fixture
def forgotten() -> Iterator[None]:
    """Classes a test defines are dropped again, so the tree is as it was for the next test."""
    yield
    gc.collect()
    assert errors._by_code() == SANITIZE_ERRORS


@pytest.mark.usefixtures("forgotten")
@pytest.mark.parametrize("code", [None, 11, 0, 256, JOB_DIED])
def test_a_new_class_without_a_fresh_code_stops_the_import(code: int | None) -> None:
    attributes = {"reason": "new"} if code is None else {"reason": "new", "code": code}
    new = type("NewError", (errors.MalformedInput,), attributes)  # a grandchild: found too
    with pytest.raises(TypeError, match="NewError"):
        errors._by_code()
    del new


@pytest.mark.usefixtures("forgotten")
def test_a_new_class_with_a_fresh_code_is_found() -> None:
    new = type("NewError", (errors.LimitExceeded,), {"reason": "new", "code": 200})
    assert errors._by_code()[200] is new
    del new
