"""Accepted source records of one entity type, stacked across resources, ready for resolution.

Reads every staged (accepted) delivery of the entity's resources from the ledger, in ingest order, and keeps
the latest version of each source record (``record_uid = <resource>|<record_key>``): a corrected redelivery
supersedes the earlier row. Canonical columns absent from a resource are null; types are the canonical ones.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from catalog.canonical import CANONICAL_FIELDS, allowed_types
from catalog.models import Catalog
from connectors.state import StateStore
from zhiwang import duck
from zhiwang.settings import Settings

_SQL_TYPES = {"string": "VARCHAR", "date": "DATE", "timestamp": "DATE", "decimal": "DOUBLE", "integer": "BIGINT"}
PROVENANCE_COLUMNS = ["record_uid", "_resource", "_record_key", "_batch_id", "_delivered_at"]


def canonical_sql_type(field: str) -> str:
    return _SQL_TYPES[allowed_types(field)[0]]


def staged_files(settings: Settings, catalog: Catalog, entity: str) -> list[tuple[str, Path]]:
    """(resource id, accepted Parquet) of every staged delivery of the entity, oldest ingest first."""
    resources = {r.id for r in catalog.resources_for(entity)}
    out = []
    for rec in StateStore(settings.state_db).deliveries(status="staged"):
        if rec.resource in resources and rec.staged_path and Path(rec.staged_path).exists():
            out.append((rec.resource, Path(rec.staged_path)))
    return out


def load_source_records(settings: Settings, catalog: Catalog, entity: str, *, standardize: bool = True) -> pa.Table:
    """One row per current source record: provenance columns + every canonical field of the entity, each
    in its standard form (entity_resolution/standardize/values.py)."""
    fields = CANONICAL_FIELDS[entity]
    files = staged_files(settings, catalog, entity)
    con = duck.connect()
    try:
        if not files:
            cols = ", ".join(f"NULL::{canonical_sql_type(f)} AS {f}" for f in fields)
            return con.sql(f"SELECT {', '.join(f'NULL::VARCHAR AS {c}' for c in PROVENANCE_COLUMNS[:4])}, "
                               f"NULL::TIMESTAMP AS _delivered_at, {cols} LIMIT 0").to_arrow_table()
        parts = []
        for order, (_resource_id, path) in enumerate(files):
            present = set(_columns(path))
            select = ", ".join(
                f"TRY_CAST({f} AS {canonical_sql_type(f)}) AS {f}" if f in present else f"NULL::{canonical_sql_type(f)} AS {f}"
                for f in fields
            )
            parts.append(
                f"SELECT _resource || '|' || _record_key AS record_uid, _resource, _record_key, _batch_id, "
                f"CAST(_delivered_at AS TIMESTAMP) AS _delivered_at, {select}, {order} AS _order "
                f"FROM read_parquet('{_quote(path)}')"
            )
        sql = (
            "SELECT * EXCLUDE (_order) FROM (" + " UNION ALL ".join(parts) + ") "
            "QUALIFY row_number() OVER (PARTITION BY record_uid ORDER BY _order DESC, _delivered_at DESC) = 1 "
            "ORDER BY record_uid"
        )
        records = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    if not standardize:  # as delivered (a baseline, a steward comparing with the source)
        return records
    from entity_resolution.standardize.values import standardize_values

    # one chunk per column: the resolve stages read whole columns, and combining them there would copy each time
    return standardize_values(entity, records).combine_chunks()


def _columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_schema(path).names


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
