"""Accepted source records of one entity type, stacked across resources, ready for resolution.

Reads every staged (accepted) delivery of the entity's resources from the ledger, in ingest order, and keeps
the latest version of each source record (``record_uid = <resource>|<record_key>``): a corrected redelivery
supersedes the earlier row. Canonical columns absent from a resource are null; types are the canonical ones.

Standardized records are kept in ``resolve/_records/<entity>/`` with the list of staged files they were made
from. Staged files never change and each record's standard form depends on that record alone, so when the
files of the last load are the first files of this one, only the new files are read and standardized and
their records replace or join the kept ones: at a million persons a second delivery (≈1% changed) reads a
few tens of thousands of rows instead of three million. The kept records are ignored (and rewritten) when
the file list differs in any other way (a steward released a held delivery, a staged file is gone or was
replaced) or when the code that makes them changed.
"""

from __future__ import annotations

import json
import shutil
from functools import cache
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
    """One row per current source record, ordered by ``record_uid``: provenance columns + every canonical field
    of the entity, each in its standard form (entity_resolution/standardize/values.py) unless ``standardize``
    is False (as delivered: a baseline, a steward comparing with the source)."""
    files = staged_files(settings, catalog, entity)
    if not standardize:
        return _read_files(entity, files)
    from entity_resolution import state_files
    from entity_resolution.standardize.values import standardize_values

    folder = records_dir(settings, entity)
    manifest = [_file_key(settings.home, resource, path) for resource, path in files]
    kept = _kept_records(folder, manifest)
    if kept is not None and len(kept[1]) == len(manifest):
        return kept[0]
    if kept is None:
        # one chunk per column: the resolve stages read whole columns, and combining them there would copy each time
        records = standardize_values(entity, _read_files(entity, files)).combine_chunks()
    else:
        records = _merged(kept[0], standardize_values(entity, _read_files(entity, files[len(kept[1]):])))
    from entity_resolution.golden import replace_dir

    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state_files.write(records, tmp, "records")
    (tmp / "manifest.json").write_text(json.dumps({"code": code_version(), "files": manifest}), encoding="utf-8")
    replace_dir(tmp, folder)
    return records


def records_dir(settings: Settings, entity: str) -> Path:
    return settings.home / "resolve" / "_records" / entity


def _file_key(home: Path, resource: str, path: Path) -> list[str | int]:
    """What identifies a staged file's contents: a file replaced under the same name has another size or time.
    Paths inside the home are kept relative to it, so a home moved or restored from a copy keeps its records."""
    stat = path.stat()
    try:
        name = path.relative_to(home).as_posix()
    except ValueError:
        name = str(path)
    return [resource, name, stat.st_size, stat.st_mtime_ns]


def _kept_records(folder: Path, manifest: list[list[str | int]]) -> tuple[pa.Table, list[list[str | int]]] | None:
    """The kept records and the files they were made from, when those files are the first of ``manifest``."""
    from entity_resolution import state_files

    try:
        kept = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if kept.get("code") != code_version():
            return None
        files = [list(f) for f in kept["files"]]
        if not files or files != manifest[:len(files)]:
            return None
        return state_files.read(folder, "records"), files
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None  # missing or unreadable: made again from the staged files


def _merged(kept: pa.Table, new: pa.Table) -> pa.Table:
    """``kept`` with the records of ``new`` replacing or joining them, ordered by ``record_uid`` as a full load
    orders them (both are in that order already; the new records are few)."""
    import numpy as np
    import pyarrow.compute as pc

    if not new.num_rows:
        return kept
    new = new.cast(kept.schema)
    uids = pa.chunked_array([kept.column("record_uid").combine_chunks(), new.column("record_uid").combine_chunks()])
    # Arrow sorts text by its bytes, as DuckDB's ORDER BY does; the rows are nearly in order already (0.3 s at 3M)
    order = pc.sort_indices(uids).to_numpy()
    replaced = np.zeros(len(uids), dtype=bool)
    replaced[:kept.num_rows] = pc.is_in(uids.chunk(0), value_set=uids.chunk(1)).to_numpy(zero_copy_only=False)
    # one gather of the rows that stay and the new ones (filtering first, then sorting, copies the table twice)
    return pa.concat_tables([kept, new]).take(order[~replaced[order]]).combine_chunks()


@cache
def code_version() -> str:
    """A digest of the code that makes the records (reading, types, standard forms, and the DuckDB that casts
    them): changed code makes them afresh, never stale."""
    import hashlib

    import duckdb

    import catalog.canonical
    import entity_resolution.standardize
    import quality.validators

    digest = hashlib.sha256(duckdb.__version__.encode() + b"\0")
    paths = [Path(__file__), Path(catalog.canonical.__file__)]
    for package in (entity_resolution.standardize, quality.validators):
        paths += sorted(Path(package.__file__).parent.glob("*.py"))
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _read_files(entity: str, files: list[tuple[str, Path]]) -> pa.Table:
    """The latest version of each record in ``files`` (later files win), ordered by ``record_uid``."""
    fields = CANONICAL_FIELDS[entity]
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
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def _columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_schema(path).names


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
