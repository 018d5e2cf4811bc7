"""The generic top-level package names must import from this repository, not from a same-named package
elsewhere on the path (a test folder, another project)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["catalog", "quality", "warehouse", "connectors", "entity_resolution", "zhiwang"])
def test_package_imports_from_this_repo(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None, f"{name} resolved to a namespace package: {module.__path__}"
    assert Path(module.__file__).resolve() == REPO / name / "__init__.py"
