"""An incremental resolve (affected records only, the rest carried over) equals a full resolve of the same
records, pairs, decisions and previous state: golden rows, xref, changes, registry, disagreements and the
state the next run starts from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

pytestmark = pytest.mark.slow
ENTITIES = ("person", "legal_entity", "building")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory):
    """Delivery 1 resolved and published, stewards' decisions taken, delivery 2 ingested (not resolved)."""
    from entity_resolution.review import decide, list_pairs
    from zhiwang.demo import generate_city
    from zhiwang.pipeline import ingest_all, run_all
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    home = tmp_path_factory.mktemp("scope")
    settings = get_settings(home, Path(__file__).resolve().parents[2] / "catalog")
    catalog = load_valid_catalog(settings.catalog_dir)
    generate_city(settings, persons=1500, seed=11, delivery=1, catalog=catalog)
    run_all(settings, catalog)
    # a steward's forced match joins two golden persons: both must be resolved again
    open_pairs = list_pairs(settings, "person")
    assert open_pairs
    decide(settings, open_pairs[0].pair_id, "match")
    generate_city(settings, persons=1500, seed=11, delivery=2, catalog=catalog)
    ingest_all(settings, catalog)
    return settings, catalog


def _resolve_both(settings, catalog, entity: str):  # noqa: ANN001, ANN202
    from entity_resolution import incremental
    from entity_resolution.clustering import encode_pairs
    from entity_resolution.golden import resolve_entity
    from entity_resolution.pipeline import CLUSTER_THRESHOLD, next_release
    from entity_resolution.sources import load_source_records

    records = load_source_records(settings, catalog, entity)
    matched = incremental.score(settings, entity, records)
    assert matched.mode == "incremental" and matched.cache_release == next_release(settings) - 1
    # the pair codes found while matching are the ones a fresh encoding gives
    fresh = encode_pairs(records.column("record_uid"), matched.pairs)
    assert matched.encoded.uids.equals(fresh.uids)
    assert np.array_equal(matched.encoded.left, fresh.left) and np.array_equal(matched.encoded.right, fresh.right)
    common = {"release": next_release(settings), "threshold": CLUSTER_THRESHOLD, "identifier_constraints": True}
    part = resolve_entity(settings, catalog, entity, records, matched.pairs, fingerprints=matched.fingerprints,
                          pairs_release=matched.cache_release, encoded=matched.encoded, **common)
    full = resolve_entity(settings, catalog, entity, records, matched.pairs, **common)
    return records, part, full


def _sorted(table: pa.Table, *keys: str) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in keys])


@pytest.mark.parametrize("entity", ENTITIES)
def test_incremental_resolve_equals_full_resolve(city, entity: str) -> None:
    settings, catalog = city
    records, part, full = _resolve_both(settings, catalog, entity)
    assert full.stats["resolve_mode"] == "full"
    assert part.stats["resolve_mode"] == "incremental"
    assert 0 < part.stats["resolved_records"] < records.num_rows  # the test compares a real carry-over
    assert _sorted(part.golden, "golden_id").equals(_sorted(full.golden, "golden_id"))
    assert _sorted(part.xref, "resource", "record_key").equals(_sorted(full.xref, "resource", "record_key"))
    assert part.changes.equals(full.changes)
    assert part.state.registry.equals(full.state.registry)
    assert part.disagreements.equals(full.disagreements)  # same order too: the feedback files list them so
    columns = ["record_uid", "golden_id", "match_probability"]  # the full resolve was given no signatures
    assert _sorted(part.state.xref, "record_uid").select(columns).equals(_sorted(full.state.xref, "record_uid"))
    assert part.state.xref.column("signature").null_count == 0
    assert part.stats["golden_active"] == full.stats["golden_active"]
    # what the publish relies on: outside the rebuilt IDs every golden row is the previous release's
    from entity_resolution.golden import load_state, state_dir

    previous = load_state(state_dir(settings, entity))
    rebuilt = part.rebuilt.golden_ids
    assert full.rebuilt is None and part.rebuilt.since == previous.release and 0 < len(rebuilt) < full.golden.num_rows
    outside = pc.invert(pc.is_in(full.golden.column("golden_id"), value_set=rebuilt))
    before = pc.invert(pc.is_in(previous.golden.column("golden_id"), value_set=rebuilt))
    assert _sorted(full.golden.filter(outside), "golden_id").equals(
        _sorted(previous.golden.filter(before).cast(full.golden.schema), "golden_id"))
    assert _sorted(part.rebuilt.before, "golden_id").equals(
        _sorted(previous.golden.filter(pc.invert(before)), "golden_id"))


def _people(rows: list[tuple[str, str, str]]) -> tuple[pa.Table, pa.Array]:
    """Person records (resource gongan, key, name, fingerprint) and their fingerprints."""
    import datetime as dt

    return pa.table({
        "record_uid": [f"gongan|{k}" for k, _, _ in rows], "_resource": ["gongan"] * len(rows),
        "_record_key": [k for k, _, _ in rows], "_batch_id": ["b1"] * len(rows),
        "_delivered_at": pa.array([dt.datetime(2026, 3, 1)] * len(rows), pa.timestamp("us")),
        "name": [n for _, n, _ in rows], "id_number": [None] * len(rows),
    }).cast(pa.schema([*[pa.field(c, pa.string()) for c in ("record_uid", "_resource", "_record_key", "_batch_id")],
                       pa.field("_delivered_at", pa.timestamp("us")), pa.field("name", pa.string()),
                       pa.field("id_number", pa.string())])), pa.array([f for _, _, f in rows])


def _pairs(edges: list[tuple[str, str, float]]) -> pa.Table:
    return pa.table({"record_uid_l": [f"gongan|{a}" for a, _, _ in edges], "record_uid_r": [f"gongan|{b}" for _, b, _ in edges],
                     "match_probability": [p for _, _, p in edges], "is_decisive": [False] * len(edges)})


def test_merges_splits_retirements_and_updates_equal_a_full_resolve(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from entity_resolution.golden import resolve_entity, save_state, state_dir

    monkeypatch.setattr("entity_resolution.scope.FULL_SHARE", 1.0)  # a tiny city: most of it is affected
    first = [("a1", "甲", "1"), ("a2", "甲", "1"), ("b1", "乙", "1"), ("b2", "乙", "1"), ("c1", "丙", "1"),
             ("c2", "丙", "1"), ("d1", "丁", "1"), ("e1", "戊", "1"), ("e2", "戊", "1"), ("e3", "戊", "1"),
             ("f1", "己", "1"), ("f2", "己", "1")]
    kept = [("a1", "a2", 0.99), ("b1", "b2", 0.99), ("c1", "c2", 0.99), ("f1", "f2", 0.99), ("a1", "b1", 0.5)]
    records, fingerprints = _people(first)
    one = resolve_entity(settings, None, "person", records, _pairs([*kept, ("e1", "e2", 0.99), ("e2", "e3", 0.99)]),
                         release=1, fingerprints=fingerprints)
    save_state(state_dir(settings, "person"), one.state)
    # release 2: n1 joins A and B (merge), e2 changed and no longer matches (split), d1 is gone (retired),
    # c2's name changed, g1 is someone new, F is untouched (carried over)
    second = [r for r in first if r[0] not in ("d1", "e2", "c2")] + [("c2", "丙丙", "2"), ("e2", "庚", "2"),
                                                                     ("n1", "甲", "1"), ("g1", "辛", "1")]
    records, fingerprints = _people(second)
    pairs = _pairs([*kept, ("e1", "e2", 0.3), ("e2", "e3", 0.3), ("n1", "a1", 0.95), ("n1", "b1", 0.95)])
    part = resolve_entity(settings, None, "person", records, pairs, release=2, fingerprints=fingerprints,
                          pairs_release=1)
    full = resolve_entity(settings, None, "person", records, pairs, release=2)
    assert (part.stats["resolve_mode"], full.stats["resolve_mode"]) == ("incremental", "full")
    assert part.stats["resolved_records"] == records.num_rows - 2  # F's two records carried over
    assert _sorted(part.golden, "golden_id").equals(_sorted(full.golden, "golden_id"))
    assert _sorted(part.xref, "record_key").equals(_sorted(full.xref, "record_key"))
    assert part.changes.equals(full.changes) and part.state.registry.equals(full.state.registry)
    assert {"merged", "split", "retired", "new"} <= set(part.changes.column("change").to_pylist())


def test_a_changed_configuration_or_foreign_pairs_resolve_in_full(city) -> None:
    from entity_resolution import incremental
    from entity_resolution.golden import resolve_entity
    from entity_resolution.pipeline import next_release
    from entity_resolution.sources import load_source_records

    settings, catalog = city
    records = load_source_records(settings, catalog, "building")
    matched = incremental.score(settings, "building", records)
    release = next_release(settings)
    other_threshold = resolve_entity(settings, catalog, "building", records, matched.pairs, release=release,
                                     threshold=0.95, fingerprints=matched.fingerprints,
                                     pairs_release=matched.cache_release)
    assert other_threshold.stats["resolve_mode"] == "full"
    stale_pairs = resolve_entity(settings, catalog, "building", records, matched.pairs, release=release,
                                 fingerprints=matched.fingerprints, pairs_release=matched.cache_release - 1)
    assert stale_pairs.stats["resolve_mode"] == "full"


def _state(xref: dict[str, tuple[str, str]], decisions: pa.Table):  # noqa: ANN202
    from entity_resolution.golden import GoldenState
    from entity_resolution.survivorship import DISAGREEMENTS_SCHEMA

    uids = sorted(xref)
    return GoldenState(entity="person", release=1, registry=pa.table({"golden_id": sorted({g for g, _ in xref.values()})}),
                       xref=pa.table({"record_uid": uids, "golden_id": [xref[u][0] for u in uids],
                                      "match_probability": pa.nulls(len(uids), pa.float64()),
                                      "signature": pa.array([_code(xref[u][1]) for u in uids], pa.uint64())}),
                       golden=pa.table({"golden_id": []}),
                       disagreements=DISAGREEMENTS_SCHEMA.append(pa.field("material", pa.bool_())).empty_table(),
                       decisions=decisions, config="c")


def _code(text: str) -> int:
    return int.from_bytes(text.encode()[:8].ljust(8, b"\0"), "little")


def _plan(now: dict[str, str], pairs: list[tuple[str, str, float]], previous, decisions):  # noqa: ANN001, ANN202
    from entity_resolution.clustering import encode_pairs
    from entity_resolution.scope import plan

    uids = sorted(now)
    records = pa.table({"record_uid": uids})
    table = pa.table({"record_uid_l": [p[0] for p in pairs], "record_uid_r": [p[1] for p in pairs],
                      "match_probability": [p[2] for p in pairs]})
    scope = plan(records, pa.array([_code(now[u]) for u in uids], pa.uint64()), encode_pairs(records.column("record_uid"), table), table,
                 previous, decisions, threshold=0.9)
    return None if scope is None else ({u for u, hit in zip(uids, scope.affected, strict=True) if hit},
                                       set(scope.golden_ids.to_pylist()))


def test_plan_takes_whole_components_and_previous_golden_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    from entity_resolution.constraints import DECISIONS_SCHEMA

    monkeypatch.setattr("entity_resolution.scope.FULL_SHARE", 1.0)  # a tiny city: most of it is affected

    none = DECISIONS_SCHEMA.empty_table()
    before = {"a1": ("G1", "s"), "a2": ("G1", "s"), "b1": ("G2", "s"), "b2": ("G2", "s"), "c1": ("G3", "s"),
              "c2": ("G3", "s"), "e1": ("G4", "s"), "e2": ("G4", "s")}
    previous = _state(before, none)
    pairs = [("a1", "a2", 0.99), ("b1", "b2", 0.99), ("b2", "e1", 0.6), ("e1", "e2", 0.95), ("d1", "a1", 0.95)]
    # b1 changed, d1 is new and joins G1, c2 is gone (G3 may lose its ID), e1/e2 only touch b2 below the threshold
    now = {"a1": "s", "a2": "s", "b1": "changed", "b2": "s", "c1": "s", "d1": "s", "e1": "s", "e2": "s"}
    affected, ids = _plan(now, pairs, previous, none)
    assert affected == {"a1", "a2", "d1", "b1", "b2", "c1"}
    assert ids == {"G1", "G2", "G3"}
    # nothing changed: nothing to resolve
    same = {u: "s" for u in before}
    assert _plan(same, [p for p in pairs if p[0] != "d1"], previous, none) == (set(), set())
    # a steward's forced match between G2 and G4 since the last release takes both whole
    forced = pa.table({"record_uid_l": ["b2"], "record_uid_r": ["e1"], "decision": ["match"]}, schema=DECISIONS_SCHEMA)
    affected, ids = _plan(same, [p for p in pairs if p[0] != "d1"], previous, forced)
    assert affected == {"b1", "b2", "e1", "e2"} and ids == {"G2", "G4"}
    # the same decision already in the previous state: nothing to do
    assert _plan(same, [p for p in pairs if p[0] != "d1"], _state(before, forced), forced) == (set(), set())


def test_plan_falls_back_to_full_without_signatures_or_when_most_records_change() -> None:
    from entity_resolution.constraints import DECISIONS_SCHEMA

    none = DECISIONS_SCHEMA.empty_table()
    before = {"a1": ("G1", "s"), "a2": ("G1", "s"), "b1": ("G2", "s")}
    old_style = _state(before, none)
    old_style.xref = old_style.xref.select(["record_uid", "golden_id"])
    pairs = [("a1", "a2", 0.99)]
    assert _plan({"a1": "s", "a2": "s", "b1": "s"}, pairs, old_style, none) is None
    assert _plan({"a1": "x", "a2": "s", "b1": "s"}, pairs, _state(before, none), none) is None  # 2 of 3 affected


def test_a_resolve_with_nothing_changed_affects_nothing_and_changes_nothing(settings) -> None:
    from entity_resolution.golden import resolve_entity, save_state, state_dir

    records, fingerprints = _people([("a1", "甲", "1"), ("a2", "甲", "1"), ("f1", "己", "1")])
    pairs = _pairs([("a1", "a2", 0.99)])
    one = resolve_entity(settings, None, "person", records, pairs, release=1, fingerprints=fingerprints)
    save_state(state_dir(settings, "person"), one.state)
    two = resolve_entity(settings, None, "person", records, pairs, release=2, fingerprints=fingerprints, pairs_release=1)
    assert (two.stats["resolve_mode"], two.stats["resolved_records"], two.changes.num_rows) == ("incremental", 0, 0)
    assert _sorted(two.golden, "golden_id").equals(_sorted(one.golden, "golden_id"))
    assert _sorted(two.xref, "record_key").equals(_sorted(one.xref, "record_key"))


def test_cached_pairs_placed_by_their_rows_equal_pairs_placed_by_their_uids(city) -> None:
    """The match cache keeps each pair's row positions (pair_rows); a cache without them (an older home) or
    with ones that do not fit gives the same pairs and codes, and the kept positions name the pairs' records."""
    import os

    from entity_resolution import incremental, state_files
    from entity_resolution.sources import load_source_records

    settings, catalog = city
    records = load_source_records(settings, catalog, "person")
    folder = incremental.cache_dir(settings, "person")
    rows_file = state_files.path(folder, "pair_rows")
    assert rows_file.exists()
    placed = incremental.score(settings, "person", records)
    assert placed.mode == "incremental" and placed.pair_rows is not None
    unique_id = placed.matching.column("unique_id")
    for ends, column in zip(placed.pair_rows, ("record_uid_l", "record_uid_r"), strict=True):
        assert ends.min() >= 0
        assert unique_id.take(pa.array(ends)).to_pylist() == placed.pairs.column(column).to_pylist()
    saved = rows_file.with_name("pair_rows.saved")
    os.replace(rows_file, saved)
    try:
        by_uids = incremental.score(settings, "person", records)  # no pair_rows: the uids are hashed
        state_files.write(pa.table({"l": pa.array([0], pa.int32()), "r": pa.array([1], pa.int32())}), folder, "pair_rows")
        misfit = incremental.score(settings, "person", records)  # rows of other pairs: ignored
    finally:
        os.replace(saved, rows_file)
    for other in (by_uids, misfit):
        assert other.pairs.equals(placed.pairs) and other.matching.equals(placed.matching)
        assert np.array_equal(other.encoded.left, placed.encoded.left)
        assert np.array_equal(other.encoded.right, placed.encoded.right)
        assert all(np.array_equal(a, b) for a, b in zip(other.pair_rows, placed.pair_rows, strict=True))
