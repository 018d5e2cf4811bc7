"""What the sharing server reads from a Delta table: a snapshot's files, its metadata, a commit's actions.

Snapshots go through ``deltalake``; a single commit's actions are read from its ``_delta_log`` JSON file
(the log is kept forever: see DELTA_CONFIG), which is what the change data feed endpoint needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from warehouse.storage import Storage


@dataclass(frozen=True)
class FileRef:
    kind: str
    """add | remove | cdc"""
    path: str
    size: int
    partition_values: dict[str, str]
    version: int | None = None
    timestamp: int | None = None


def snapshot(storage: Storage, table: str, version: int) -> tuple[list[FileRef], dict[str, Any]]:
    """The data files of the table at key ``table`` at ``version`` and its Delta Sharing ``metaData`` object."""
    import pyarrow as pa
    from deltalake import DeltaTable

    dt = DeltaTable(storage.uri(table), version=version, storage_options=storage.storage_options)
    actions = pa.table(dt.get_add_actions(flatten=True))
    files = [FileRef("add", path, int(size), {})
             for path, size in zip(actions.column("path").to_pylist(), actions.column("size_bytes").to_pylist(), strict=True)]
    meta = dt.metadata()
    metadata = {
        "id": meta.id, "format": {"provider": "parquet"}, "schemaString": dt.schema().to_json(),
        "partitionColumns": list(meta.partition_columns), "configuration": dict(meta.configuration),
        "version": version, "numFiles": len(files), "size": sum(f.size for f in files),
    }
    if meta.name:
        metadata["name"] = meta.name
    return files, metadata


def commit_actions(storage: Storage, table: str, version: int) -> list[FileRef]:
    """File actions of one commit, as the Delta Sharing change feed returns them: the commit's ``cdc``
    files when it wrote any (they hold exactly the changed rows), else its data adds and removes."""
    log = storage.read_bytes(f"{table}/_delta_log/{version:020d}.json").decode("utf-8")
    timestamp, adds, removes, cdcs = None, [], [], []
    for line in log.splitlines():
        action = json.loads(line)
        if "commitInfo" in action:
            timestamp = action["commitInfo"].get("timestamp")
        for kind, bucket in (("add", adds), ("remove", removes), ("cdc", cdcs)):
            body = action.get(kind)
            # an add/remove with dataChange false (compaction) changes no row; cdc files always carry changes
            if body is not None and (kind == "cdc" or body.get("dataChange", True)):
                bucket.append((body["path"], int(body.get("size") or 0), body.get("partitionValues") or {}))
    chosen = [("cdc", cdcs)] if cdcs else [("add", adds), ("remove", removes)]
    return [FileRef(kind, path, size, pv, version=version, timestamp=timestamp)
            for kind, bucket in chosen for path, size, pv in bucket]
