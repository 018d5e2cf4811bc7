"""Stable golden IDs: map this run's clusters onto the previous run's golden IDs by record overlap.

Inputs (pyarrow Tables):
- ``clusters``: ``record_uid, cluster_id`` from :func:`entity_resolution.clustering.cluster_records`.
- ``previous_xref``: ``record_uid, golden_id`` of the previous run (None on the first run).
- ``previous_registry``: every golden ID ever issued for the entity: ``golden_id, status`` (active | merged |
  retired), ``merged_into``, ``first_seen_release``, ``changed_release`` (None on the first run).

Rules (issue 4):
- A previous ID's *main part* is the new cluster holding most of its records (tie: the cluster whose smallest
  record_uid sorts first). It survives only there; its other parts are splits and get new IDs.
- A cluster that is the main part of several previous IDs keeps the oldest (``first_seen_release``, then
  lexical); the others become ``merged`` with ``merged_into`` = the survivor.
- A previous ID none of whose records is present any more becomes ``retired``.
- Merged and retired IDs stay in the registry for ever and resolve through the redirect table.

New IDs: ``<prefix><16 hex of sha256(entity|smallest record_uid of the cluster|salt)>``, salt 0, 1, 2 …
taking the first value not already in the registry or minted in this run. The smallest record_uid is a
property of the cluster, not of row order or Splink's cluster numbering, so the same input and previous
state always mint the same IDs; a rerun with the state a run produced maps every cluster onto its existing
ID and mints nothing (idempotent); and a new delivery whose records join existing clusters leaves every
other cluster's ID untouched. The salt matters when a cluster's smallest record once named an ID that has
since been merged or retired: a retired ID is never reissued to something else.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from catalog.canonical import GOLDEN_ID_PREFIX
from zhiwang import duck

REGISTRY_SCHEMA = pa.schema([
    ("golden_id", pa.string()), ("status", pa.string()), ("merged_into", pa.string()),
    ("first_seen_release", pa.int64()), ("changed_release", pa.int64()),
])
XREF_STATE_SCHEMA = pa.schema([("record_uid", pa.string()), ("golden_id", pa.string())])
EVENTS_SCHEMA = pa.schema([("golden_id", pa.string()), ("change", pa.string()), ("related_id", pa.string())])
REDIRECTS_SCHEMA = pa.schema([
    ("golden_id", pa.string()), ("status", pa.string()), ("merged_into", pa.string()), ("resolved_id", pa.string()),
])
_HEX = 16


@dataclass
class IdAssignment:
    assignment: pa.Table
    """record_uid, golden_id: every clustered record once, in the order of ``clusters``."""
    registry: pa.Table
    """REGISTRY_SCHEMA: previous IDs with updated status plus the new ones."""
    events: pa.Table
    """EVENTS_SCHEMA: new | split (related_id = the ID it split from) | merged (related_id = survivor) | retired."""
    redirects: pa.Table
    """REDIRECTS_SCHEMA: every merged or retired ID → the active ID it resolves to (null when none)."""


def mint_id(entity: str, smallest_uid: str, salt: int = 0) -> str:
    """The candidate ID for a cluster (see the module docstring); equals DuckDB's expression in assign_ids."""
    import hashlib

    digest = hashlib.sha256(f"{entity}|{smallest_uid}|{salt}".encode()).hexdigest()
    return GOLDEN_ID_PREFIX[entity] + digest[:_HEX].upper()


def assign_ids(entity: str, clusters: pa.Table, previous_xref: pa.Table | None, previous_registry: pa.Table | None,
               *, release: int, con: duckdb.DuckDBPyConnection | None = None,
               scope: pa.Array | None = None) -> IdAssignment:
    """Give every cluster a golden ID, keeping previous IDs by overlap; see the module docstring.

    ``scope``: when ``clusters`` hold only part of the records (entity_resolution/scope.py), the previous IDs
    those records can touch; only these may be retired. The registry still comes back whole, and new IDs
    still avoid every ID it holds."""
    own = con is None
    con = con or duck.connect()
    try:
        con.register("cl_in", clusters.select(["record_uid", "cluster_id"]))
        con.register("px", previous_xref.select(["record_uid", "golden_id"]) if previous_xref is not None
                     else XREF_STATE_SCHEMA.empty_table())
        con.register("preg", previous_registry.select(REGISTRY_SCHEMA.names).cast(REGISTRY_SCHEMA)
                     if previous_registry is not None else REGISTRY_SCHEMA.empty_table())
        con.register("pscope", pa.table({"golden_id": (scope if scope is not None else pa.array([], pa.string()))
                                         .cast(pa.string())}))
        in_scope = "AND golden_id IN (SELECT golden_id FROM pscope)" if scope is not None else ""
        con.execute("""
            CREATE OR REPLACE TEMP TABLE cl AS SELECT cluster_id, min(record_uid) AS min_uid FROM cl_in GROUP BY 1;
            CREATE OR REPLACE TEMP TABLE ov AS
                SELECT c.cluster_id, px.golden_id, count(*) AS k FROM cl_in c JOIN px USING (record_uid) GROUP BY 1, 2;
            -- each previous ID's main part: most of its records, tie on the smallest record_uid
            CREATE OR REPLACE TEMP TABLE main_part AS
                SELECT ov.golden_id, ov.cluster_id FROM ov JOIN cl USING (cluster_id)
                QUALIFY row_number() OVER (PARTITION BY ov.golden_id ORDER BY ov.k DESC, cl.min_uid) = 1;
            -- clusters claimed by several IDs keep the oldest; rank 1 survives, the others merge into it
            CREATE OR REPLACE TEMP TABLE claim AS
                SELECT m.cluster_id, m.golden_id,
                       row_number() OVER (PARTITION BY m.cluster_id
                                          ORDER BY coalesce(r.first_seen_release, 0), m.golden_id) AS rn
                FROM main_part m LEFT JOIN preg r USING (golden_id);
            -- clusters no previous ID claims get new IDs; "split from" the ID they hold most records of
            CREATE OR REPLACE TEMP TABLE fresh AS
                SELECT cl.cluster_id, cl.min_uid, t.golden_id AS split_from
                FROM cl LEFT JOIN (SELECT cluster_id, golden_id FROM ov QUALIFY row_number() OVER
                                   (PARTITION BY cluster_id ORDER BY k DESC, golden_id) = 1) t USING (cluster_id)
                WHERE cl.cluster_id NOT IN (SELECT cluster_id FROM claim WHERE rn = 1);
        """)
        prefix = GOLDEN_ID_PREFIX[entity]
        minted = con.sql(f"""
            SELECT cluster_id, min_uid, split_from,
                   '{prefix}' || upper(substr(sha256('{entity}|' || min_uid || '|0'), 1, {_HEX})) AS golden_id
            FROM fresh ORDER BY min_uid""").to_arrow_table()
        minted = _resolve_collisions(entity, minted, con)
        con.register("minted", minted)
        per_cluster = con.sql("""SELECT cluster_id, golden_id FROM claim WHERE rn = 1
                                 UNION ALL SELECT cluster_id, golden_id FROM minted""").to_arrow_table()
        # records keep their order (a lookup on the integer cluster id, not a join): survivorship then reads
        # the assignment row for row instead of looking every record up
        where = pc.index_in(clusters.column("cluster_id"), value_set=per_cluster.column("cluster_id").combine_chunks())
        assignment = pa.table({"record_uid": clusters.column("record_uid"),
                               "golden_id": per_cluster.column("golden_id").take(where)})
        events = con.sql(f"""
            SELECT golden_id, CASE WHEN split_from IS NULL THEN 'new' ELSE 'split' END AS change, split_from AS related_id
            FROM minted
            UNION ALL
            SELECT m.golden_id, 'merged', s.golden_id FROM claim m JOIN claim s ON s.cluster_id = m.cluster_id AND s.rn = 1
            WHERE m.rn > 1
            UNION ALL
            SELECT golden_id, 'retired', NULL FROM preg WHERE status = 'active' AND golden_id NOT IN (SELECT golden_id FROM ov)
                {in_scope}
            ORDER BY 1""").to_arrow_table().cast(EVENTS_SCHEMA)
        con.register("ev", events)
        registry = con.sql(f"""
            SELECT r.golden_id,
                   CASE ev.change WHEN 'merged' THEN 'merged' WHEN 'retired' THEN 'retired' ELSE r.status END AS status,
                   CASE ev.change WHEN 'merged' THEN ev.related_id ELSE r.merged_into END AS merged_into,
                   r.first_seen_release,
                   CASE WHEN ev.change IN ('merged', 'retired') THEN {int(release)} ELSE r.changed_release END
            FROM preg r LEFT JOIN ev ON ev.golden_id = r.golden_id AND ev.change IN ('merged', 'retired')
            UNION ALL
            SELECT golden_id, 'active', NULL, {int(release)}, {int(release)} FROM minted
            ORDER BY 1""").to_arrow_table().rename_columns(REGISTRY_SCHEMA.names).cast(REGISTRY_SCHEMA)
        return IdAssignment(assignment=assignment.cast(XREF_STATE_SCHEMA), registry=registry, events=events,
                            redirects=redirect_table(registry, con))
    finally:
        if own:
            con.close()
        else:  # a caller's connection keeps nothing of ours
            con.execute("DROP TABLE IF EXISTS cl; DROP TABLE IF EXISTS ov; DROP TABLE IF EXISTS main_part; "
                        "DROP TABLE IF EXISTS claim; DROP TABLE IF EXISTS fresh")
            for name in ("cl_in", "px", "preg", "pscope", "minted", "ev"):
                con.unregister(name)


def _resolve_collisions(entity: str, minted: pa.Table, con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Re-salt the (rare) candidates already in the registry or shared by two new clusters, in min_uid order."""
    con.register("cand", minted)
    clashes = {uid for (uid,) in con.sql("""
        SELECT min_uid FROM cand
        WHERE golden_id IN (SELECT golden_id FROM preg)
           OR golden_id IN (SELECT golden_id FROM cand GROUP BY 1 HAVING count(*) > 1)""").fetchall()}
    taken: set[str] = set()
    if clashes:
        taken = {g for (g,) in con.sql("""
            SELECT golden_id FROM preg UNION
            SELECT golden_id FROM cand WHERE golden_id NOT IN (SELECT golden_id FROM preg)
            GROUP BY 1 HAVING count(*) = 1""").fetchall()}
    con.unregister("cand")
    if not clashes:
        return minted
    uids, ids = minted.column("min_uid").to_pylist(), minted.column("golden_id").to_pylist()
    for i, uid in enumerate(uids):  # minted is in min_uid order, so the outcome is deterministic
        if uid in clashes:
            salt = 0
            while (candidate := mint_id(entity, uid, salt)) in taken:
                salt += 1
            taken.add(candidate)
            ids[i] = candidate
    return minted.set_column(minted.schema.get_field_index("golden_id"), "golden_id", pa.array(ids, pa.string()))


def redirect_table(registry: pa.Table, con: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
    """Every merged or retired ID with the active ID it resolves to by following merged_into (null if none)."""
    own = con is None
    con = con or duck.connect()
    try:
        con.register("reg_r", registry)
        out = con.sql("""
            WITH RECURSIVE chain(golden_id, target, depth) AS (
                SELECT golden_id, merged_into, 1 FROM reg_r WHERE status = 'merged'
                UNION ALL
                SELECT c.golden_id, r.merged_into, c.depth + 1 FROM chain c JOIN reg_r r ON r.golden_id = c.target
                WHERE r.status = 'merged' AND c.depth < 1000
            ), final AS (
                SELECT golden_id, arg_max(target, depth) AS target FROM chain GROUP BY 1
            )
            SELECT r.golden_id, r.status, r.merged_into,
                   CASE WHEN t.status = 'active' THEN t.golden_id END AS resolved_id
            FROM reg_r r LEFT JOIN final f USING (golden_id) LEFT JOIN reg_r t ON t.golden_id = f.target
            WHERE r.status <> 'active' ORDER BY 1""").to_arrow_table()
        con.unregister("reg_r")
        return out.cast(REDIRECTS_SCHEMA)
    finally:
        if own:
            con.close()


def resolve(golden_id: str, registry: pa.Table) -> str | None:
    """The active ID ``golden_id`` stands for today: itself, its merge survivor (following chains), or None
    when it was retired (or is unknown)."""
    rows = {r["golden_id"]: r for r in registry.select(["golden_id", "status", "merged_into"]).to_pylist()}
    seen: set[str] = set()
    current: str | None = golden_id
    while current is not None and current not in seen:
        seen.add(current)
        row = rows.get(current)
        if row is None or row["status"] == "retired":
            return None
        if row["status"] == "active":
            return current
        current = row["merged_into"]
    return None
