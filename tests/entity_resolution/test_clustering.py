"""Clustering: threshold, decisive pairs, steward decisions, no-match paths cut at their weakest edges."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution.clustering import cluster_records
from zhiwang.errors import UserError


def uids(*names: str) -> pa.Table:
    return pa.table({"record_uid": list(names)})


def pairs(*edges: tuple[str, str, float], decisive: list[bool] | None = None) -> pa.Table:
    cols = {"record_uid_l": [e[0] for e in edges], "record_uid_r": [e[1] for e in edges],
            "match_probability": pa.array([e[2] for e in edges], pa.float64())}
    if decisive is not None:
        cols["is_decisive"] = decisive
    return pa.table(cols)


def decisions(*rows: tuple[str, str, str]) -> pa.Table:
    return pa.table({"record_uid_l": [r[0] for r in rows], "record_uid_r": [r[1] for r in rows],
                     "decision": [r[2] for r in rows]})


def groups(result) -> set[frozenset[str]]:
    out: dict[int, set[str]] = {}
    for row in result.clusters.to_pylist():
        out.setdefault(row["cluster_id"], set()).add(row["record_uid"])
    return {frozenset(v) for v in out.values()}


def test_threshold_decisive_and_singletons() -> None:
    result = cluster_records(uids("a", "b", "c", "d", "e"),
                             pairs(("a", "b", 0.95), ("c", "d", 0.4), ("d", "e", 0.1), ("a", "zz", 0.99),
                                   decisive=[False, False, True, False]),
                             threshold=0.9)
    assert groups(result) == {frozenset("ab"), frozenset("c"), frozenset("de")}
    assert result.stats["pairs_unknown_record"] == 1
    probs = dict(zip(result.clusters["record_uid"].to_pylist(), result.clusters["match_probability"].to_pylist(), strict=True))
    assert probs == {"a": 0.95, "b": 0.95, "c": None, "d": 0.1, "e": 0.1}


def test_duplicate_record_uid_is_a_user_error() -> None:
    with pytest.raises(UserError, match="record_uid must be unique"):
        cluster_records(uids("a", "a"), pairs(), threshold=0.9)


def test_forced_match_and_direct_no_match() -> None:
    result = cluster_records(uids("a", "b", "c"), pairs(("a", "b", 0.3), ("b", "c", 0.99)), threshold=0.9,
                             decisions=decisions(("b", "a", "match"), ("c", "b", "no-match")))
    assert groups(result) == {frozenset("ab"), frozenset("c")}
    assert result.cut_edges.num_rows == 0  # the direct edge is simply removed, no path to cut


def test_no_match_cuts_the_weakest_edge_on_the_path() -> None:
    result = cluster_records(uids("a", "b", "c", "d"),
                             pairs(("a", "b", 0.99), ("b", "c", 0.92), ("c", "d", 0.97)),
                             threshold=0.9, decisions=decisions(("a", "d", "no-match")))
    assert groups(result) == {frozenset("ab"), frozenset("cd")}
    assert result.cut_edges.to_pylist() == [
        {"record_uid_l": "b", "record_uid_r": "c", "match_probability": 0.92, "reason": "path joins a no-match pair"}]


def test_no_match_cuts_every_path() -> None:
    # a-b-d and a-c-d: both paths are cut; strongest edges go first (a-b, d-e, c-d), so c joins d's side
    result = cluster_records(uids("a", "b", "c", "d", "e"),
                             pairs(("a", "b", 0.99), ("b", "d", 0.91), ("a", "c", 0.93), ("c", "d", 0.98), ("d", "e", 0.99)),
                             threshold=0.9, decisions=decisions(("a", "d", "no-match")))
    assert groups(result) == {frozenset("ab"), frozenset("cde")}
    assert sorted(r["match_probability"] for r in result.cut_edges.to_pylist()) == [0.91, 0.93]
    assert result.stats["edges_cut"] == 2


def test_conflicting_forced_match_is_reported() -> None:
    result = cluster_records(uids("a", "b", "c"), pairs(), threshold=0.9,
                             decisions=decisions(("a", "b", "match"), ("b", "c", "match"), ("a", "c", "no-match")))
    assert frozenset("abc") not in groups(result)
    assert result.cut_edges["reason"].to_pylist() == ["conflicting steward decisions: forced match dropped"]


@st.composite
def graphs(draw):
    n = draw(st.integers(2, 12))
    names = [f"r{i:02d}" for i in range(n)]
    edge_list = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                        st.sampled_from([0.5, 0.91, 0.93, 0.95, 0.97, 0.99])), max_size=30))
    cannot = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=4))
    edges = [(names[a], names[b], p) for a, b, p in edge_list if a != b]
    nos = [(names[a], names[b], "no-match") for a, b in cannot if a != b]
    return names, edges, nos, draw(st.randoms(use_true_random=False))


@settings(max_examples=150, deadline=None)
@given(graphs())
def test_constraints_hold_and_result_ignores_row_order(case) -> None:
    names, edges, nos, rnd = case
    result = cluster_records(uids(*names), pairs(*edges), threshold=0.9, decisions=decisions(*nos))
    label = dict(zip(result.clusters["record_uid"].to_pylist(), result.clusters["cluster_id"].to_pylist(), strict=True))
    for a, b, _ in nos:
        assert label[a] != label[b]
    no_set = {frozenset((a, b)) for a, b, _ in nos}
    members: dict[int, set[str]] = {}
    for uid, c in label.items():
        members.setdefault(c, set()).add(uid)
    for cut in result.cut_edges.to_pylist():  # maximal: putting a cut edge back would join a no-match pair
        joined = members[label[cut["record_uid_l"]]] | members[label[cut["record_uid_r"]]]
        assert any(frozenset((x, y)) in no_set for x in joined for y in joined if x < y)
    shuffled_names, shuffled_edges = list(names), [(b, a, p) if rnd.random() < 0.5 else (a, b, p) for a, b, p in edges]
    rnd.shuffle(shuffled_names)
    rnd.shuffle(shuffled_edges)
    again = cluster_records(uids(*shuffled_names), pairs(*shuffled_edges), threshold=0.9, decisions=decisions(*nos))
    assert groups(again) == groups(result)


@pytest.mark.slow
def test_scale_one_million_records() -> None:
    rng = np.random.default_rng(7)
    n, m = 1_000_000, 1_500_000
    names = pa.array([f"res_{i % 5}|{i:09d}" for i in range(n)])
    left = rng.integers(0, n, m)
    right = np.minimum(left + rng.integers(1, 4, m), n - 1)  # local edges: realistic small clusters
    table = pa.table({"record_uid_l": names.take(pa.array(left)), "record_uid_r": names.take(pa.array(right)),
                      "match_probability": rng.uniform(0.5, 1.0, m)})
    nos = decisions(*[(names[i].as_py(), names[i + 2].as_py(), "no-match") for i in range(0, 20_000, 10)])
    start = time.perf_counter()
    result = cluster_records(pa.table({"record_uid": names}), table, threshold=0.8, decisions=nos)
    seconds = time.perf_counter() - start
    print(f"\ncluster_records: {n:,} records, {m:,} pairs, 2,000 no-match decisions: {seconds:.2f} s; {result.stats}")
    assert result.clusters.num_rows == n  # the time is printed, not asserted: a shared machine is no stopwatch


def test_lookup_of_short_columns_equals_encoding_them_with_the_uids() -> None:
    from entity_resolution.clustering import _encode, lookup

    uids = pa.array([f"r|{i}" for i in range(50)])
    left = pa.chunked_array([pa.array(["r|3", "r|49", None, "x|1"]), pa.array(["r|3", "r|0"])])
    right = pa.array(["r|7", None, "r|7", "r|12", "zz", "r|1"])
    expected = _encode(uids, left, right)[1]
    got = lookup(uids, left, right)
    assert [g.tolist() for g in got] == [e.tolist() for e in expected]
    assert [g.tolist() for g in lookup(uids, pa.array([None, None], pa.string()))] == [[-1, -1]]
