"""Incremental resolution: the records a redelivery can affect, and the golden rows it cannot.

A monthly redelivery changes a few percent of a city's records, yet clustering, stable IDs and survivorship
used to run over every record of the entity type. A golden ID's cluster, ID and values depend only on the
records of its *component*: the records joined by pairs at or above the threshold (or decisive) and by
stewards' forced matches, before any no-match is applied (identifier conflicts are derived per such
component too). So a resolve that starts from the previous release's state and from pairs derived from that
release's pairs (incremental matching keeps every earlier pair between two unchanged records, with the same
probability) reruns the three steps only over the *affected* records and carries everything else over:

- seeds: records that are new or whose signature changed (canonical values, batch, delivery time), every
  current record of a previous golden ID that held a changed or removed record, and the two records of every
  steward decision added or withdrawn since the previous release;
- affected: every record in a component holding a seed.

Why that is exact: a previous golden ID without changed or removed records is connected by pairs between
unchanged records, which are still there, so it lies inside one component; a component without seeds has the
same records, pairs and decisions as before, hence the same constraints, clusters, IDs and values. A
previous golden ID is therefore either wholly affected or wholly carried over (checked, not assumed: a
violation falls back to a full resolve).

A full resolve runs instead when there is no previous state or it predates signatures, when the pairs were
scored afresh (first run, retrained model, most records changed), when the match cache and the state are
from different releases, when the survivorship configuration (authority lists, providers, threshold)
changed, or when most records are affected anyway.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from entity_resolution.clustering import PairCodes
    from entity_resolution.golden import GoldenState

log = logging.getLogger(__name__)
FULL_SHARE = 0.5
"""Above this share of affected records a full resolve is as cheap and simpler."""
VERSION = 1
"""Raise when clustering, stable IDs or survivorship change what they produce from the same inputs: states
written before then are resolved in full once."""


@dataclass(frozen=True)
class Scope:
    affected: np.ndarray
    """bool per record: resolved again."""
    golden_ids: pa.Array
    """Previous golden IDs of the affected and removed records: the only IDs this run can change."""
    previous_row: np.ndarray
    """Per record, its row in the previous state's xref (meaningful for the records not affected)."""
    seeds: int


def signatures(records: pa.Table, fingerprints: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """What a record contributes to its golden row, as a 64-bit hash: its canonical values (``fingerprints``,
    see incremental.fingerprints), its batch and its delivery time (provenance and recency). A changed record
    passes for unchanged only if its new hash equals its own old one: 2**-64."""
    from zhiwang import duck

    con = duck.connect()
    try:
        con.register("s", pa.table({"f": fingerprints, "b": records.column("_batch_id"),
                                    "d": records.column("_delivered_at")}))
        return con.sql("SELECT hash(f, b, d) AS s FROM s").to_arrow_table().column("s")
    finally:
        con.close()


def config_digest(authority: dict[str, list[str]], providers: dict[str, str], threshold: float) -> str:
    text = json.dumps({"authority": authority, "providers": providers, "threshold": threshold, "version": VERSION},
                      sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def plan(records: pa.Table, signature: pa.ChunkedArray | pa.Array, encoded: PairCodes, pairs: pa.Table,
         previous: GoldenState, decisions: pa.Table, *, threshold: float) -> Scope | None:
    """The affected records of a resolve starting from ``previous`` (see the module docstring), or None when
    the run should resolve everything. The caller has checked that pairs, state and configuration match."""
    from entity_resolution.clustering import components

    names = previous.xref.column_names
    if ("match_probability" not in names or "signature" not in names or previous.decisions is None
            or previous.disagreements is None or "material" not in previous.disagreements.column_names
            or previous.xref.schema.field("signature").type != pa.uint64()):
        return None
    n = records.num_rows
    uids = encoded.uids
    old_uid = previous.xref.column("record_uid").combine_chunks()
    old_gid = previous.xref.column("golden_id").combine_chunks()
    where_old = pc.index_in(uids, value_set=old_uid)  # this record's row in the previous xref (null: new)
    has_old = pc.is_valid(where_old).to_numpy(zero_copy_only=False)
    old_row = pc.fill_null(where_old, 0).to_numpy(zero_copy_only=False)
    old_signature = previous.xref.column("signature").to_numpy()
    changed = ~has_old | (old_signature[old_row] != _plain(signature).to_numpy())
    removed = np.ones(len(old_uid), dtype=bool)
    removed[old_row[has_old]] = False
    # previous golden IDs holding a changed or removed record: all their current records are seeds
    gid_now = old_gid.take(pa.array(old_row))  # each record's previous golden ID, meaningful where has_old
    touched = pa.concat_arrays([gid_now.filter(pa.array(changed & has_old)), old_gid.filter(pa.array(removed))])
    seeds = changed | (has_old & pc.fill_null(pc.is_in(gid_now, value_set=touched.unique()), False)
                       .to_numpy(zero_copy_only=False))
    # steward decisions added or withdrawn since the previous release
    for uid in _decision_changes(decisions, previous.decisions):
        seeds |= pc.fill_null(pc.is_in(uids, value_set=uid), False).to_numpy(zero_copy_only=False)
    if not seeds.any() and not removed.any():
        affected = seeds
    else:
        labels = components(encoded, pairs, threshold, decisions)
        hit = np.zeros(int(labels.max()) + 1 if len(labels) else 0, dtype=bool)
        hit[labels[seeds]] = True  # the components holding a seed
        affected = hit[labels]
    # exactness check: every previous golden ID is affected wholly or not at all
    gids_affected = gid_now.filter(pa.array(affected & has_old)).unique()
    in_affected_ids = pc.fill_null(pc.is_in(gid_now, value_set=gids_affected), False).to_numpy(zero_copy_only=False)
    if np.any(has_old & in_affected_ids & ~affected):
        log.warning("incremental resolve: a previous golden ID straddles the affected records; resolving in full")
        return None
    if affected.sum() > FULL_SHARE * max(n, 1):
        return None
    golden_ids = pa.concat_arrays([gids_affected, old_gid.filter(pa.array(removed))]).unique()
    return Scope(affected=affected, golden_ids=golden_ids, previous_row=old_row, seeds=int(seeds.sum()))


def _plain(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _decision_changes(now: pa.Table, before: pa.Table) -> list[pa.Array]:
    """The record uids of decisions in one table and not the other (a verdict changed counts)."""
    def keys(t: pa.Table) -> pa.Array:
        cols = [t.column(c).combine_chunks().cast(pa.string()) for c in ("record_uid_l", "record_uid_r", "decision")]
        return pc.binary_join_element_wise(*cols, "\x1f") if t.num_rows else pa.array([], pa.string())

    out = []
    for a, b in ((now, before), (before, now)):
        if not a.num_rows:
            continue
        differ = pc.invert(pc.is_in(keys(a), value_set=keys(b)))
        if pc.any(differ).as_py():
            rows = a.filter(differ)
            out.append(pa.concat_arrays([rows.column("record_uid_l").combine_chunks().cast(pa.string()),
                                         rows.column("record_uid_r").combine_chunks().cast(pa.string())]))
    return out
