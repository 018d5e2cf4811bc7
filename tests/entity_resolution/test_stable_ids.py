"""Stable golden IDs: idempotent reruns, incremental deliveries, merges, splits, retirements, redirects."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution.stable_ids import REGISTRY_SCHEMA, IdAssignment, assign_ids, mint_id, redirect_table, resolve


def clusters(*groups: str) -> pa.Table:
    """clusters("ab", "c") → records a, b in cluster 0 and c in cluster 1 (uids are single letters)."""
    rows = [(uid, i) for i, g in enumerate(groups) for uid in g]
    return pa.table({"record_uid": [r[0] for r in rows], "cluster_id": pa.array([r[1] for r in rows], pa.int64())})


def run(groups: tuple[str, ...], prev: IdAssignment | None, release: int) -> IdAssignment:
    return assign_ids("person", clusters(*groups), prev.assignment if prev else None, prev.registry if prev else None,
                      release=release)


def ids_of(result: IdAssignment) -> dict[str, str]:
    return dict(zip(result.assignment["record_uid"].to_pylist(), result.assignment["golden_id"].to_pylist(), strict=True))


def events(result: IdAssignment) -> set[tuple[str, str, str | None]]:
    return {(r["golden_id"], r["change"], r["related_id"]) for r in result.events.to_pylist()}


def status(result: IdAssignment) -> dict[str, tuple[str, str | None]]:
    return {r["golden_id"]: (r["status"], r["merged_into"]) for r in result.registry.to_pylist()}


def registry(*rows: tuple[str, str, str | None, int]) -> pa.Table:
    return pa.table({"golden_id": [r[0] for r in rows], "status": [r[1] for r in rows], "merged_into": [r[2] for r in rows],
                     "first_seen_release": [r[3] for r in rows], "changed_release": [r[3] for r in rows]}, schema=REGISTRY_SCHEMA)


def xref(mapping: dict[str, str]) -> pa.Table:
    return pa.table({"record_uid": list(mapping), "golden_id": list(mapping.values())})


def test_first_run_mints_prefixed_deterministic_ids() -> None:
    first = run(("ab", "c"), None, 1)
    ids = ids_of(first)
    assert ids["a"] == ids["b"] == mint_id("person", "a") and ids["c"] == mint_id("person", "c")
    assert ids["a"].startswith("P") and len(ids["a"]) == 17
    assert events(first) == {(ids["a"], "new", None), (ids["c"], "new", None)}
    # the same input with clusters numbered and ordered differently mints the same IDs
    other = assign_ids("person", pa.table({"record_uid": ["c", "b", "a"], "cluster_id": pa.array([7, 3, 3], pa.int64())}),
                       None, None, release=1)
    assert ids_of(other) == ids
    assert mint_id("legal_entity", "a").startswith("E") and mint_id("building", "a").startswith("B")


def test_rerun_with_its_own_state_is_idempotent() -> None:
    first = run(("ab", "c", "de"), None, 1)
    again = run(("ab", "c", "de"), first, 2)
    assert ids_of(again) == ids_of(first)
    assert again.events.num_rows == 0
    assert again.registry.equals(first.registry)


def test_same_input_and_state_give_the_same_result() -> None:
    first = run(("ab", "c"), None, 1)
    one, two = run(("a", "bc", "xy"), first, 2), run(("a", "bc", "xy"), first, 2)
    assert one.assignment.sort_by("record_uid").equals(two.assignment.sort_by("record_uid"))
    assert one.registry.equals(two.registry) and one.events.equals(two.events)


def test_new_delivery_attaches_without_renumbering() -> None:
    first = run(("ab", "c", "de"), None, 1)
    second = run(("abx", "c", "de", "yz"), first, 2)
    before, after = ids_of(first), ids_of(second)
    assert all(after[uid] == gid for uid, gid in before.items())
    assert after["x"] == before["a"]
    assert events(second) == {(after["y"], "new", None)}
    assert status(second)[after["y"]] == ("active", None)
    assert second.registry.filter(pa.compute.equal(second.registry["golden_id"], after["y"]))["first_seen_release"][0].as_py() == 2


def test_merge_keeps_the_oldest_id_and_redirects() -> None:
    prev_reg = registry(("PZZZ", "active", None, 1), ("PAAA", "active", None, 2), ("PMMM", "active", None, 2))
    result = assign_ids("person", clusters("abc", "d"), xref({"a": "PAAA", "b": "PZZZ", "c": "PMMM", "d": "PAAA"}),
                        prev_reg, release=3)
    ids = ids_of(result)
    # PAAA has a (cluster 0) and d (cluster 1): a tie, so its main part is the cluster holding the smaller uid
    assert ids["a"] == ids["b"] == ids["c"] == "PZZZ"  # oldest first_seen wins over lexical order
    assert status(result)["PAAA"] == ("merged", "PZZZ") and status(result)["PMMM"] == ("merged", "PZZZ")
    assert ids["d"] not in ("PZZZ", "PAAA", "PMMM")
    assert events(result) == {("PAAA", "merged", "PZZZ"), ("PMMM", "merged", "PZZZ"), (ids["d"], "split", "PAAA")}
    assert resolve("PAAA", result.registry) == "PZZZ"
    redirects = {r["golden_id"]: r["resolved_id"] for r in result.redirects.to_pylist()}
    assert redirects == {"PAAA": "PZZZ", "PMMM": "PZZZ"}


def test_merge_chain_resolves_to_the_final_survivor() -> None:
    prev_reg = registry(("POLD", "active", None, 1), ("PMID", "active", None, 2), ("PNEW", "merged", "PMID", 3))
    result = assign_ids("person", clusters("ab"), xref({"a": "POLD", "b": "PMID"}), prev_reg, release=4)
    assert resolve("PNEW", result.registry) == "POLD"
    assert {r["golden_id"]: r["resolved_id"] for r in result.redirects.to_pylist()} == {"PNEW": "POLD", "PMID": "POLD"}
    assert status(result)["PNEW"] == ("merged", "PMID")  # merged_into stays the direct target


def test_a_chain_ending_in_a_retired_id_resolves_to_nothing() -> None:
    reg = registry(("PA", "merged", "PB", 1), ("PB", "retired", None, 1), ("PC", "active", None, 1))
    assert resolve("PA", reg) is None and resolve("PC", reg) == "PC"
    assert redirect_table(reg).to_pylist() == [
        {"golden_id": "PA", "status": "merged", "merged_into": "PB", "resolved_id": None},
        {"golden_id": "PB", "status": "retired", "merged_into": None, "resolved_id": None}]


def test_split_keeps_the_larger_part() -> None:
    result = assign_ids("person", clusters("a", "bcd"), xref({"a": "PG", "b": "PG", "c": "PG", "d": "PG"}),
                        registry(("PG", "active", None, 1)), release=2)
    ids = ids_of(result)
    assert ids["b"] == "PG" and ids["a"] == mint_id("person", "a")
    assert events(result) == {(ids["a"], "split", "PG")}


def test_retired_ids_resolve_to_nothing_and_are_never_reissued() -> None:
    taken = mint_id("person", "a")
    result = assign_ids("person", clusters("a", "q"), xref({"x": "PX", "q": "PQ"}),
                        registry(("PX", "active", None, 1), ("PQ", "active", None, 1), (taken, "retired", None, 1)), release=2)
    assert status(result)["PX"] == ("retired", None)
    assert resolve("PX", result.registry) is None and resolve("nope", result.registry) is None
    assert ids_of(result)["a"] == mint_id("person", "a", salt=1)  # the retired candidate is skipped
    assert ("PX", "retired", None) in events(result)
    assert {r["golden_id"]: r["resolved_id"] for r in result.redirects.to_pylist()} == {"PX": None, taken: None}


def test_duckdb_and_python_minting_agree() -> None:
    con = duckdb.connect()
    sql = "SELECT 'E' || upper(substr(sha256('legal_entity|shichang|91440300X|0'), 1, 16))"
    assert con.sql(sql).fetchall()[0][0] == mint_id("legal_entity", "shichang|91440300X")
    con.close()


partitions = st.lists(st.lists(st.sampled_from("abcdefghij"), min_size=1, max_size=4), min_size=1, max_size=6)


def _groups(raw: list[list[str]]) -> tuple[str, ...]:
    seen: set[str] = set()
    out = []
    for g in raw:
        fresh = "".join(sorted(set(g) - seen))
        seen |= set(fresh)
        if fresh:
            out.append(fresh)
    return tuple(out)


@settings(max_examples=15, deadline=None)
@given(st.lists(partitions, min_size=2, max_size=3))
def test_registry_invariants_over_successive_runs(runs: list[list[list[str]]]) -> None:
    prev: IdAssignment | None = None
    issued: set[str] = set()
    for release, raw in enumerate(runs, start=1):
        result = run(_groups(raw), prev, release)
        reg = status(result)
        assert len(reg) == result.registry.num_rows  # one registry row per ID
        assert issued <= set(reg)  # no ID is ever forgotten
        active = {g for g, (s, _) in reg.items() if s == "active"}
        assert set(ids_of(result).values()) == active  # every active ID holds records; nothing else does
        for gid in set(reg) - active:
            assert resolve(gid, result.registry) in active | {None}
        if prev is not None:  # an unchanged cluster keeps its ID
            old_groups = {frozenset(u for u, g in ids_of(prev).items() if g == gid): gid for gid in set(ids_of(prev).values())}
            new_ids = ids_of(result)
            for members, gid in old_groups.items():
                if frozenset(u for u, g in new_ids.items() if g == new_ids.get(next(iter(members)))) == members:
                    assert new_ids[next(iter(members))] == gid
        issued |= set(reg)
        prev = result


def _synthetic_city(n: int, m: int, seed: int, first_key: int = 0) -> tuple[pa.Table, pa.Table]:
    """n person records of ~n/2 people from 5 resources, and m scored pairs between neighbouring records."""
    import datetime as dt

    import numpy as np
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    person = np.sort(rng.integers(0, n // 2, n)) + first_key
    person_text = pc.cast(pa.array(person), pa.string())
    resource = pc.binary_join_element_wise("res_", pc.cast(pa.array(rng.integers(0, 5, n)), pa.string()), "")
    key = pc.cast(pa.array(np.arange(first_key, first_key + n)), pa.string())
    records = pa.table({
        "record_uid": pc.binary_join_element_wise(resource, key, "|"), "_resource": resource, "_record_key": key,
        "_batch_id": pa.array(np.full(n, f"batch-{seed}")),
        "_delivered_at": pa.array(np.full(n, np.datetime64(dt.datetime(2026, 1, 1 + seed % 28)), "datetime64[us]")),
        "name": pc.binary_join_element_wise(pa.array(np.where(rng.random(n) < 0.1, "王", "张")), person_text, ""),
        "id_number": pc.utf8_lpad(person_text, 18, "4"), "phone": pc.utf8_lpad(person_text, 11, "1"),
        "residence_address": pc.binary_join_element_wise("福田路", person_text, "号"),
        "district_code": pa.array(np.where(rng.random(n) < 0.5, "440304", None)), "grid_code": pa.array(np.full(n, "440305001")),
    })
    left = rng.integers(0, n - 1, m)
    right = np.minimum(left + rng.integers(1, 3, m), n - 1)
    same = person[left] == person[right]
    pairs = pa.table({"record_uid_l": records["record_uid"].take(pa.array(left)),
                      "record_uid_r": records["record_uid"].take(pa.array(right)),
                      "match_probability": np.where(same, rng.uniform(0.85, 1.0, m), rng.uniform(0.0, 0.6, m)),
                      "is_decisive": pa.array(same & (rng.random(m) < 0.3))})
    return records, pairs


@pytest.mark.slow
def test_scale_one_million_records_two_deliveries() -> None:
    import resource
    import time

    from entity_resolution.golden import build_golden

    records, pairs = _synthetic_city(1_000_000, 1_500_000, seed=1)
    wall, cpu = time.perf_counter(), time.process_time()
    first = build_golden("person", records, pairs, None, None, None, release=1, threshold=0.9)
    first_wall, first_cpu = time.perf_counter() - wall, time.process_time() - cpu
    # the second delivery: 20,000 more records of new people plus one record joining an existing person
    extra, extra_pairs = _synthetic_city(20_000, 30_000, seed=2, first_key=2_000_000)
    joined = pa.table({"record_uid_l": [records["record_uid"][0].as_py()], "record_uid_r": [extra["record_uid"][0].as_py()],
                       "match_probability": [0.99], "is_decisive": [False]})
    all_records = pa.concat_tables([records, extra])
    all_pairs = pa.concat_tables([pairs, extra_pairs, joined.cast(pairs.schema)])
    wall, cpu = time.perf_counter(), time.process_time()
    second = build_golden("person", all_records, all_pairs, first.state, None, None, release=2, threshold=0.9)
    second_wall, second_cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nbuild_golden 1,000,000 records / 1,500,000 pairs: {first_wall:.1f} s wall, {first_cpu:.1f} s CPU "
          f"{ {k: round(v, 2) for k, v in first.stats.items() if k.endswith('_s')} }; "
          f"second delivery (+20,000): {second_wall:.1f} s wall, {second_cpu:.1f} s CPU; peak RSS {peak:.0f} MB")
    before = dict(zip(first.state.xref["record_uid"].to_pylist(), first.state.xref["golden_id"].to_pylist(), strict=True))
    after = dict(zip(second.state.xref["record_uid"].to_pylist(), second.state.xref["golden_id"].to_pylist(), strict=True))
    kept = sum(after[uid] == gid for uid, gid in before.items())
    assert kept == len(before)  # nothing already there is renumbered
    assert second.xref.num_rows == all_records.num_rows
    changes = second.changes["change"].value_counts().to_pylist()
    assert {c["values"] for c in changes} <= {"new", "updated"}
