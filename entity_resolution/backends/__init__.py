"""Where Splink scores record pairs: DuckDB in this process (the default) or a Spark cluster (scale-out).

Both take the saved model and standardized matching rows as Arrow tables and return the same pairs
(``PAIRS_SCHEMA``): every pair at or above the threshold, and every pair sharing a valid value of the
entity's decisive identifier whatever its probability. Pick one with ``ZHIWANG_SPLINK_BACKEND``
(``duckdb`` | ``spark``); the Spark backend reads ``ZHIWANG_SPARK_MASTER`` (default ``local[2]``).
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import pyarrow as pa

PAIRS_SCHEMA = pa.schema([("record_uid_l", pa.string()), ("record_uid_r", pa.string()),
                          ("match_probability", pa.float64()), ("is_decisive", pa.bool_())])
BACKEND_NAMES = ("duckdb", "spark")


class SplinkBackend(Protocol):
    name: str

    def predict(self, model: dict[str, Any], new: pa.Table, existing: pa.Table | None, *, decisive: str,
                threshold: float) -> pa.Table:
        """Pairs within ``new`` and, when given, between ``existing`` and ``new`` (never within ``existing``);
        rows are keyed by ``unique_id``. Returns ``PAIRS_SCHEMA`` with ``record_uid_l`` < ``record_uid_r``
        for pairs within ``new`` and ``record_uid_l`` from ``existing`` for pairs between."""
        ...


def scored_frames(inference: Any, new_table: Any, old_table: Any | None, *, within: bool, decisive: str,
                  threshold: float) -> list[Any]:
    """Splink's scored pairs for one backend call: the model's rules above ``threshold``, then the decisive
    rule alone without one (a pair sharing a valid identifier must survive even when every other field
    disagrees); within ``new_table`` when ``within``, and between ``old_table`` and it when given."""
    decisive_rule = [f"l.{decisive} = r.{decisive}"]
    frames = []
    if within:
        frames.append(inference.predict_within(new_table, threshold_match_probability=threshold, warning_mode="never"))
        frames.append(inference.predict_within(new_table, blocking_rules_to_generate_predictions=decisive_rule,
                                               warning_mode="never"))
    if old_table is not None:
        frames.append(inference.predict_between(old_table, new_table, threshold_match_probability=threshold,
                                                warning_mode="never"))
        frames.append(inference.predict_between(old_table, new_table, warning_mode="never",
                                                blocking_rules_to_generate_predictions=decisive_rule))
    return frames


def pairs_sql(frames: list[Any], decisive: str, text_type: str) -> str:
    """One row per pair over every scored frame (a pair both rules found once), ``PAIRS_SCHEMA`` columns."""
    union = " UNION ALL ".join(
        f"SELECT CAST(unique_id_l AS {text_type}) AS l, CAST(unique_id_r AS {text_type}) AS r, "
        f"CAST(match_probability AS DOUBLE) AS p, coalesce({decisive}_l = {decisive}_r, false) AS d "
        f"FROM {frame.physical_name}" for frame in frames)
    return (f"SELECT l AS record_uid_l, r AS record_uid_r, any_value(p) AS match_probability, bool_or(d) AS is_decisive "
            f"FROM ({union}) GROUP BY l, r ORDER BY l, r")


def backend_name() -> str:
    from zhiwang.errors import ConfigError

    name = (os.environ.get("ZHIWANG_SPLINK_BACKEND") or "duckdb").strip().lower()
    if name not in BACKEND_NAMES:
        raise ConfigError(f"ZHIWANG_SPLINK_BACKEND = {name!r} is not one of: {', '.join(BACKEND_NAMES)}. "
                          "Unset it to score pairs with DuckDB in this process.")
    return name


def get_backend(name: str | None = None) -> SplinkBackend:
    """The backend called ``name``, or the configured one (``ZHIWANG_SPLINK_BACKEND``)."""
    name = name or backend_name()
    if name == "spark":
        from entity_resolution.backends.spark import SparkBackend

        return SparkBackend()
    from entity_resolution.backends.duckdb import DuckDBBackend

    return DuckDBBackend()
