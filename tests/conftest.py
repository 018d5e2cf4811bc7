"""Shared fixtures: every test gets its own data home; the shipped catalog is the default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parent.parent
CITY_CATALOG = REPO / "catalog"


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ZHIWANG_HOME for the test."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("ZHIWANG_HOME", str(path))
    monkeypatch.setenv("ZHIWANG_CATALOG", str(CITY_CATALOG))
    return path


@pytest.fixture()
def settings(home: Path):
    from zhiwang.settings import get_settings

    return get_settings(home, CITY_CATALOG)
