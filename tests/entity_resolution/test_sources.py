"""Source records kept between loads (resolve/_records): a load that reads only the new staged files gives the
same table as a load of every staged file, and kept records that no longer fit are made again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

pytestmark = pytest.mark.slow
ENTITIES = ("person", "legal_entity", "building")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory):
    """Delivery 1 ingested and loaded (the records kept), then delivery 2 (≈1% changed) ingested."""
    from entity_resolution.sources import load_source_records
    from zhiwang.demo import generate_city
    from zhiwang.pipeline import ingest_all
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    home = tmp_path_factory.mktemp("sources")
    settings = get_settings(home, Path(__file__).resolve().parents[2] / "catalog")
    catalog = load_valid_catalog(settings.catalog_dir)
    generate_city(settings, persons=600, seed=5, delivery=1, catalog=catalog)
    ingest_all(settings, catalog)
    first = {e: load_source_records(settings, catalog, e) for e in ENTITIES}
    generate_city(settings, persons=600, seed=5, delivery=2, catalog=catalog)
    ingest_all(settings, catalog)
    return settings, catalog, first


def _fresh(settings, catalog, entity: str) -> pa.Table:  # noqa: ANN001
    """A load with nothing kept: every staged file read and standardized."""
    from entity_resolution.sources import load_source_records, records_dir

    saved = records_dir(settings, entity).with_name(f"{entity}.saved")
    shutil.rmtree(saved, ignore_errors=True)
    os.replace(records_dir(settings, entity), saved)
    try:
        return load_source_records(settings, catalog, entity)
    finally:
        shutil.rmtree(records_dir(settings, entity), ignore_errors=True)
        os.replace(saved, records_dir(settings, entity))


@pytest.mark.parametrize("entity", ENTITIES)
def test_load_of_new_files_equals_load_of_all(city, entity: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from entity_resolution import sources

    settings, catalog, first = city
    full = _fresh(settings, catalog, entity)
    read: list[int] = []
    original = sources._read_files
    monkeypatch.setattr(sources, "_read_files", lambda e, files: read.append(len(files)) or original(e, files))
    merged = sources.load_source_records(settings, catalog, entity)
    assert merged.equals(full)
    assert merged.column("record_uid").to_pylist() == sorted(merged.column("record_uid").to_pylist())
    staged = len(sources.staged_files(settings, catalog, entity))
    assert read and read[0] < staged  # only the second delivery's files were read
    if entity == "person":  # the second delivery added persons and changed others
        added = set(merged.column("record_uid").to_pylist()) - set(first[entity].column("record_uid").to_pylist())
        assert added
        batches = set(merged.column("_batch_id").to_pylist())
        assert len(batches) > len(set(first[entity].column("_batch_id").to_pylist()))
    # nothing new since: the kept table comes back as it is, no staged file read
    read.clear()
    assert sources.load_source_records(settings, catalog, entity).equals(full)
    assert read == []


def test_kept_records_that_no_longer_fit_are_made_again(city, monkeypatch: pytest.MonkeyPatch) -> None:
    from entity_resolution import sources

    settings, catalog, _ = city
    full = _fresh(settings, catalog, "person")
    folder = sources.records_dir(settings, "person")
    read: list[int] = []
    original = sources._read_files
    monkeypatch.setattr(sources, "_read_files", lambda e, files: read.append(len(files)) or original(e, files))
    staged = len(sources.staged_files(settings, catalog, "person"))

    # a staged file replaced under its name (touched: another modification time)
    path = sources.staged_files(settings, catalog, "person")[0][1]
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert sources.load_source_records(settings, catalog, "person").equals(full)
    assert read == [staged]

    # the code that makes the records changed
    read.clear()
    sources.code_version.cache_clear()
    monkeypatch.setattr(sources, "code_version", lambda: "another version")
    assert sources.load_source_records(settings, catalog, "person").equals(full)
    assert read == [staged]

    # an unreadable kept table
    read.clear()
    (folder / "records.arrow").write_bytes(b"not arrow")
    assert sources.load_source_records(settings, catalog, "person").equals(full)
    assert read == [staged]
    assert sources.load_source_records(settings, catalog, "person").equals(full)  # and kept again
    assert read == [staged]


def test_as_delivered_keeps_nothing(city) -> None:
    from entity_resolution.sources import load_source_records, records_dir

    settings, catalog, _ = city
    before = (records_dir(settings, "building") / "manifest.json").read_text(encoding="utf-8")
    raw = load_source_records(settings, catalog, "building", standardize=False)
    assert raw.num_rows == load_source_records(settings, catalog, "building").num_rows
    assert (records_dir(settings, "building") / "manifest.json").read_text(encoding="utf-8") == before
