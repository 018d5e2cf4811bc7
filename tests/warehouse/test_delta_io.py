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


def _people(ids: list[int], names: dict[int, str | None], days: dict[int, int | None]) -> pa.Table:
    return pa.table({"golden_id": pa.array([f"P{i:04d}" for i in ids], pa.string()),
                     "name": pa.array([names[i] for i in ids], pa.string()),
                     "birth_date": pa.array([days[i] for i in ids], pa.int32()).cast(pa.date32())})


@pytest.mark.parametrize("seed", range(6))
def test_row_delta_on_a_callers_connection_equals_its_own(seed: int) -> None:
    import numpy as np

    from warehouse.diff import row_delta
    from zhiwang import duck

    rng = np.random.default_rng(seed)
    n = [0, 1, 30, 200, 200, 500][seed]
    old_ids = [int(i) for i in rng.permutation(n * 2)[:n]]
    names = {i: (None if rng.random() < 0.1 else f"n{i}") for i in range(n * 3)}
    days = {i: (None if rng.random() < 0.1 else int(rng.integers(0, 20000))) for i in range(n * 3)}
    old = _people(old_ids, names, days)
    kept = [i for i in old_ids if rng.random() > 0.2]  # about a fifth deleted
    new_ids = kept + [int(i) for i in range(n * 2, n * 2 + int(rng.integers(0, n + 1)))]  # some inserted
    new_ids = [new_ids[i] for i in rng.permutation(len(new_ids))]
    changed_names = dict(names)
    changed_days = dict(days)
    for i in new_ids:  # some updated: a value changed, set to null or set from null
        roll = rng.random()
        if roll < 0.1:
            changed_names[i] = None if names[i] is not None else "was null"
        elif roll < 0.2:
            changed_days[i] = (days[i] or 0) + 1
    new = _people(new_ids, changed_names, changed_days)
    expected = row_delta(new, old, ("golden_id",))
    con = duck.connect()
    try:
        got = row_delta(new, old, ("golden_id",), con=con)
        again = row_delta(new, old, ("golden_id",), con=con)  # the connection is left clean for the next diff
    finally:
        con.close()
    assert got.schema == expected.schema and again.equals(got)
    if n >= 200:
        assert set(expected.column("_op").to_pylist()) == {"I", "U", "D"}
    assert got.to_pylist() == expected.to_pylist()  # the same rows in the same order


def _feed(path: Path, start: int) -> list[dict]:
    feed = pa.table(DeltaTable(str(path)).load_cdf(starting_version=start).read_all()).drop(["_commit_timestamp"])
    rows = [{k: (str(v) if v is not None else None) for k, v in r.items()} for r in feed.to_pylist()]
    return sorted(rows, key=lambda r: sorted((k, v or "") for k, v in r.items()))


def test_upsert_keyed_commits_what_upsert_table_with_a_scope_commits(tmp_path: Path) -> None:
    import pyarrow.compute as pc

    from warehouse.diff import row_hashes

    names = {i: f"n{i}" for i in range(200)}
    days = dict.fromkeys(range(200), 100)
    first = _people(list(range(100)), names, days)
    # in the scope (60-99, 150-159): 60-69 updated, 75-89 unchanged, 70-74 and 90-99 deleted, 150-159 new;
    # rows out of the scope (0-59) are not handed over and must stay
    scope = pa.array([f"P{i:04d}" for i in [*range(60, 100), *range(150, 160)]])
    changed = {**names, **{i: f"moved{i}" for i in range(60, 70)}}
    second = _people([*range(75, 90), *range(150, 160), *range(60, 70)], changed, days)
    paths = {how: tmp_path / how for how in ("table", "keyed")}
    for path in paths.values():
        delta_io.upsert_table(path, first, ("golden_id",), {"zhiwang.release": "1"})
    meta = {"zhiwang.release": "2"}
    v_table = delta_io.upsert_table(paths["table"], second, ("golden_id",), meta, scope=pc.field("golden_id").isin(scope))
    v_keyed, delta = delta_io.upsert_keyed(paths["keyed"], second, "golden_id", meta, scope,
                                           row_hashes(second, ("golden_id",)))
    assert v_keyed == v_table == 1
    assert sorted(delta.column("_op").to_pylist()) == ["D"] * 15 + ["I"] * 10 + ["U"] * 10
    for version in (0, 1):
        assert (DeltaTable(str(paths["keyed"]), version=version).to_pyarrow_table().sort_by("golden_id")
                .equals(DeltaTable(str(paths["table"]), version=version).to_pyarrow_table().sort_by("golden_id")))
    assert DeltaTable(str(paths["keyed"])).count() == 60 + 15 + 10 + 10
    assert _feed(paths["keyed"], 1) == _feed(paths["table"], 1)
    assert DeltaTable(str(paths["keyed"])).history(1)[0]["operation"] == "MERGE"
    # nothing changed: no commit, like upsert_table
    assert delta_io.upsert_keyed(paths["keyed"], second, "golden_id", meta, scope)[0] == 1
