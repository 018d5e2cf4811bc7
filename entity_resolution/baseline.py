"""Plain Splink on the raw columns: the yardstick our resolution is measured against.

Splink's stock comparisons (exact, Jaro-Winkler, Levenshtein, distance) on the canonical columns as delivered,
no CJK standardization, no decisive identifiers; trained the way Splink's tutorials train (prior from an
exact-identifier block, u by random sampling, m by EM on two blocks), predicted at 0.5 and clustered with
Splink's own connected components at 0.9. ``benchmarks/er_accuracy.py`` compares accuracy with it and
``zhiwang bench`` compares time with it ("bare Splink dedupe").
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from zhiwang import duck

# entity → (raw columns, stock comparisons, blocking rules); the first block also estimates the prior
STOCK: dict[str, tuple[list[str], Any, list[tuple[str, ...]]]] = {
    "person": (["name", "id_number", "birth_date", "phone", "residence_address"],
               lambda cl: [cl.ExactMatch("id_number"), cl.JaroWinklerAtThresholds("name"), cl.ExactMatch("birth_date"),
                           cl.ExactMatch("phone"), cl.LevenshteinAtThresholds("residence_address", [2, 5])],
               [("id_number",), ("name", "birth_date"), ("phone",)]),
    "legal_entity": (["name", "uscc", "legal_rep_name", "registered_address"],
                     lambda cl: [cl.ExactMatch("uscc"), cl.JaroWinklerAtThresholds("name"), cl.ExactMatch("legal_rep_name"),
                                 cl.LevenshteinAtThresholds("registered_address", [2, 5])],
                     [("uscc",), ("name",), ("legal_rep_name",)]),
    "building": (["building_code", "address", "lon", "lat"],
                 lambda cl: [cl.ExactMatch("building_code"), cl.LevenshteinAtThresholds("address", [2, 5]),
                             cl.DistanceInKMAtThresholds("lat", "lon", [0.05, 0.3])],
                 [("building_code",), ("address",)]),
}


@dataclass
class PlainSplinkRun:
    clusters: pa.Table
    """``record_uid, cluster_id`` of every record."""
    pairs: int
    seconds: float
    """Training + prediction + clustering, wall time (registering the input excluded)."""


def plain_splink_dedupe(records: pa.Table, entity: str, *, threshold: float = 0.9, seed: int = 1) -> PlainSplinkRun:
    """Dedupe ``records`` (``record_uid`` + the raw canonical columns of ``entity``) with stock Splink."""
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    from splink import comparison_library as cl

    columns, comparisons, blocks = STOCK[entity]
    text = [c for c in columns if c not in ("lat", "lon")]
    raw = records.select(["record_uid", *columns])
    raw = pa.table({c: raw.column(c).cast(pa.string()) if c in text else raw.column(c) for c in raw.column_names})
    con = duck.connect()
    try:
        api = DuckDBAPI(connection=con)
        table = api.register(raw, dataset_display_name=f"raw_{entity}")
        start = time.perf_counter()
        linker = Linker(table, SettingsCreator(
            link_type="dedupe_only", unique_id_column_name="record_uid", comparisons=comparisons(cl),
            blocking_rules_to_generate_predictions=[block_on(*b) for b in blocks],
        ), log_level="ERROR")
        linker.training.estimate_probability_two_random_records_match([block_on(*blocks[0])], recall=0.7)
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
        for b in blocks[:2]:
            linker.training.estimate_parameters_using_expectation_maximisation(block_on(*b))
        predictions = linker.inference.predict(threshold_match_probability=0.5)
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
        clusters = con.sql(f"SELECT CAST(record_uid AS VARCHAR) AS record_uid, CAST(cluster_id AS VARCHAR) AS cluster_id "
                           f"FROM {clustered.physical_name}").to_arrow_table()
        pairs = con.sql(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0][0]
        seconds = time.perf_counter() - start
    finally:
        con.close()
    return PlainSplinkRun(clusters=clusters, pairs=pairs, seconds=seconds)


def clusters_as_xref(entity: str, clusters: pa.Table) -> pa.Table:
    """``entity, resource, record_key, golden_id`` from ``record_uid, cluster_id`` (for scoring against truth)."""
    import pyarrow.compute as pc

    parts = pc.split_pattern(clusters.column("record_uid"), "|", max_splits=1)
    return pa.table({"entity": pa.array([entity] * clusters.num_rows, pa.string()),
                     "resource": pc.list_element(parts, 0), "record_key": pc.list_element(parts, 1),
                     "golden_id": clusters.column("cluster_id")})
