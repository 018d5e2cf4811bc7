"""Publishing releases: registry, immutability, readers by release, CDF size, diff, rollback, history."""

from __future__ import annotations

import os
import stat

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from warehouse.diff import release_diff
from warehouse.history import history, show
from warehouse.registry import current_release, get_release, list_releases, read_table, record_release, verify_release
from warehouse.release import publish_release, rollback
from warehouse.schema import GOLDEN_TABLES, SCHEMAS, conform
from warehouse.synthetic import change_persons
from zhiwang.errors import UserError


def _set(table: pa.Table, column: str, ids: list[str], value: object) -> pa.Table:
    mask = pc.is_in(table.column("golden_id"), pa.array(ids))
    col = table.column(column)
    new = pc.if_else(mask, pa.scalar(value, col.type), col)
    return table.set_column(table.schema.get_field_index(column), column, new)


def test_publish_records_versions_counts_and_hashes(wh, catalog, tables):
    release = publish_release(wh, catalog, tables, note="first", build_mirrors=False)
    assert release.number == 1 and current_release(wh) == release
    assert set(release.tables) == set(GOLDEN_TABLES)
    for name in ("person", "legal_entity", "building", "xref", "links"):
        assert release.tables[name].rows == tables[name].num_rows
        assert release.tables[name].files and all(len(h) == 64 for h in release.tables[name].files.values())
        assert DeltaTable(str(wh.golden / name)).version() == release.tables[name].version
    assert DeltaTable(str(wh.golden / "person")).metadata().configuration["delta.enableChangeDataFeed"] == "true"
    assert verify_release(wh, 1) == []
    registry_file = wh.golden / "_registry" / "releases" / "1.json"
    assert not os.stat(registry_file).st_mode & stat.S_IWUSR  # read-only on disk
    with pytest.raises(UserError, match="already exists.*immutable"):
        record_release(wh, release)


def test_readers_resolve_through_the_registry_and_cdf_holds_only_changed_rows(wh, catalog, tables):
    publish_release(wh, catalog, tables, build_mirrors=False)
    changed, ids = change_persons(tables, 0.01)
    second = publish_release(wh, catalog, changed, build_mirrors=False)
    assert second.tables["building"].version == 0  # unchanged table: no new commit
    v1 = get_release(wh, 1).tables["person"].version
    cdf = pa.table(DeltaTable(str(wh.golden / "person")).load_cdf(starting_version=v1 + 1, ending_version=second.tables["person"].version).read_all())
    assert sorted(set(cdf.column("golden_id").to_pylist())) == sorted(ids)
    assert cdf.num_rows == 2 * len(ids)  # each changed row deleted and re-inserted, nothing else
    old = read_table(wh, "person", 1).filter(pc.is_in(pc.field("golden_id"), pa.array(ids[:1])))
    new = read_table(wh, "person").filter(pc.is_in(pc.field("golden_id"), pa.array(ids[:1])))
    assert old.column("residence_address")[0] != new.column("residence_address")[0]
    # a crashed attempt's orphan commit is not what readers see
    DeltaTable(str(wh.golden / "person")).delete("golden_id = 'P000000001'")
    assert read_table(wh, "person").num_rows == tables["person"].num_rows
    assert verify_release(wh) == []


def test_changes_diff_rollback_and_history(wh, catalog, tables):
    publish_release(wh, catalog, tables, build_mirrors=False)
    person = tables["person"]
    person = _set(person, "status", ["P000000003"], "merged")
    person = _set(person, "merged_into", ["P000000003"], "P000000004")
    person = _set(person, "status", ["P000000005"], "retired")
    person = _set(person, "name", ["P000000006"], "新名字")
    split = person.filter(pc.equal(person.column("golden_id"), "P000000007"))
    split = split.set_column(0, "golden_id", pa.array(["P900000000"])).cast(person.schema)
    person = pa.concat_tables([person, split])
    xref = tables["xref"]
    moved = xref.filter(pc.equal(xref.column("golden_id"), "P000000007")).set_column(4, "golden_id", pa.array(["P900000000"])).cast(xref.schema)
    xref = pa.concat_tables([xref.filter(pc.not_equal(xref.column("golden_id"), "P000000007")), moved,
                             pa.table({"entity": ["person"], "resource": ["wangge_population"], "record_key": ["w7"],
                                       "batch_id": ["b2"], "golden_id": ["P000000007"], "match_probability": [0.99]}).cast(xref.schema)])
    second = publish_release(wh, catalog, {**tables, "person": person, "xref": xref}, build_mirrors=False)
    changes = read_table(wh, "changes", 2, filter=pc.field("release") == 2).to_pylist()
    by_id = {(c["golden_id"], c["change"]): c for c in changes}
    assert by_id[("P000000003", "merged")]["related_id"] == "P000000004"
    assert ("P000000005", "retired") in by_id
    assert by_id[("P000000006", "updated")]["fields"] == ["name"]
    assert by_id[("P900000000", "split")]["related_id"] == "P000000007"
    diff = release_diff(wh, 1, 2)["entities"]["person"]["counts"]
    assert diff == {"new": 0, "updated": 1, "merged": 1, "split": 1, "retired": 1}

    third = rollback(wh, catalog, 1, build_mirrors=False)
    assert third.number == 3 and third.rollback_of == 1 and len(list_releases(wh)) == 3
    assert read_table(wh, "person", 3).sort_by("golden_id").equals(read_table(wh, "person", 1).sort_by("golden_id"))
    assert show(wh, "P000000006", release=2)["record"]["name"] == "新名字"
    events = history(wh, "P000000006")
    assert [e["release"] for e in events] == [1, 2, 3]
    assert events[1]["changes"]["name"]["value"] == "新名字"
    assert events[1]["changes"]["name"]["provenance"]["resource"] == "gongan_population"
    assert second.number == 2 and verify_release(wh, 2) == []


def test_conform_reports_what_and_where(tables):
    with pytest.raises(UserError, match=r"'person': missing columns \['provenance'\]"):
        conform("person", tables["person"].drop(["provenance"]))
    bad = _set(tables["person"], "status", ["P000000001"], "deleted")
    with pytest.raises(UserError, match="'status': values \\['deleted'\\] are not one of"):
        conform("person", bad)
    dup = pa.concat_tables([tables["xref"].slice(0, 1), tables["xref"].slice(0, 1)])
    with pytest.raises(UserError, match=r"duplicate key.*'record_key': 'P\*+0'") as info:
        conform("xref", dup)
    assert "P000000000" not in str(info.value)
    assert conform("links", tables["links"]).schema == SCHEMAS["links"]


def test_publish_refuses_missing_tables(wh, catalog, tables):
    with pytest.raises(UserError, match=r"missing tables \['links'\]"):
        publish_release(wh, catalog, {k: v for k, v in tables.items() if k != "links"})
    assert current_release(wh) is None


def test_row_delta_finds_inserts_updates_and_deletes(tables):
    from warehouse.diff import row_delta

    old = tables["person"].slice(0, 5)
    new = pa.concat_tables([_set(old.slice(1, 3), "name", ["P000000002"], "改"), tables["person"].slice(10, 1)])
    delta = row_delta(new, old, ("golden_id",))
    got = sorted(zip(delta.column("golden_id").to_pylist(), delta.column("_op").to_pylist(), strict=True))
    assert got == [("P000000000", "D"), ("P000000002", "U"), ("P000000004", "D"), ("P000000010", "I")]
    assert delta.filter(pc.equal(delta.column("_op"), "U")).column("name").to_pylist() == ["改"]
    # a provenance-only change is a change
    prov = old.column("provenance").to_pylist()
    prov[3] = [("name", {"resource": "other", "record_key": "k", "batch_id": "b"})]
    moved = old.set_column(old.schema.get_field_index("provenance"), "provenance", pa.array(prov, old.schema.field("provenance").type))
    assert row_delta(moved, old, ("golden_id",)).column("golden_id").to_pylist() == ["P000000003"]


def test_comparable_handles_sliced_and_null_maps(tables):
    from warehouse.diff import comparable

    person = tables["person"]
    sliced = person.slice(3, 4)
    prov = sliced.column("provenance").to_pylist()
    prov[1] = None
    sliced = sliced.set_column(sliced.schema.get_field_index("provenance"), "provenance", pa.array(prov, person.schema.field("provenance").type))
    strings = comparable(person.slice(3, 4)).column("provenance").to_pylist()
    assert len(set(strings)) == 4 and all(s.startswith("name\x1fgongan_population\x1f") for s in strings)
    assert strings[0].count("\x1e") == len(prov[0]) - 1
    assert comparable(sliced).column("provenance").to_pylist()[1] is None


def test_row_hashes_see_every_difference_and_ignore_layout(tables):
    from warehouse.diff import row_hashes

    person = tables["person"].slice(0, 6)
    base = row_hashes(person, ("golden_id",))
    assert len(set(base.tolist())) == 6
    # the same rows sliced out of a bigger, chunked table hash alike
    chunked = pa.concat_tables([tables["person"].slice(0, 3), tables["person"].slice(3, 10)]).slice(0, 6)
    assert (row_hashes(chunked, ("golden_id",)) == base).all()
    sliced = tables["person"].combine_chunks().slice(2, 4)  # a map array whose offsets do not start at 0
    assert sliced.column("provenance").chunk(0).offsets[0].as_py() > 0
    assert (row_hashes(sliced, ("golden_id",)) == base[2:]).all()
    # the key does not count; any other column does, and so do a map's entry order, a null map and an empty map
    renamed = person.set_column(0, "golden_id", pa.array([f"X{i}" for i in range(6)]))
    assert (row_hashes(renamed, ("golden_id",)) == base).all()
    prov = person.column("provenance").to_pylist()
    prov[0], prov[1], prov[2] = list(reversed(prov[0])), None, []
    ptype = person.schema.field("provenance").type
    varied = person.set_column(person.schema.get_field_index("provenance"), "provenance", pa.array(prov, ptype))
    varied = _set(varied, "birth_date", ["P000000003"], None)
    hashed = row_hashes(varied, ("golden_id",))
    assert [bool(a != b) for a, b in zip(hashed, base, strict=True)] == [True, True, True, True, False, False]
    assert len(set(hashed[:3].tolist())) == 3


def test_first_release_changes_list_every_golden_id_as_new(wh, catalog, tables):
    publish_release(wh, catalog, tables, build_mirrors=False)
    changes = read_table(wh, "changes", 1)
    assert changes.num_rows == sum(tables[e].num_rows for e in ("person", "legal_entity", "building"))
    assert set(changes.column("change").to_pylist()) == {"new"} and changes.column("fields").null_count == changes.num_rows


def test_a_publish_with_changes_handed_over_diffs_on_digests_without_reading_back(wh, catalog, tables, monkeypatch):
    import warehouse.release as release_mod
    from warehouse.rowhash import digest_key
    from warehouse.storage import storage_for

    zeroth = publish_release(wh, catalog, tables, build_mirrors=False)
    storage = storage_for(wh)
    assert not storage.exists(digest_key("person", zeroth.tables["person"].version))  # a first publish only writes
    tables = {**tables, "person": change_persons(tables, 0.01, seed=5)[0]["person"]}
    first = publish_release(wh, catalog, tables, build_mirrors=False)  # diffs by reading release 1 back
    assert all(storage.exists(digest_key(n, first.tables[n].version)) for n in ("person", "xref", "links"))
    changed, ids = change_persons(tables, 0.02)
    xref, links = tables["xref"], tables["links"]
    changed["xref"] = xref.slice(1)  # one source record and one link withdrawn
    changed["links"] = links.slice(0, links.num_rows - 1)
    changed["person"] = changed["person"].slice(0, changed["person"].num_rows - 1)  # one person gone
    gone = tables["person"].column("golden_id")[-1].as_py()
    changes = pa.table({"golden_id": ids, "entity": ["person"] * len(ids), "change": ["updated"] * len(ids),
                        "fields": [["residence_address"]] * len(ids), "related_id": pa.nulls(len(ids), pa.string())})

    def no_reading_back(*args, **kwargs):
        raise AssertionError(f"read_table{args[1:]} during a publish whose digests exist")

    monkeypatch.setattr(release_mod, "read_table", no_reading_back)
    second = publish_release(wh, catalog, {**changed, "changes": changes}, build_mirrors=False)
    monkeypatch.undo()
    for name in ("person", "xref", "links"):
        assert read_table(wh, name, 3).num_rows == changed[name].num_rows
        v1, v2 = first.tables[name].version, second.tables[name].version
        feed = pa.table(DeltaTable(str(wh.golden / name)).load_cdf(starting_version=v1 + 1, ending_version=v2).read_all())
        kinds = feed.column("_change_type").to_pylist()
        if name == "person":  # each changed row deleted and re-inserted, the gone one deleted
            assert sorted(set(feed.column("golden_id").to_pylist())) == sorted({*ids, gone})
            assert kinds.count("delete") == len(set(ids) | {gone}) and kinds.count("insert") == len(set(ids) - {gone})
        else:
            assert kinds == ["delete"]
    assert _sorted_eq(read_table(wh, "xref", 3), changed["xref"], ["entity", "resource", "record_key"])
    assert _sorted_eq(read_table(wh, "person", 3), changed["person"], ["golden_id"])
    assert verify_release(wh, 3) == []


def _sorted_eq(a: pa.Table, b: pa.Table, keys: list[str]) -> bool:
    order = [(k, "ascending") for k in keys]
    return a.sort_by(order).equals(b.cast(a.schema).sort_by(order))


@pytest.mark.parametrize("with_digest", [False, True])
def test_a_rebuilt_hint_publishes_what_a_whole_diff_does(wh, catalog, tables, tmp_path, monkeypatch, with_digest):
    """An incremental resolve names the golden rows it rebuilt: the publish diffs only those, and the tables,
    change data feed, mirrors' deltas and digests come out as a whole-table diff makes them."""
    import warehouse.release as release_mod
    from warehouse.release import Rebuilt
    from warehouse.rowhash import digest_key, read_digest
    from warehouse.schema import KEYS
    from warehouse.storage import storage_for
    from zhiwang.settings import get_settings

    twin = get_settings(tmp_path / "twin", wh.catalog_dir)
    (tmp_path / "twin").mkdir()
    homes = {"hinted": wh, "whole": twin}
    base = tables
    if with_digest:  # a second release leaves a person digest (the first publish hashes no map table)
        base = {**tables, "person": change_persons(tables, 0.01, seed=5)[0]["person"]}
    changed, ids = change_persons(base, 0.03, seed=11)
    person = changed["person"]
    # a new golden ID, and rebuilt rows that came out the same (most of a component is unchanged)
    extra = person.slice(0, 1).set_column(0, "golden_id", pa.array(["P999999999"]))
    changed["person"] = pa.concat_tables([person, extra.cast(person.schema)])
    same = [g for g in person.column("golden_id").to_pylist()[:40] if g not in set(ids)]
    rebuilt_ids = pa.array([*ids, *same, "P999999999"])
    changes = pa.table({"golden_id": ids, "entity": ["person"] * len(ids), "change": ["updated"] * len(ids),
                        "fields": [["residence_address"]] * len(ids), "related_id": pa.nulls(len(ids), pa.string())})
    out = {}
    for label, settings in homes.items():
        publish_release(settings, catalog, tables, build_mirrors=False)
        if with_digest:
            publish_release(settings, catalog, base, build_mirrors=False)
        before = base["person"].filter(pc.is_in(base["person"].column("golden_id"), value_set=rebuilt_ids))
        hint = {"person": Rebuilt(since=current_release(settings).number, golden_ids=rebuilt_ids, before=before)}
        if label == "hinted":  # the hint replaces reading the person table back (the others have no hint)
            read = release_mod.read_table

            def read_others(s, name, *args, read=read):  # noqa: ANN001, ANN202
                assert name != "person", "the person table was read back despite the hint"
                return read(s, name, *args)

            monkeypatch.setattr(release_mod, "read_table", read_others)
        published = publish_release(settings, catalog, {**changed, "changes": changes}, build_mirrors=False,
                                    rebuilt=hint if label == "hinted" else None)
        monkeypatch.undo()
        v0 = get_release(settings, published.number - 1).tables["person"].version
        feed = pa.table(DeltaTable(str(settings.golden / "person")).load_cdf(
            starting_version=v0 + 1, ending_version=published.tables["person"].version).read_all())
        digest = read_digest(storage_for(settings), "person", published.tables["person"].version, KEYS["person"])
        out[label] = (read_table(settings, "person"), feed.drop_columns(["_commit_timestamp"]), digest,
                      storage_for(settings).exists(digest_key("person", published.tables["person"].version)))
    hinted, whole = out["hinted"], out["whole"]
    assert hinted[0].equals(whole[0]) and hinted[0].num_rows == changed["person"].num_rows
    # the same feed: the changed rows and the new one (a merge's rewrite writes rows in no fixed order)
    def feed_rows(feed: pa.Table) -> list[tuple]:
        columns = ["golden_id", "_change_type", "_commit_version", "residence_address"]
        return sorted(zip(*(feed.column(c).cast(pa.string()).to_pylist() for c in columns), strict=True))

    assert feed_rows(hinted[1]) == feed_rows(whole[1])
    assert sorted(set(hinted[1].column("golden_id").to_pylist())) == sorted([*ids, "P999999999"])
    assert hinted[3] is with_digest and whole[3]  # without a digest to patch, the hint leaves none
    if with_digest:
        assert _sorted_eq(hinted[2], whole[2], ["golden_id"])


def test_a_rebuilt_hint_from_another_release_is_ignored(wh, catalog, tables):
    from warehouse.release import Rebuilt

    publish_release(wh, catalog, tables, build_mirrors=False)
    changed, ids = change_persons(tables, 0.02)
    stale = {"person": Rebuilt(since=7, golden_ids=pa.array(ids[:1]), before=tables["person"].slice(0, 0))}
    publish_release(wh, catalog, changed, build_mirrors=False, rebuilt=stale)
    assert _sorted_eq(read_table(wh, "person"), changed["person"], ["golden_id"])  # every change, not one
