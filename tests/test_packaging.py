"""`pip install .` (the appliance's install, systemd/install.sh) carries every package of cdr."""

from __future__ import annotations

import tomllib
from pathlib import Path

import setuptools

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_under_cdr_is_installed() -> None:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        find = tomllib.load(handle)["tool"]["setuptools"]["packages"]["find"]
    installed = set(setuptools.find_packages(str(ROOT), include=find["include"]))
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "cdr").rglob("__init__.py")}
    assert {"cdr.daemon", "cdr.converters", "cdr.sanitizers", "cdr.verifiers"} <= on_disk
    assert on_disk <= installed, on_disk - installed
