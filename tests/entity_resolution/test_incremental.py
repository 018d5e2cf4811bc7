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


@pytest.mark.parametrize("entity", sorted(MATCHERS))
def test_records_standardized_in_parts_by_two_processes_equal_one_pass(city: Path, entity: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    from entity_resolution import incremental
    from entity_resolution.models.common import demo_records

    frame = demo_records(city, entity, Path(__file__).resolve().parents[2] / "catalog").rename(
        columns={"record_id": "record_uid"})
    records = pa.Table.from_pandas(frame, preserve_index=False)
    records = records.append_column("fingerprint", incremental.fingerprints(entity, records))
    monkeypatch.setenv("ZHIWANG_STANDARDIZE_WORKERS", "1")
    one = incremental._standardized(records, entity)
    monkeypatch.setattr(incremental, "PARALLEL_MIN_RECORDS", 10)
    monkeypatch.setattr("entity_resolution.standardize._pool.available_cpus", lambda limit=2: 1)  # the env decides
    monkeypatch.setenv("ZHIWANG_STANDARDIZE_WORKERS", "3")
    from entity_resolution.standardize import _pool

    started = []
    real = _pool.map_chunks
    monkeypatch.setattr(_pool, "map_chunks", lambda *a: started.append(real(*a)) or started[-1])
    three = incremental._standardized(records, entity)
    assert started and started[0] is not None  # the helpers did run (a failure falls back to one process)
    assert three.num_rows == records.num_rows > 30
    assert three.equals(one)
    monkeypatch.setenv("ZHIWANG_STANDARDIZE_WORKERS", "many")
    from zhiwang.errors import ConfigError

    with pytest.raises(ConfigError, match="ZHIWANG_STANDARDIZE_WORKERS='many'"):
        incremental._standardized(records, entity)
