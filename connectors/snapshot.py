"""Snapshot diffing: a full redelivery is validated and staged only where it changed.

Departments deliver full snapshots; most rows are the same as last month. After a delivery is read and typed,
each row gets a hash of its delivered values (every ``src_*`` column, in order, nulls distinct from empty
text). A row whose record key and hash equal the row last *accepted* for that key in an earlier staged
delivery is *unchanged*: it is counted (``rows_unchanged``) but neither validated nor staged again, and
downstream keeps reading it from the earlier staged file (``entity_resolution.sources`` keeps the latest
staged version of each record). Everything else goes through the quality gate as before, including rows
whose record key occurs more than once in this delivery, so uniqueness is judged over the whole delivery.

The comparison reads a compact index per resource, ``staging/<resource>/_index/accepted_rows.parquet``
(``record_key, row_hash, batch_id``; one row per key whose latest verdict was acceptance), written atomically
after each staged delivery. Its metadata holds a fingerprint of the resource's mapping (record key and
fields: columns, targets, types, formats, checks and severities) and of the hash function, and the batches
merged into it. It is ignored — the delivery is processed in full and the index written afresh from it —
when it is missing, unreadable, made for another mapping, or does not cover exactly the resource's staged
deliveries in the ledger (a crash between staging and the ledger, a steward's release of a held delivery).

``ZHIWANG_SNAPSHOT_DIFF=off`` processes every row in full (the index is still kept up to date).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from catalog.models import Resource
from zhiwang.errors import ConfigError

ENV_SWITCH = "ZHIWANG_SNAPSHOT_DIFF"
INDEX_VERSION = 1
"""Raise when the row hash or the index layout changes: every index is then rebuilt from the next delivery."""
_ON = {"", "on", "1", "true", "yes"}
_OFF = {"off", "0", "false", "no"}
INDEX_SCHEMA = pa.schema([("record_key", pa.string()), ("row_hash", pa.uint64()), ("batch_id", pa.string())])


def diff_enabled() -> bool:
    """Whether unchanged rows are skipped (``ZHIWANG_SNAPSHOT_DIFF``, default on)."""
    value = os.environ.get(ENV_SWITCH, "on").strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ConfigError(f"{ENV_SWITCH}={os.environ[ENV_SWITCH]!r} is not understood: set it to on (skip rows unchanged "
                      "since the last delivery, the default) or off (validate and stage every row of every delivery)")


def index_path(staging_dir: Path, resource_id: str) -> Path:
    return staging_dir / resource_id / "_index" / "accepted_rows.parquet"


def mapping_fingerprint(resource: Resource) -> str:
    """What decides a row's staged form and verdict: a change to any of it re-judges every row once."""
    import duckdb

    spec = {
        "version": INDEX_VERSION,
        "hash": f"duckdb-{duckdb.__version__}",  # DuckDB's hash() is stable within a version, not across
        "record_key": resource.record_key,
        "fields": [f.model_dump(mode="json") for f in resource.fields],
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def row_hashes(mapped_path: Path) -> pa.Table:
    """``_row_number, _record_key, row_hash`` for every row of a mapped delivery."""
    from zhiwang import duck

    names = pq.read_schema(mapped_path).names
    src = [c for c in names if c.startswith("src_")]
    # hash() takes each value separately (NULL distinct from ""), so no separator can make two rows alike
    values = ", ".join(_ident(c) for c in src) or "NULL"
    con = duck.connect()
    try:
        table = con.sql(
            f"SELECT _row_number, _record_key, hash({_literal(json.dumps(src, ensure_ascii=False))}, {values}) AS row_hash "
            f"FROM read_parquet({_literal(str(mapped_path))})"
        ).to_arrow_table()
    finally:
        con.close()
    return table.cast(pa.schema([("_row_number", pa.int64()), ("_record_key", pa.string()), ("row_hash", pa.uint64())]))


@dataclass
class SnapshotIndex:
    """The accepted-rows index of one resource as loaded for a delivery (``table`` None = not usable)."""

    table: pa.Table | None
    batches: list[str]
    note: str | None
    """Why the index was not used, for the delivery's message; None when it was used or simply absent."""


def load_index(staging_dir: Path, resource: Resource, staged_batches: list[str]) -> SnapshotIndex:
    """The index if it is sound for this mapping and covers exactly ``staged_batches`` (see module doc)."""
    path = index_path(staging_dir, resource.id)
    if not path.exists():
        return SnapshotIndex(None, [], None)
    try:
        file = pq.ParquetFile(path)
        meta = {k.decode(): v.decode() for k, v in (file.schema_arrow.metadata or {}).items()}
        table = file.read()
        batches = json.loads(meta.get("zhiwang.batches", "null"))
    except (OSError, ValueError, pa.ArrowException) as exc:
        return SnapshotIndex(None, [], f"the snapshot index {path} is unreadable ({exc}); every row was validated")
    if meta.get("zhiwang.mapping") != mapping_fingerprint(resource):
        return SnapshotIndex(None, [], "the catalog entry's mapping changed since the last delivery; every row was validated")
    if not isinstance(batches, list) or table.schema.remove_metadata() != INDEX_SCHEMA:
        return SnapshotIndex(None, [], f"the snapshot index {path} is malformed; every row was validated")
    if sorted(batches) != sorted(staged_batches):
        return SnapshotIndex(None, [], None)  # a crash or a release since: stale for sure, rebuilt from this delivery
    return SnapshotIndex(table, batches, None)


def unchanged_rows(hashes: pa.Table, index: pa.Table, batch_id: str) -> pa.Array:
    """Row numbers of rows equal to their key's accepted row, keys duplicated in this delivery excepted."""
    counts = hashes.group_by("_record_key").aggregate([("_record_key", "count")])
    repeated = counts.filter(pc.greater(counts["_record_key_count"], 1))["_record_key"]
    single = hashes.filter(pc.invert(pc.fill_null(pc.is_in(hashes["_record_key"], value_set=repeated), False)))
    earlier = index.filter(pc.not_equal(index["batch_id"], batch_id)).rename_columns(["_record_key", "row_hash", "batch_id"])
    same = single.join(earlier, keys=["_record_key", "row_hash"], join_type="inner")
    return same["_row_number"].combine_chunks()


def update_index(staging_dir: Path, resource: Resource, batch_id: str, base: SnapshotIndex, hashes: pa.Table,
                 accepted_path: Path, quarantined_keys: list[str | None], staged_batches: list[str]) -> Path:
    """Merge one staged delivery into the index: its accepted rows become their keys' entries; keys it
    quarantined (or accepted more than once) leave it, so they are judged again next time. Atomic."""
    accepted = pq.read_table(accepted_path, columns=["_row_number"])
    mine = hashes.join(accepted, keys="_row_number", join_type="inner")
    counts = mine.group_by("_record_key").aggregate([("_record_key", "count")])
    repeated = counts.filter(pc.greater(counts["_record_key_count"], 1))["_record_key"].combine_chunks()
    fresh = mine.filter(pc.invert(pc.fill_null(pc.is_in(mine["_record_key"], value_set=repeated), False)))
    fresh_table = pa.table({
        "record_key": fresh["_record_key"], "row_hash": fresh["row_hash"],
        "batch_id": pa.array([batch_id] * fresh.num_rows, pa.string()),
    }, schema=INDEX_SCHEMA)
    leaving = pa.concat_arrays([
        fresh["_record_key"].combine_chunks().cast(pa.string()), repeated.cast(pa.string()),
        pa.array([k for k in quarantined_keys if k is not None], pa.string()),
    ])
    parts = [fresh_table]
    batches = sorted({*staged_batches, batch_id})
    if base.table is not None:
        kept = base.table.filter(pc.invert(pc.fill_null(pc.is_in(base.table["record_key"], value_set=leaving), False)))
        parts.insert(0, kept.cast(INDEX_SCHEMA))
    # without a sound earlier index this delivery alone is the index: a subset of what could be skipped, so safe
    table = pa.concat_tables(parts).replace_schema_metadata({
        "zhiwang.mapping": mapping_fingerprint(resource), "zhiwang.batches": json.dumps(batches),
        "zhiwang.resource": resource.id,
    })
    path = index_path(staging_dir, resource.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    pq.write_table(table, tmp)
    os.replace(tmp, path)  # the next delivery reads the old index or the new one, never half
    return path


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
