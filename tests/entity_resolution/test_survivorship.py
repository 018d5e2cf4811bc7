"""Survivorship (authority > recency > frequency, with provenance) and the assembled golden tables."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pytest

from catalog.models import Catalog, Resource
from entity_resolution.golden import build_golden, load_state, save_state
from entity_resolution.survivorship import survive

T1, T2, T3 = (dt.datetime(2026, 1, d) for d in (1, 2, 3))


def records(*rows: dict) -> pa.Table:
    """rows: resource, key, delivered (datetime), batch (optional) and canonical fields."""
    fields = sorted({k for r in rows for k in r} - {"resource", "key", "delivered", "batch"})
    cols = {
        "record_uid": [f"{r['resource']}|{r['key']}" for r in rows], "_resource": [r["resource"] for r in rows],
        "_record_key": [r["key"] for r in rows], "_batch_id": [r.get("batch", f"{r['resource']}-b1") for r in rows],
        "_delivered_at": pa.array([r["delivered"] for r in rows], pa.timestamp("us")),
    }
    for f in fields:
        cols[f] = pa.array([r.get(f) for r in rows], pa.string())
    return pa.table(cols)


def one_id(table: pa.Table, gid: str = "P1") -> pa.Table:
    return pa.table({"record_uid": table["record_uid"], "golden_id": [gid] * table.num_rows})


def winner(result, field: str, gid: str = "P1") -> tuple:
    row = next(r for r in result.values.to_pylist() if r["golden_id"] == gid)
    return row[field], dict(row["provenance"]).get(field)


def test_authority_beats_recency() -> None:
    recs = records({"resource": "gongan", "key": "1", "delivered": T1, "name": "张三"},
                   {"resource": "wangge", "key": "9", "delivered": T3, "name": "张叁"})
    result = survive("person", recs, one_id(recs), {"name": ["gongan", "renshe"]})
    assert winner(result, "name") == ("张三", {"resource": "gongan", "record_key": "1", "batch_id": "gongan-b1"})


def test_recency_beats_frequency_and_frequency_breaks_ties() -> None:
    recs = records({"resource": "a", "key": "1", "delivered": T1, "phone": "13800000001"},
                   {"resource": "b", "key": "2", "delivered": T1, "phone": "13800000001"},
                   {"resource": "c", "key": "3", "delivered": T2, "phone": "13900000002"},
                   {"resource": "a", "key": "4", "delivered": T1, "residence_address": "福田路1号"},
                   {"resource": "b", "key": "5", "delivered": T1, "residence_address": "福田路2号"},
                   {"resource": "c", "key": "6", "delivered": T1, "residence_address": "福田路2号"})
    result = survive("person", recs, one_id(recs), {})
    assert winner(result, "phone")[0] == "13900000002"  # newest wins although the other value is more frequent
    value, prov = winner(result, "residence_address")
    assert value == "福田路2号" and prov["record_key"] == "5"  # most frequent; then the smaller record_uid
    assert result.values["source_count"].to_pylist() == [6]


def test_blank_values_are_not_candidates_and_row_order_does_not_matter() -> None:
    rows = [{"resource": "gongan", "key": "1", "delivered": T1, "name": "  "},
            {"resource": "x", "key": "2", "delivered": T1, "name": "李四"},
            {"resource": "y", "key": "3", "delivered": T1, "name": "李肆"}]
    baseline = survive("person", records(*rows), one_id(records(*rows)), {"name": ["gongan"]}).values
    assert winner(type("R", (), {"values": baseline}), "name")[0] == "李四"  # text order breaks the last tie
    random.Random(3).shuffle(rows)
    assert survive("person", records(*rows), one_id(records(*rows)), {"name": ["gongan"]}).values.equals(baseline)


def test_disagreements_with_the_authority_are_reported() -> None:
    recs = records({"resource": "gongan", "key": "1", "delivered": T1, "name": "王五"},
                   {"resource": "renshe", "key": "7", "delivered": T2, "name": "王伍"},
                   {"resource": "wangge", "key": "8", "delivered": T2, "name": "王五"},
                   {"resource": "wangge", "key": "9", "delivered": T2, "phone": "13800000000"})
    result = survive("person", recs, one_id(recs), {"name": ["gongan"], "phone": ["gongan"]},
                     providers={"renshe": "renshe_dept"})
    rows = result.disagreements.to_pylist()
    assert rows == [{"golden_id": "P1", "field": "name", "authoritative_resource": "gongan", "authoritative_record_key": "1",
                     "authoritative_value": "王五", "resource": "renshe", "provider": "renshe_dept", "record_key": "7",
                     "batch_id": "renshe-b1", "value": "王伍"}]  # no authority delivered a phone: nothing to report


def test_district_code_is_derived_from_a_division_coded_grid() -> None:
    recs = records({"resource": "wangge", "key": "1", "delivered": T1, "grid_code": "440304001002"},
                   {"resource": "wangge", "key": "2", "delivered": T1, "grid_code": "G-17"})
    asg = pa.table({"record_uid": recs["record_uid"], "golden_id": ["P1", "P2"]})
    result = survive("person", recs, asg, {})
    assert winner(result, "district_code") == ("440304", {"resource": "wangge", "record_key": "1", "batch_id": "wangge-b1"})
    assert winner(result, "district_code", "P2") == (None, None)


# -- the assembled golden tables --------------------------------------------------------------------------


def make_catalog() -> Catalog:
    def res(rid: str, provider: str) -> Resource:
        return Resource(id=rid, title=rid, provider=provider, category="base", entity="person", update_cycle="daily",
                        sharing="unconditional", source={"connector": "file_drop"}, record_key=["k"],
                        fields=[{"column": "k"}, {"column": "n", "maps_to": "name"}])
    return Catalog(directory=".", resources={"gongan": res("gongan", "ga"), "wangge": res("wangge", "wg")},
                   departments={}, districts={}, core_fields={"person": {"name": ["gongan", "wangge"]}})


def pairs(*edges: tuple[str, str, float]) -> pa.Table:
    return pa.table({"record_uid_l": [e[0] for e in edges], "record_uid_r": [e[1] for e in edges],
                     "match_probability": pa.array([e[2] for e in edges], pa.float64())})


def test_build_golden_tables_changes_and_state(tmp_path) -> None:
    cat = make_catalog()
    first_recs = records({"resource": "gongan", "key": "1", "delivered": T1, "name": "赵六", "district_code": "440304"},
                         {"resource": "wangge", "key": "1", "delivered": T2, "name": "赵陆"},
                         {"resource": "wangge", "key": "2", "delivered": T2, "name": "钱七"})
    first = build_golden("person", first_recs, pairs(("gongan|1", "wangge|1", 0.97)), None, None, cat, release=1)
    assert first.xref.num_rows == 3 and first.xref.group_by(["resource", "record_key"]).aggregate([]).num_rows == 3
    zhao = first.xref.filter(pa.compute.equal(first.xref["record_key"], "1"))["golden_id"].unique().to_pylist()
    assert len(zhao) == 1 and first.golden.num_rows == 2
    assert {r["change"] for r in first.changes.to_pylist()} == {"new"}
    save_state(tmp_path / "person", first.state)
    state = load_state(tmp_path / "person")
    assert state is not None and state.registry.equals(first.state.registry)

    # the authority corrects the name, 钱七's record disappears, and 赵六 arrives again from a second gongan record
    second_recs = records({"resource": "gongan", "key": "1", "delivered": T3, "name": "赵六六", "district_code": "440304"},
                          {"resource": "wangge", "key": "1", "delivered": T2, "name": "赵陆"},
                          {"resource": "gongan", "key": "5", "delivered": T3, "name": "孙八"})
    second = build_golden("person", second_recs, pairs(("gongan|1", "wangge|1", 0.97)), state, None, cat, release=2)
    changes = {(r["golden_id"], r["change"]): r for r in second.changes.to_pylist()}
    qian = first.xref.filter(pa.compute.equal(first.xref["record_key"], "2"))["golden_id"][0].as_py()
    assert changes[(zhao[0], "updated")]["fields"] == ["name"]
    assert (qian, "retired") in changes
    assert sum(1 for _, c in changes if c == "new") == 1
    golden = {r["golden_id"]: r for r in second.golden.to_pylist()}
    assert golden[qian]["status"] == "retired" and golden[qian]["name"] == "钱七" and golden[qian]["source_count"] == 0
    assert golden[zhao[0]]["source_count"] == 2 and second.state.release == 2
    assert second.disagreements.to_pylist()[0]["value"] == "赵陆"


def test_golden_tables_satisfy_the_warehouse_contract() -> None:
    schema = pytest.importorskip("warehouse.schema")
    recs = records({"resource": "gongan", "key": "1", "delivered": T1, "name": "周九", "birth_date": "1990-01-02"})
    result = build_golden("person", recs, pairs(), None, None, make_catalog(), release=1)
    assert result.golden.schema.field("birth_date").type == pa.date32()
    schema.conform("person", result.golden)
    schema.conform("xref", result.xref)
    schema.conform("changes", result.changes, release=1)


def test_canonical_types_match_the_warehouse() -> None:
    schema = pytest.importorskip("warehouse.schema")
    from catalog.canonical import CANONICAL_FIELDS
    from entity_resolution.golden import FIELD_TYPES

    for entity in ("person", "legal_entity", "building"):
        for f in CANONICAL_FIELDS[entity]:
            assert FIELD_TYPES.get(f, pa.string()) == schema.canonical_type(f), f


def test_build_golden_rejects_bad_inputs() -> None:
    from zhiwang.errors import UserError

    recs = records({"resource": "gongan", "key": "1", "delivered": T1, "name": "吴十"})
    with pytest.raises(UserError, match=r"pairs lack column\(s\) \['match_probability'\]"):
        build_golden("person", recs, pa.table({"record_uid_l": ["a"], "record_uid_r": ["b"]}), None, None, None, release=1)
    first = build_golden("person", recs, pairs(), None, None, None, release=3)
    with pytest.raises(UserError, match="release 3 must come after the previous state's release 3"):
        build_golden("person", recs, pairs(), first.state, None, None, release=3)
    with pytest.raises(UserError, match="previous state is for 'person'"):
        build_golden("building", recs, pairs(), first.state, None, None, release=4)


def test_aligned_sorted_and_shuffled_inputs_give_the_same_golden_rows() -> None:
    """survive reads an assignment in record order row for row and ranks sorted record_uids by position:
    both shortcuts must agree with the general lookups."""
    rng = random.Random(5)
    rows = [{"resource": rng.choice(["gongan", "renshe", "wangge"]), "key": f"k{i:03d}", "delivered": T1,
             "name": rng.choice(["张三", "张叁", None]), "phone": rng.choice(["139", "138"])} for i in range(60)]
    ids = {f"{r['resource']}|{r['key']}": f"P{rng.randrange(12):02d}" for r in rows}
    rows.sort(key=lambda r: f"{r['resource']}|{r['key']}")

    def run(table: pa.Table, assignment_order: list[str]):  # noqa: ANN202
        assignment = pa.table({"record_uid": assignment_order, "golden_id": [ids[u] for u in assignment_order]})
        return survive("person", table, assignment, {"name": ["gongan"], "phone": ["renshe"]})

    ordered = records(*rows)
    uids = ordered["record_uid"].to_pylist()
    aligned = run(ordered, uids)
    shuffled_rows = rows[:]
    rng.shuffle(shuffled_rows)
    other = run(records(*shuffled_rows), list(reversed(uids)))
    assert aligned.values.equals(other.values)
    assert aligned.disagreements.equals(other.disagreements)
    assert aligned.values.num_rows == len(set(ids.values())) and aligned.disagreements.num_rows > 0
