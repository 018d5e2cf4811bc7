"""The standardizers read only the fields incremental.MATCH_INPUTS lists (only those go through pandas)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from entity_resolution.incremental import MATCH_INPUTS, MATCHERS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from zhiwang.demo import generate_city
    from zhiwang.settings import get_settings

    home = tmp_path_factory.mktemp("city")
    generate_city(get_settings(home, Path(__file__).resolve().parents[2] / "catalog"), persons=400, seed=4)
    return home


@pytest.mark.parametrize("entity", sorted(MATCHERS))
def test_match_inputs_are_all_the_standardizer_reads(city: Path, entity: str) -> None:
    from catalog.canonical import CANONICAL_FIELDS
    from entity_resolution.models.common import demo_records

    module_name, standardize_name, _ = MATCHERS[entity]
    standardize = getattr(importlib.import_module(module_name), standardize_name)
    records = demo_records(city, entity, Path(__file__).resolve().parents[2] / "catalog")
    for field in CANONICAL_FIELDS[entity]:  # every canonical field present, so a missing input would show
        if field not in records:
            records[field] = None
    full = standardize(records, id_column="record_id")
    selected = standardize(records[["record_id", *MATCH_INPUTS[entity]]], id_column="record_id")
    assert set(MATCH_INPUTS[entity]) <= set(CANONICAL_FIELDS[entity])
    assert full.equals(selected)
    assert full.notna().any().sum() >= 4  # the comparison is not between two empty frames
