"""Mirror masking rules and per-release mirror records."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.models import Catalog
from quality.quarantine import mask_value
from warehouse.mirror import build_mirrors, field_classes, mask_strings, mask_table, mirror_release
from warehouse.release import publish_release
from warehouse.schema import PROVENANCE_TYPE
from warehouse.synthetic import change_persons, synthetic_catalog
from zhiwang.errors import UserError


@settings(deadline=None, max_examples=50)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30))))
def test_vectorised_mask_equals_mask_value(values):
    assert mask_strings(pa.array(values, pa.string())).to_pylist() == [mask_value(v) for v in values]


def _person_rows(provenance: list[dict | None]) -> pa.Table:
    from warehouse.schema import SCHEMAS

    n = len(provenance)
    cols = {f.name: pa.nulls(n, f.type) for f in SCHEMAS["person"]}
    cols["golden_id"] = pa.array([f"P{i}" for i in range(n)])
    cols["status"] = pa.array(["active"] * n)
    cols["id_number"] = pa.array(["440304199001011234"] * n)
    cols["birth_date"] = pa.array([0] * n, pa.int32()).cast(pa.date32())
    cols["provenance"] = pa.array([list(p.items()) if p else None for p in provenance], PROVENANCE_TYPE)
    return pa.table(cols).cast(SCHEMAS["person"])


def test_class_follows_the_resource_each_value_came_from():
    base = synthetic_catalog()
    # a resource that shares id_number unconditionally, next to the conditional ones
    open_res = base.resources["gongan_population"].model_copy(update={"id": "open_register", "sharing": "unconditional"})
    fields = [f.model_copy(update={"sharing": None}) for f in open_res.fields]
    open_res = open_res.model_copy(update={"fields": fields})
    catalog = Catalog(**{**base.model_dump(), "resources": {**base.resources, "open_register": open_res}})
    classes, fallback = field_classes(catalog, "person", "id_number")
    assert classes["open_register"] == "unconditional" and classes["gongan_population"] == "conditional"
    assert fallback == "conditional"  # most restrictive among resources mapping the field
    entry = lambda r: {"id_number": {"resource": r, "record_key": "k", "batch_id": "b"}, "birth_date": {"resource": r, "record_key": "k", "batch_id": "b"}}  # noqa: E731
    rows = _person_rows([entry("open_register"), entry("gongan_population"), None, entry("unknown_resource")])
    masked = mask_table(catalog, "person", rows, ["unconditional"])
    assert masked.column("id_number").to_pylist() == ["440304199001011234", "440304********1234", "440304********1234", "440304********1234"]
    cleared = mask_table(catalog, "person", rows, ["unconditional", "conditional"])
    assert cleared.column("id_number").to_pylist() == ["440304199001011234"] * 4
    assert "phone" not in masked.column_names and "provenance" not in masked.column_names


def test_a_masked_non_string_value_is_withheld():
    catalog = synthetic_catalog()
    gongan = catalog.resources["gongan_population"]
    fields = [f.model_copy(update={"sharing": "conditional"}) if f.maps_to == "birth_date" else f for f in gongan.fields]
    catalog = Catalog(**{**catalog.model_dump(), "resources": {**catalog.resources, "gongan_population": gongan.model_copy(update={"fields": fields})}})
    rows = _person_rows([{"birth_date": {"resource": "gongan_population", "record_key": "k", "batch_id": "b"}}])
    assert mask_table(catalog, "person", rows, ["unconditional"]).column("birth_date").to_pylist() == [None]
    assert mask_table(catalog, "person", rows, ["unconditional", "conditional"]).column("birth_date").null_count == 0


def test_mirrors_record_their_release_and_hold_only_their_rows(wh, catalog, tables):
    publish_release(wh, catalog, tables)
    for code in catalog.districts:
        record = mirror_release(wh, code)
        assert record["release"] == 1 and set(record["tables"]) == {"person", "legal_entity", "building", "release"}
        person = DeltaTable(str(wh.mirrors / code / "person")).to_pyarrow_table()
        expected = pc.sum(pc.equal(tables["person"].column("district_code"), code)).as_py()
        assert person.num_rows == record["tables"]["person"]["rows"] == expected
        assert DeltaTable(str(wh.mirrors / code / "person")).history(1)[0]["zhiwang.release"] == "1"
    changed, _ = change_persons(tables, 0.01)
    publish_release(wh, catalog, changed)
    assert {mirror_release(wh, c)["release"] for c in catalog.districts} == {2}
    assert build_mirrors(wh, catalog) == {c: mirror_release(wh, c) for c in catalog.districts}  # idempotent
    with pytest.raises(UserError, match="Unknown district"):
        build_mirrors(wh, catalog, districts=["999999"])


def test_a_crashed_mirror_build_keeps_serving_the_previous_release(wh, catalog, tables, monkeypatch):
    import warehouse.mirror as mirror_mod

    publish_release(wh, catalog, tables)
    before = {c: mirror_release(wh, c) for c in catalog.districts}
    changed, _ = change_persons(tables, 0.05)

    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(mirror_mod, "write_json_once", crash)
    with pytest.raises(OSError):
        publish_release(wh, catalog, changed)
    # the golden release is complete; every mirror still points at its release-1 table versions
    assert {c: mirror_release(wh, c) for c in catalog.districts} == before
    monkeypatch.undo()
    rebuilt = build_mirrors(wh, catalog)
    assert {r["release"] for r in rebuilt.values()} == {2}


def _expected_mirror(wh, catalog, code: str, entity: str) -> pa.Table:
    from warehouse.registry import read_table

    golden = read_table(wh, entity)
    rows = golden.filter(pc.equal(golden.column("district_code"), code))
    return mask_table(catalog, entity, rows, list(catalog.districts[code].cleared)).sort_by("golden_id")


def _mirror(wh, code: str, entity: str) -> pa.Table:
    record = mirror_release(wh, code)
    table = DeltaTable(str(wh.mirrors / code / entity), version=record["tables"][entity]["version"]).to_pyarrow_table()
    return table.sort_by("golden_id")


def _shuffled_city(tables):
    """Release 2's tables: 5% moved flat, one person moved district, one gone, one new."""
    changed, ids = change_persons(tables, 0.05)
    person = changed["person"]
    codes = person.column("district_code").to_pylist()
    codes[1] = "440305" if codes[1] != "440305" else "440306"
    person = person.set_column(person.schema.get_field_index("district_code"), "district_code", pa.array(codes, pa.string()))
    born = person.slice(3, 1).set_column(0, "golden_id", pa.array(["P900000001"]))
    person = pa.concat_tables([person.slice(0, 2), person.slice(3), born.cast(person.schema)])  # P000000002 gone
    return {**changed, "person": person}, {*ids, "P000000001", "P000000002", "P900000001"}


@pytest.mark.parametrize("separately", [False, True], ids=["with-publish", "separate-build"])
def test_incremental_mirrors_equal_a_full_build_and_touch_only_changed_rows(wh, catalog, tables, separately):
    publish_release(wh, catalog, tables)
    before = {c: mirror_release(wh, c) for c in catalog.districts}
    changed, touched = _shuffled_city(tables)
    second = publish_release(wh, catalog, changed, build_mirrors=not separately)
    if separately:  # as the Airflow task does: from the registry and the golden change data feed
        build_mirrors(wh, catalog, second.number)
    for code in catalog.districts:
        record = mirror_release(wh, code)
        assert record["release"] == 2
        for entity in ("person", "legal_entity", "building"):
            assert _mirror(wh, code, entity).equals(_expected_mirror(wh, catalog, code, entity))
            assert record["tables"][entity]["rows"] == _expected_mirror(wh, catalog, code, entity).num_rows
        # unchanged tables make no commit; the person table's change feed holds only golden IDs that changed
        assert record["tables"]["building"] == before[code]["tables"]["building"]
        v1, v2 = before[code]["tables"]["person"]["version"], record["tables"]["person"]["version"]
        feed = pa.table(DeltaTable(str(wh.mirrors / code / "person")).load_cdf(starting_version=v1 + 1, ending_version=v2).read_all())
        assert set(feed.column("golden_id").to_pylist()) <= touched
    moved_from = tables["person"].filter(pc.equal(tables["person"].column("golden_id"), "P000000001")).column("district_code")[0].as_py()
    assert "P000000001" not in _mirror(wh, moved_from, "person").column("golden_id").to_pylist()


def test_a_changed_clearance_rebuilds_the_mirror_in_full(wh, catalog, tables):
    publish_release(wh, catalog, tables)
    # 440305 is now cleared for conditional fields: every row's id_number must show unmasked
    cleared = Catalog(**{**catalog.model_dump(), "districts": {
        **catalog.districts, "440305": catalog.districts["440305"].model_copy(update={"cleared": ["unconditional", "conditional"]})}})
    changed, _ = change_persons(tables, 0.01)
    publish_release(wh, cleared, changed)
    for code in cleared.districts:
        assert _mirror(wh, code, "person").equals(_expected_mirror(wh, cleared, code, "person"))
    assert "*" not in "".join(_mirror(wh, "440305", "person").column("id_number").to_pylist())


def test_changed_rows_from_the_feed_equal_the_filtered_golden_table(wh, catalog, tables, monkeypatch):
    """_changed_since takes the changed rows from the golden change data feed: the same rows, in the same
    order, as filtering the whole table, also over several releases (a row changed twice, one deleted and
    one new)."""
    import warehouse.mirror as mirror_mod
    from warehouse.mirror import _changed_since, _rows_from_feed
    from warehouse.registry import dataset_at, get_release

    publish_release(wh, catalog, tables, build_mirrors=False)
    second, _ = _shuffled_city(tables)
    publish_release(wh, catalog, second, build_mirrors=False)
    third, _ = change_persons(second, 0.05, seed=5)  # some persons change again
    publish_release(wh, catalog, third, build_mirrors=False)
    spans = [(1, 2), (2, 3), (1, 3)]
    feed_calls = []
    monkeypatch.setattr(mirror_mod, "_rows_from_feed", lambda *a: feed_calls.append(a) or _rows_from_feed(*a))
    fast = {(e, a, b): _changed_since(wh, e, a, b) for e in ("person", "legal_entity", "building") for a, b in spans}
    assert feed_calls and all(_rows_from_feed(*a) is not None for a in feed_calls)  # the feed was used
    monkeypatch.setattr(mirror_mod, "_rows_from_feed", lambda *_: None)  # the old path: filter the whole table
    for (entity, a, b), (keys, rows) in fast.items():
        slow_keys, slow_rows = _changed_since(wh, entity, a, b)
        assert sorted(keys.to_pylist()) == sorted(slow_keys.to_pylist())
        assert rows.schema == slow_rows.schema and rows.to_pylist() == slow_rows.to_pylist()
    assert len(fast["person", 1, 3][0]) > len(fast["person", 2, 3][0]) > 0
    assert "P000000002" in fast["person", 1, 2][0].to_pylist()  # deleted: a key without a row
    # a feed that does not account for a row the table holds is not trusted
    keys, rows = fast["person", 1, 2]
    v1, v2 = get_release(wh, 1).tables["person"].version, get_release(wh, 2).tables["person"].version
    feed = pa.table(DeltaTable(str(wh.home / "golden" / "person")).load_cdf(starting_version=v1 + 1, ending_version=v2).read_all())
    feed = feed.cast(pa.schema([f.with_type(pa.string()) if f.type == pa.string_view() else f for f in feed.schema]))
    dataset = dataset_at(wh, "person", 2)
    assert _rows_from_feed(feed, dataset, keys).to_pylist() == rows.to_pylist()
    inserts = pc.equal(feed.column("_change_type"), "insert")
    assert _rows_from_feed(feed.filter(pc.invert(inserts)), dataset, keys) is None
    # only deleted keys: no rows, from the feed too
    gone = pa.array(["P000000002"])
    only_gone = _rows_from_feed(feed.filter(pc.is_in(feed.column("golden_id"), value_set=gone)), dataset, gone)
    assert only_gone is not None and only_gone.num_rows == 0 and only_gone.schema == dataset.schema
