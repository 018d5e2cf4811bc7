"""``updated`` changes between two golden tables, against the SQL they were first written as."""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from catalog.canonical import CANONICAL_FIELDS
from entity_resolution.golden import FIELD_TYPES, _updated

ENTITY = "building"


def _golden(rng: random.Random, ids: list[str], status: str = "active") -> pa.Table:
    fields = CANONICAL_FIELDS[ENTITY]
    columns: dict[str, pa.Array] = {"golden_id": pa.array(ids, pa.string())}
    for f in fields:
        kind = FIELD_TYPES.get(f, pa.string())
        def value(f: str = f, kind: pa.DataType = kind) -> object:
            if rng.random() < 0.3:
                return None
            if kind == pa.date32():
                return dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(3))
            if kind == pa.float64():
                return rng.choice([113.5, 113.25, 0.1 + 0.2])
            if kind == pa.int32():
                return rng.randrange(3)
            return rng.choice(["甲", "乙", ""])
        columns[f] = pa.array([value() for _ in ids], kind)
    columns["status"] = pa.array([status] * len(ids), pa.string())
    return pa.table(columns)


def _reference(values: pa.Table, old: pa.Table) -> set[tuple[str, tuple[str, ...]]]:
    fields = CANONICAL_FIELDS[ENTITY]
    con = duckdb.connect()
    con.register("c_new", values)
    con.register("c_old", old.filter(pc.equal(old["status"], "active")))
    diffs = ", ".join(f"CASE WHEN CAST(n.\"{f}\" AS VARCHAR) IS DISTINCT FROM CAST(o.\"{f}\" AS VARCHAR) "
                      f"THEN '{f}' END" for f in fields)
    rows = con.sql(f"""SELECT * FROM (SELECT n.golden_id, list_filter([{diffs}], lambda x: x IS NOT NULL) AS fields
                       FROM c_new n JOIN c_old o USING (golden_id)) WHERE len(fields) > 0""").fetchall()
    return {(g, tuple(f)) for g, f in rows}


def test_updated_fields_match_the_sql_definition() -> None:
    rng = random.Random(5)
    ids = [f"B{i:04d}" for i in range(600)]
    old = pa.concat_tables([_golden(rng, ids[:500]), _golden(rng, ids[500:550], status="merged")])
    new = _golden(rng, ids[100:])  # 100 gone, 50 formerly merged, 50 new
    got = _updated(ENTITY, 7, new, old)
    assert got.num_rows > 100  # random values: most shared IDs differ somewhere
    assert set(got["release"].to_pylist()) == {7}
    assert {(g, tuple(f)) for g, f in zip(got["golden_id"].to_pylist(), got["fields"].to_pylist(), strict=True)} \
        == _reference(new, old)


def test_identical_golden_rows_give_no_update() -> None:
    table = _golden(random.Random(1), [f"B{i}" for i in range(50)])
    assert _updated(ENTITY, 2, table, table).num_rows == 0
