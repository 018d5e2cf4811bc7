"""upsert_table's delete-and-append path, with few and with many deleted keys."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from warehouse import delta_io


@pytest.mark.parametrize("max_in_list", [10_000, 3])  # keys named in the delete, or deleted through a merge
def test_delete_append_leaves_exactly_the_new_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      max_in_list: int) -> None:
    monkeypatch.setattr(delta_io, "MAX_IN_LIST", max_in_list)
    path = tmp_path / "person"
    first = pa.table({"golden_id": [f"P{i:03d}" for i in range(20)], "name": [f"n{i}" for i in range(20)]})
    delta_io.upsert_table(path, first, ("golden_id",), {"zhiwang.release": "1"}, method="delete_append")
    # 5 updated, 4 deleted (O'Brien-style quotes must survive the literal list), 2 inserted
    rows = {r["golden_id"]: r["name"] for r in first.to_pylist()}
    rows.update({f"P{i:03d}": f"changed{i}" for i in range(5)})
    for i in range(5, 9):
        del rows[f"P{i:03d}"]
    rows.update({"P'100": "new", "P101": "new2"})
    second = pa.table({"golden_id": list(rows), "name": list(rows.values())})
    version = delta_io.upsert_table(path, second, ("golden_id",), {"zhiwang.release": "2"}, method="delete_append")
    got = DeltaTable(str(path), version=version).to_pyarrow_table().sort_by("golden_id")
    assert got.to_pylist() == second.sort_by("golden_id").to_pylist()
