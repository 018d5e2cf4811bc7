"""Splink on DuckDB in this process: the embedded default.

Predictions stay inside DuckDB: only pairs at or above the threshold (and pairs sharing a decisive
identifier) come out, as Arrow. Returning every blocked pair to pandas is what made a million-person city
run out of memory: most blocked pairs are non-matches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from entity_resolution.backends import PAIRS_SCHEMA
from zhiwang import duck

if TYPE_CHECKING:
    from pathlib import Path


class DuckDBBackend:
    name = "duckdb"

    def predict(self, model: dict[str, Any], new: pa.Table, existing: pa.Table | None, *, decisive: str,
                threshold: float, workdir: Path | None = None) -> pa.Table:
        from splink import DuckDBAPI, Linker

        if new.num_rows + (existing.num_rows if existing is not None else 0) < 2 or new.num_rows == 0:
            return PAIRS_SCHEMA.empty_table()
        con = duck.connect()
        try:
            api = DuckDBAPI(connection=con)
            new_table = api.register(new, dataset_display_name="new_records")
            linker = Linker(new_table, model, log_level="ERROR")
            inference = linker.inference
            # the model's rules above the threshold, then the decisive rule alone without one: a pair sharing a
            # valid identifier must survive even when every other field disagrees
            decisive_rule = [f"l.{decisive} = r.{decisive}"]
            scored = []
            if new.num_rows > 1:
                scored.append(inference.predict_within(new_table, threshold_match_probability=threshold,
                                                       warning_mode="never"))
                scored.append(inference.predict_within(new_table, blocking_rules_to_generate_predictions=decisive_rule,
                                                       warning_mode="never"))
            if existing is not None and existing.num_rows:
                old_table = api.register(existing, dataset_display_name="known_records")
                scored.append(inference.predict_between(old_table, new_table, threshold_match_probability=threshold,
                                                        warning_mode="never"))
                scored.append(inference.predict_between(old_table, new_table, warning_mode="never",
                                                        blocking_rules_to_generate_predictions=decisive_rule))
            if not scored:
                return PAIRS_SCHEMA.empty_table()
            union = " UNION ALL ".join(
                f"SELECT CAST(unique_id_l AS VARCHAR) AS l, CAST(unique_id_r AS VARCHAR) AS r, "
                f"CAST(match_probability AS DOUBLE) AS p, coalesce({decisive}_l = {decisive}_r, false) AS d "
                f"FROM {frame.physical_name}" for frame in scored)
            pairs = con.sql(f"""
                SELECT l AS record_uid_l, r AS record_uid_r, any_value(p) AS match_probability,
                       bool_or(d) AS is_decisive
                FROM ({union}) GROUP BY l, r ORDER BY l, r""").to_arrow_table()
        finally:
            con.close()
        return pairs.cast(PAIRS_SCHEMA)
