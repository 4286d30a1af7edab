"""The wheel holds every subpackage: CI and users install non-editable (``pip install .``), where a package
missing from pyproject's list is a ModuleNotFoundError that an editable install hides."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_python_package_folder_is_in_the_wheel():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = set()
    for package, folder in setuptools["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            name = ".".join([package, *rel.parts])
            # a nested folder that is itself mapped to a package is listed under that name
            if not any(f != folder and (ROOT / f) == init.parent for f in setuptools["package-dir"].values()):
                found.add(name)
    assert found - listed == set(), "packages missing from pyproject.toml [tool.setuptools] packages"
