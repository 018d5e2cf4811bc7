"""Row-hash digests of golden table versions, so the next publish diffs without reading the table back.

After a publish commits table T at Delta version V, ``golden/_registry/rowhash/T/V.parquet`` holds T's key
columns and :func:`warehouse.diff.row_hashes` of every row: exactly what diffing release N+1 against
release N needs, in a few bytes per row instead of the whole table (whose map columns dominate reading
and hashing). A digest is derived data: missing, unreadable or made by another hash function, it is
ignored and the table is read instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from warehouse.layout import ROWHASH_KEY

if TYPE_CHECKING:
    from warehouse.storage import Storage

HASH_COLUMN = "_row_hash"
_META_KEY = b"zhiwang.row_hash"


def hash_id() -> str:
    """Names the hash function: DuckDB's ``hash`` may change between its versions."""
    import duckdb

    return f"1/duckdb-{duckdb.__version__}"


def digest_key(table: str, version: int) -> str:
    return f"{ROWHASH_KEY}/{table}/{version}.parquet"


def make_digest(table: pa.Table, keys: tuple[str, ...], hashes: np.ndarray) -> pa.Table:
    """``table``'s key columns and ``hashes`` as a digest table."""
    return table.select(list(keys)).append_column(HASH_COLUMN, pa.array(hashes, pa.uint64()))


def write_digest(storage: Storage, table: str, version: int, digest: pa.Table) -> None:
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(digest.replace_schema_metadata({_META_KEY: hash_id().encode()}), sink, compression="zstd")
    storage.put_bytes(digest_key(table, version), sink.getvalue().to_pybytes())


def read_digest(storage: Storage, table: str, version: int, keys: tuple[str, ...]) -> pa.Table | None:
    """The digest of ``table`` at ``version``, or None when there is no usable one."""
    import pyarrow.parquet as pq

    try:
        data = storage.read_bytes(digest_key(table, version))
        digest = pq.read_table(pa.BufferReader(data))
    except (FileNotFoundError, OSError, pa.ArrowException):
        return None
    meta = digest.schema.metadata or {}
    if meta.get(_META_KEY) != hash_id().encode() or digest.column_names != [*keys, HASH_COLUMN]:
        return None
    return digest
