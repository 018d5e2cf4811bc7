"""Writing Delta tables so that a new state touches only the rows that changed.

``upsert_table`` makes a Delta table hold exactly a given Arrow table (or, with ``scope``, exactly that
table within the rows matching ``scope``): it diffs against the latest version on the key and merges
only inserted, updated and deleted rows, so the change data feed of the commit holds just those rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from warehouse.layout import DELTA_CONFIG


def upsert_table(path: Path | str, table: pa.Table, keys: tuple[str, ...], metadata: dict[str, str],
                 scope: Any = None, known: tuple[int, pa.Table] | None = None,
                 storage_options: dict[str, str] | None = None) -> int:
    """Commit ``table`` to the Delta table at ``path`` (a directory or an object-store URI, opened with
    ``storage_options``; created with the change data feed on) and return the resulting version; no commit
    is made when nothing changed. ``scope`` is a pyarrow filter expression limiting which existing rows are
    compared (and so may be deleted); ``known`` = (version, content) already read by the caller, reused when
    that version is still the latest."""
    from deltalake import CommitProperties, DeltaTable, write_deltalake

    from warehouse.diff import row_delta

    uri = str(path)
    props = CommitProperties(custom_metadata=metadata)
    opts = storage_options
    if not DeltaTable.is_deltatable(uri, storage_options=opts):
        write_deltalake(uri, table, mode="overwrite", configuration=DELTA_CONFIG, commit_properties=props,
                        storage_options=opts)
        return DeltaTable(uri, storage_options=opts).version()
    dt = DeltaTable(uri, storage_options=opts)
    # Compare with the latest Delta version, not the last release: a crashed publish may have committed
    # since, and the upsert must leave the table equal to ``table`` whatever it starts from.
    if known is not None and scope is None and known[0] == dt.version():
        old = known[1]
    else:
        old = dt.to_pyarrow_dataset().to_table(filter=scope)
    delta = row_delta(table, old, keys)
    if delta.num_rows == 0:
        return dt.version()
    on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    updates = {column: f"s.{column}" for column in table.column_names}
    (
        dt.merge(source=delta, predicate=on, source_alias="s", target_alias="t", commit_properties=props)
        .when_matched_update(updates=updates, predicate="s._op = 'U'")
        .when_matched_delete(predicate="s._op = 'D'")
        .when_not_matched_insert(updates=updates, predicate="s._op = 'I'")
        .execute()
    )
    return DeltaTable(uri, storage_options=opts).version()
