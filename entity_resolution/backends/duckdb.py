"""Splink on DuckDB in this process: the embedded default.

Predictions stay inside DuckDB: only pairs at or above the threshold (and pairs sharing a decisive
identifier) come out, as Arrow. Returning every blocked pair to pandas is what made a million-person city
run out of memory: most blocked pairs are non-matches.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from entity_resolution.backends import PAIRS_SCHEMA, pairs_sql, scored_frames
from zhiwang import duck


class DuckDBBackend:
    name = "duckdb"

    def predict(self, model: dict[str, Any], new: pa.Table, existing: pa.Table | None, *, decisive: str,
                threshold: float) -> pa.Table:
        from splink import DuckDBAPI, Linker

        if new.num_rows + (existing.num_rows if existing is not None else 0) < 2 or new.num_rows == 0:
            return PAIRS_SCHEMA.empty_table()
        con = duck.connect()
        try:
            api = DuckDBAPI(connection=con)
            new_table = api.register(new, dataset_display_name="new_records")
            linker = Linker(new_table, model, log_level="ERROR")
            old_table = (api.register(existing, dataset_display_name="known_records")
                         if existing is not None and existing.num_rows else None)
            frames = scored_frames(linker.inference, new_table, old_table, within=new.num_rows > 1, decisive=decisive,
                                   threshold=threshold)
            if not frames:
                return PAIRS_SCHEMA.empty_table()
            pairs = con.sql(pairs_sql(frames, decisive, "VARCHAR")).to_arrow_table()
        finally:
            con.close()
        return pairs.cast(PAIRS_SCHEMA)
