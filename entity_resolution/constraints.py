"""Cannot-link constraints the data itself proves: two records carrying different valid identifiers (GB 11643
ID numbers, GB 32100 credit codes) are different entities, however similar their names and addresses.

Without them a record lacking the identifier (张伟, same estate, no ID number) can chain two different
张伟 into one cluster. The constraints join stewards' no-match decisions, so clustering keeps such records
apart by dropping the weakest edge on every path between them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from zhiwang import duck

if TYPE_CHECKING:
    from entity_resolution.clustering import PairCodes

IDENTIFIERS: dict[str, str] = {"person": "id_number", "legal_entity": "uscc"}
DECISIONS_SCHEMA = pa.schema([("record_uid_l", pa.string()), ("record_uid_r", pa.string()), ("decision", pa.string())])


def identifier_conflicts(entity: str, records: pa.Table, pairs: pa.Table, *, threshold: float,
                         encoded: PairCodes | None = None) -> pa.Table:
    """no-match decisions between records with different valid identifiers that the pairs would put in one
    cluster (one representative record per identifier and cluster). ``encoded``: see ``cluster_records``."""
    from entity_resolution import standardize as s
    from entity_resolution.clustering import components, encode_pairs

    column = IDENTIFIERS.get(entity)
    if column is None or column not in records.column_names or pairs.num_rows == 0:
        return DECISIONS_SCHEMA.empty_table()
    normalize = s.id_numbers_for_matching if column == "id_number" else s.usccs_for_matching
    valid = normalize(records.column(column).combine_chunks())
    encoded = encoded if encoded is not None else encode_pairs(records.column("record_uid"), pairs)
    keyed = pa.table({"cluster_id": components(encoded, pairs, threshold), "record_uid": encoded.uids,
                      "ident": pa.array(valid, pa.string())})
    con = duck.connect()
    try:
        con.register("k", keyed)
        return con.sql("""
            WITH reps AS (
                SELECT cluster_id, ident, min(record_uid) AS uid FROM k WHERE ident IS NOT NULL GROUP BY ALL),
            conflicted AS (SELECT cluster_id FROM reps GROUP BY cluster_id HAVING count(*) > 1)
            SELECT a.uid AS record_uid_l, b.uid AS record_uid_r, 'no-match' AS decision
            FROM reps a JOIN reps b ON a.cluster_id = b.cluster_id AND a.ident < b.ident
            WHERE a.cluster_id IN (SELECT cluster_id FROM conflicted)
            ORDER BY 1, 2
        """).to_arrow_table().cast(DECISIONS_SCHEMA)
    finally:
        con.close()
