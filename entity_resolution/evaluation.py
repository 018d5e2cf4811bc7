"""Accuracy of resolution against ground truth: pairwise precision / recall / F1 from two clusterings of
the same records, golden-ID stability between releases, and golden attribute accuracy.

Pairs are counted from cluster sizes (a cluster of n records holds n(n-1)/2 pairs), so a million records
cost one group-by, never a pair list.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pyarrow as pa

from zhiwang import duck


@dataclass
class PairwiseScores:
    records: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "precision": round(self.precision, 5), "recall": round(self.recall, 5), "f1": round(self.f1, 5)}


def pairwise_scores(assignments: pa.Table) -> PairwiseScores:
    """``assignments``: one row per record with ``predicted`` and ``truth`` cluster labels (non-null)."""
    con = duck.connect()
    try:
        con.register("a", assignments)
        row = con.sql("""
            WITH p AS (SELECT count(*) AS n FROM a GROUP BY predicted),
                 t AS (SELECT count(*) AS n FROM a GROUP BY truth),
                 b AS (SELECT count(*) AS n FROM a GROUP BY predicted, truth)
            SELECT (SELECT count(*) FROM a),
                   (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM t)::BIGINT,
                   (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM p)::BIGINT,
                   (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM b)::BIGINT
        """).fetchall()[0]
    finally:
        con.close()
    return PairwiseScores(records=row[0], true_pairs=row[1], predicted_pairs=row[2], correct_pairs=row[3])


def join_truth(xref: pa.Table, truth: pa.Table, entity: str, label: str = "golden_id") -> pa.Table:
    """Records of ``entity`` in both the xref (resource, record_key → label) and the truth (resource,
    record_key → true_entity_id): ``predicted, truth``. Truth of the latest delivery wins."""
    con = duck.connect()
    try:
        con.register("x", xref)
        con.register("t", truth)
        return con.sql(f"""
            WITH latest AS (
                SELECT resource, record_key, true_entity_id FROM t
                WHERE entity = '{entity}' AND record_key IS NOT NULL AND true_entity_id IS NOT NULL
                QUALIFY row_number() OVER (PARTITION BY resource, record_key ORDER BY delivery DESC) = 1)
            SELECT x.{label} AS predicted, latest.true_entity_id AS truth
            FROM x JOIN latest ON x.resource = latest.resource AND x.record_key = latest.record_key
            WHERE x.entity = '{entity}'
        """).to_arrow_table()
    finally:
        con.close()


def id_stability(xref_before: pa.Table, xref_after: pa.Table, truth: pa.Table, entity: str,
                 unchanged: set[str] | None = None) -> dict[str, float | int]:
    """Share of true entities (optionally only the unchanged ones) whose golden ID is the same in both
    releases; an entity's golden ID is the one most of its records carry."""
    before = _majority(join_truth(xref_before, truth, entity))
    after = _majority(join_truth(xref_after, truth, entity))
    common = [e for e in before if e in after and (unchanged is None or e in unchanged)]
    kept = sum(before[e] == after[e] for e in common)
    return {"entities": len(common), "kept": kept, "share": round(kept / len(common), 5) if common else 1.0}


def _majority(pairs: pa.Table) -> dict[str, str]:
    con = duck.connect()
    try:
        con.register("p", pairs)
        rows = con.sql("""SELECT truth, arg_max(predicted, n) FROM (
                            SELECT truth, predicted, count(*) AS n FROM p GROUP BY ALL) GROUP BY truth""").fetchall()
    finally:
        con.close()
    return dict(rows)
