"""Fixtures for the connector tests: a small catalog of our own (one resource, 民政 elderly allowance)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.connectors.test_runner import DEPARTMENTS, DISTRICTS, RESOURCE


@pytest.fixture()
def own_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "other_city"
    (root / "resources").mkdir(parents=True)
    (root / "departments.yaml").write_text(DEPARTMENTS, encoding="utf-8")
    (root / "districts.yaml").write_text(DISTRICTS, encoding="utf-8")
    (root / "core_fields.yaml").write_text("{}\n", encoding="utf-8")
    (root / "resources" / "minzheng_elderly.yaml").write_text(yaml.safe_dump(RESOURCE, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("ZHIWANG_CATALOG", str(root))
    return root
