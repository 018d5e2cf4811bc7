"""The resolve stage's own files: Arrow IPC round trip, and Parquet files of an earlier zhiwang still read."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from entity_resolution import state_files


def _table() -> pa.Table:
    provenance = pa.array([[("name", {"resource": "gongan_population", "record_key": "1", "batch_id": "b1"})], None],
                          pa.map_(pa.string(), pa.struct([("resource", pa.string()), ("record_key", pa.string()),
                                                          ("batch_id", pa.string())])))
    return pa.table({"golden_id": ["P1", "P2"], "name": ["王小明", None], "provenance": provenance})


def test_tables_round_trip_as_arrow_files(tmp_path) -> None:
    target = state_files.write(_table(), tmp_path, "golden")
    assert target.suffix == ".arrow" and state_files.exists(tmp_path, "golden")
    assert state_files.read(tmp_path, "golden").equals(_table())


def test_an_earlier_homes_parquet_files_are_read(tmp_path) -> None:
    pq.write_table(_table(), tmp_path / "xref.parquet")
    assert state_files.exists(tmp_path, "xref") and state_files.read(tmp_path, "xref").equals(_table())
    assert not state_files.exists(tmp_path, "golden")
    with pytest.raises(FileNotFoundError):
        state_files.read(tmp_path, "golden")
