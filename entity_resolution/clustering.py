"""Clusters of source records from scored pairs, with stewards' decisions applied.

Inputs (pyarrow Tables):
- ``record_uids``: every accepted source record of one entity type, ``record_uid`` = ``<resource>|<record_key>``
  (unique; a record without any pair becomes a singleton cluster).
- ``pairs``: Splink's scored pairs ``record_uid_l, record_uid_r, match_probability`` and optionally
  ``is_decisive`` (bool: matched by a valid identifier; kept whatever the probability).
- ``decisions``: stewards' verdicts ``record_uid_l, record_uid_r, decision`` (``match`` | ``no-match``), see
  ``entity_resolution.review.decisions_table``.

Edges are the pairs at or above ``threshold`` (or decisive) plus forced matches, minus no-match pairs. A
no-match must also hold when a *path* through other records joins the two; such components are rebuilt by a
constrained maximum spanning forest: edges are added strongest first (forced match, decisive, probability,
then the record uids) and an edge is dropped when it would join two groups a no-match keeps apart. So only
the weakest links on the offending paths go, and the outcome is the same for any input row order. Every
dropped edge is reported in ``ClusterResult.cut_edges``.

record_uids become integers in one dictionary-encoding pass; connected components run in scipy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from zhiwang.errors import UserError

CLUSTERS_SCHEMA = pa.schema([("record_uid", pa.string()), ("cluster_id", pa.int64()), ("match_probability", pa.float64())])
CUT_EDGES_SCHEMA = pa.schema([
    ("record_uid_l", pa.string()), ("record_uid_r", pa.string()), ("match_probability", pa.float64()),
    ("reason", pa.string()),
])
_FORCED, _DECISIVE, _SCORED = 0, 1, 2  # edge kinds, strongest first


@dataclass
class ClusterResult:
    clusters: pa.Table
    """record_uid, cluster_id (int64, arbitrary and unstable: see stable_ids), match_probability (the
    strongest kept edge touching the record; null for a singleton)."""
    cut_edges: pa.Table
    """Edges dropped to honour no-match decisions: record_uid_l, record_uid_r, match_probability, reason."""
    stats: dict[str, int] = field(default_factory=dict)


def _encode(uids: pa.Array, *columns: pa.ChunkedArray | pa.Array) -> tuple[bool, list[np.ndarray]]:
    """Integer ids for the record_uid columns in one hash pass: position in ``uids``, -1 when absent.

    ``uids`` goes first, so its values take dictionary codes 0..n-1 exactly when they are unique.
    """
    n = len(uids)
    parts = [uids, *[c.cast(pa.string()) for c in columns]]
    chunks = [ch for part in parts for ch in (part.chunks if isinstance(part, pa.ChunkedArray) else [part])]
    codes = pa.chunked_array(chunks, pa.string()).combine_chunks().dictionary_encode().indices
    codes = codes.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    unique = bool(np.array_equal(codes[:n], np.arange(n)))
    out, offset = [], n
    for c in columns:
        part = codes[offset:offset + len(c)]
        out.append(np.where(part >= n, -1, part))
        offset += len(c)
    return unique, out


def lookup(uids: pa.Array, *columns: pa.ChunkedArray | pa.Array) -> list[np.ndarray]:
    """Positions in ``uids`` of the values of a few short columns (-1: absent or null), as :func:`_encode`
    gives them but without hashing every uid into a table: the city's uids only probe the short columns'
    distinct values (a twentieth of the time at a million records)."""
    import pyarrow.compute as pc

    values = [c.cast(pa.string()) for c in columns]
    chunks = [ch for v in values for ch in (v.chunks if isinstance(v, pa.ChunkedArray) else [v])]
    distinct = pc.unique(pa.chunked_array(chunks, pa.string()).combine_chunks()).drop_null()
    where = pc.index_in(uids, value_set=distinct)  # each uid's entry among the distinct values, if any
    found = pc.is_valid(where).to_numpy(zero_copy_only=False)
    position = np.full(len(distinct), -1, np.int64)
    position[where.filter(pc.is_valid(where)).to_numpy().astype(np.int64)] = np.flatnonzero(found)
    out = []
    for v in values:
        entry = pc.index_in(v, value_set=distinct)
        codes = position[pc.fill_null(entry, 0).to_numpy(zero_copy_only=False).astype(np.int64)] if len(distinct) \
            else np.full(len(v), -1, np.int64)
        out.append(np.where(pc.is_valid(entry).to_numpy(zero_copy_only=False), codes, -1))
    return out


@dataclass(frozen=True)
class PairCodes:
    """The record_uids and each pair's two records as positions among them (-1: not a record). Encoding a
    city's pairs is a hash pass over millions of strings; callers that cluster the same records and pairs
    twice (constraints.py, then golden.py with the decisions) encode once with :func:`encode_pairs`."""

    uids: pa.Array
    left: np.ndarray
    right: np.ndarray


def encode_pairs(record_uids: pa.Table | pa.Array | pa.ChunkedArray, pairs: pa.Table) -> PairCodes:
    uids = record_uids.column("record_uid") if isinstance(record_uids, pa.Table) else record_uids
    uids = (uids.combine_chunks() if isinstance(uids, pa.ChunkedArray) else uids).cast(pa.string())
    unique, (left, right) = _encode(uids, pairs.column("record_uid_l"), pairs.column("record_uid_r"))
    if not unique or uids.null_count:
        raise UserError("cluster_records: record_uid must be unique and non-null (<resource>|<record_key>); "
                        "deduplicate the accepted records of each resource before resolving.")
    return PairCodes(uids=uids, left=left, right=right)


def components(encoded: PairCodes, pairs: pa.Table, threshold: float, decisions: pa.Table | None = None) -> np.ndarray:
    """Connected-component label per record over the pairs at or above ``threshold`` or decisive, and the
    forced matches among ``decisions`` (no-matches are not applied: see :func:`cluster_records` for that).
    The components identifier conflicts are judged in and an incremental resolve is scoped by."""
    import pyarrow.compute as pc
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(encoded.uids)
    prob = pairs.column("match_probability").fill_null(0.0).to_numpy().astype(np.float64)
    keep = prob >= threshold
    if "is_decisive" in pairs.column_names:
        keep |= pairs.column("is_decisive").fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    keep &= (encoded.left >= 0) & (encoded.right >= 0)
    a, b = encoded.left[keep], encoded.right[keep]
    forced = decisions.filter(pc.equal(decisions.column("decision"), "match")) if decisions is not None else None
    if forced is not None and forced.num_rows:
        fl, fr = lookup(encoded.uids, forced.column("record_uid_l"), forced.column("record_uid_r"))
        ok = (fl >= 0) & (fr >= 0)
        a, b = np.concatenate([a, fl[ok]]), np.concatenate([b, fr[ok]])
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def cluster_records(record_uids: pa.Table | pa.Array | pa.ChunkedArray, pairs: pa.Table, *, threshold: float,
                    decisions: pa.Table | None = None, encoded: PairCodes | None = None) -> ClusterResult:
    """Cluster records: threshold the pairs, apply decisions, connected components, enforce no-matches.
    ``encoded``: :func:`encode_pairs` of these very ``record_uids`` and ``pairs``, when the caller has it."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if encoded is None:
        encoded = encode_pairs(record_uids, pairs)
    elif len(encoded.left) != pairs.num_rows:
        raise ValueError("cluster_records: `encoded` was made for other pairs; pass encode_pairs(record_uids, pairs)")
    uids, left, right = encoded.uids, encoded.left, encoded.right
    n = len(uids)
    dec = decisions if decisions is not None and decisions.num_rows else None
    if not 0.0 <= threshold <= 1.0:
        raise UserError(f"cluster_records: threshold = {threshold} must be between 0 and 1.")

    prob = pairs.column("match_probability").fill_null(0.0).to_numpy().astype(np.float64)
    decisive = (pairs.column("is_decisive").fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
                if "is_decisive" in pairs.column_names else np.zeros(len(prob), bool))
    known = (left >= 0) & (right >= 0) & (left != right)
    stats = {"records": n, "pairs": len(prob), "pairs_unknown_record": int(((left < 0) | (right < 0)).sum())}
    keep = known & ((prob >= threshold) | decisive)
    a, b = np.minimum(left, right)[keep], np.maximum(left, right)[keep]
    p, kind = prob[keep], np.where(decisive[keep], _DECISIVE, _SCORED)

    no_a = no_b = np.empty(0, np.int64)
    if dec is not None:
        dl, dr = lookup(uids, dec.column("record_uid_l"), dec.column("record_uid_r"))
        verdict = dec.column("decision").to_numpy(zero_copy_only=False)
        ok = (dl >= 0) & (dr >= 0) & (dl != dr)
        stats["decisions_unknown_record"] = int((~ok).sum())
        lo, hi = np.minimum(dl, dr), np.maximum(dl, dr)
        forced = ok & (verdict == "match")
        no_a, no_b = lo[ok & (verdict == "no-match")], hi[ok & (verdict == "no-match")]
        a, b = np.concatenate([a, lo[forced]]), np.concatenate([b, hi[forced]])
        p, kind = np.concatenate([p, np.ones(forced.sum())]), np.concatenate([kind, np.full(forced.sum(), _FORCED)])
        if len(no_a):  # a no-match removes the direct edge whatever its score
            banned = _pair_codes(no_a, no_b, n)
            drop = np.isin(_pair_codes(a, b, n), banned) & (kind != _FORCED)
            a, b, p, kind = a[~drop], b[~drop], p[~drop], kind[~drop]

    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    n_comp, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64)
    cut = np.zeros(len(a), bool)
    cut_reason: dict[int, str] = {}
    conflicted = np.unique(labels[no_a][labels[no_a] == labels[no_b]]) if len(no_a) else np.empty(0, np.int64)
    if len(conflicted):
        next_label = n_comp
        in_conflict = np.isin(labels[a], conflicted)
        edge_ids = np.flatnonzero(in_conflict)
        node_set = np.flatnonzero(np.isin(labels, conflicted))
        uid_text = uids.take(pa.array(node_set)).to_pylist()
        name = dict(zip(node_set.tolist(), uid_text, strict=True))
        new_labels, dropped = _constrained_forest(node_set, a[edge_ids], b[edge_ids], p[edge_ids], kind[edge_ids],
                                                  no_a, no_b, name)
        for local, node in zip(new_labels, node_set.tolist(), strict=True):
            labels[node] = next_label + local
        for i in dropped:
            cut[edge_ids[i]] = True
            cut_reason[int(edge_ids[i])] = ("conflicting steward decisions: forced match dropped"
                                           if kind[edge_ids[i]] == _FORCED else "path joins a no-match pair")
    stats.update(edges_kept=int((~cut).sum()), edges_cut=int(cut.sum()), clusters=int(np.count_nonzero(np.bincount(labels, minlength=1))))

    ka, kb, kp = a[~cut], b[~cut], p[~cut]
    best = np.full(n, np.nan)
    if len(ka):  # strongest kept edge per record: sort by probability, last write wins
        order = np.argsort(np.concatenate([kp, kp]), kind="stable")
        nodes = np.concatenate([ka, kb])[order]
        best[nodes] = np.concatenate([kp, kp])[order]
    clusters = pa.table({"record_uid": uids, "cluster_id": pa.array(labels),
                         "match_probability": pa.array(best, pa.float64(), mask=np.isnan(best))}, schema=CLUSTERS_SCHEMA)
    ci = np.flatnonzero(cut)
    ends = [sorted(e) for e in zip(uids.take(pa.array(a[ci])).to_pylist(), uids.take(pa.array(b[ci])).to_pylist(), strict=True)]
    cut_edges = pa.table({
        "record_uid_l": [e[0] for e in ends], "record_uid_r": [e[1] for e in ends],
        "match_probability": pa.array(p[ci], pa.float64()), "reason": pa.array([cut_reason[int(i)] for i in ci], pa.string()),
    }, schema=CUT_EDGES_SCHEMA).sort_by([("record_uid_l", "ascending"), ("record_uid_r", "ascending")])
    return ClusterResult(clusters=clusters, cut_edges=cut_edges, stats=stats)


def _pair_codes(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    return a.astype(np.int64) * np.int64(n) + b.astype(np.int64)


def _constrained_forest(nodes: np.ndarray, a: np.ndarray, b: np.ndarray, p: np.ndarray, kind: np.ndarray,
                        no_a: np.ndarray, no_b: np.ndarray, name: dict[int, str]) -> tuple[list[int], list[int]]:
    """Kruskal over the conflicted components' edges, strongest first, refusing merges a no-match forbids.

    Returns a local label per node (in ``nodes`` order) and the positions of the dropped edges.
    """
    parent = {int(x): int(x) for x in nodes}
    apart: dict[int, set[int]] = {int(x): set() for x in nodes}  # root → roots it must never join
    for x, y in zip(no_a.tolist(), no_b.tolist(), strict=True):
        if x in parent and y in parent:
            apart[x].add(y)
            apart[y].add(x)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # strongest first; the record uids break ties so the result does not depend on row order
    def strength(i: int) -> tuple[int, float, str, str]:
        ends = sorted((name[int(a[i])], name[int(b[i])]))
        return int(kind[i]), -float(p[i]), ends[0], ends[1]

    order = sorted(range(len(a)), key=strength)
    dropped: list[int] = []
    for i in order:
        ra, rb = find(int(a[i])), find(int(b[i]))
        if ra == rb:
            continue
        if rb in apart[ra]:
            dropped.append(i)
            continue
        if len(apart[ra]) < len(apart[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        for other in apart.pop(rb):
            apart[other].discard(rb)
            apart[other].add(ra)
            apart[ra].add(other)
    roots: dict[int, int] = {}
    return [roots.setdefault(find(int(x)), len(roots)) for x in nodes], dropped
