"""Entity-resolution accuracy on the demo city against its ground truth, beside a plain-Splink baseline.

Generates a city (delivery 1, then delivery 2), runs the whole chain after each, and prints per entity:
pairwise precision / recall / F1; golden-ID stability of unchanged entities across the two deliveries;
golden attribute accuracy (golden value = true clean value, after the same normalisation a steward would
accept); and a plain-Splink baseline per entity (Splink's stock comparisons on the raw columns, no CJK
standardization) for each entity, clustered at the same threshold.

    .venv/bin/python benchmarks/er_accuracy.py --persons 20000 --seed 3 [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ENTITIES = ("person", "legal_entity", "building")
TRUTH_FILES = {"person": ("persons", "person_id"), "legal_entity": ("legal_entities", "entity_id"),
               "building": ("buildings", "building_id")}
ATTRIBUTES = {"person": ["name", "id_number", "gender", "birth_date", "phone", "district_code"],
              "legal_entity": ["name", "uscc", "legal_rep_name", "established_date", "district_code"],
              "building": ["building_code", "district_code", "floors"]}


def attribute_accuracy(settings, entity: str, truth_dir: Path, release: int) -> dict[str, float]:
    """Share of golden entities (mapped to their majority true entity) whose value equals the truth."""
    from entity_resolution.evaluation import _majority, join_truth
    from warehouse.registry import read_table

    xref = read_table(settings, "xref", release)
    records = pq.read_table(truth_dir / "records.parquet")
    golden_to_truth = {g: t for t, g in _majority(join_truth(xref, records, entity)).items()}
    table = read_table(settings, entity, release)
    golden = table.filter(pc.equal(table.column("status"), "active"))
    name, key = TRUTH_FILES[entity]
    truth = {r[key]: r for r in pq.read_table(truth_dir / f"{name}.parquet").to_pylist()}
    out = {}
    rows = [r for r in golden.to_pylist() if golden_to_truth.get(r["golden_id"]) in truth]
    for field in ATTRIBUTES[entity]:
        same = sum(_norm(r[field]) == _norm(truth[golden_to_truth[r["golden_id"]]].get(field)) for r in rows)
        out[field] = round(same / len(rows), 4) if rows else 1.0
    return out


def _norm(value):
    if value is None:
        return None
    return str(value).strip().upper()


# Plain Splink: stock comparisons on the raw canonical columns, no CJK standardization, no decisive identifiers.
BASELINES = {
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


def baseline(settings, catalog, truth_dir: Path, entity: str) -> dict:
    """Plain Splink on the raw columns of one entity, clustered at the same threshold as ours."""
    import duckdb
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    from splink import comparison_library as cl

    from entity_resolution.clustering import cluster_records
    from entity_resolution.evaluation import join_truth, pairwise_scores
    from entity_resolution.sources import load_source_records

    columns, comparisons, blocks = BASELINES[entity]
    records = load_source_records(settings, catalog, entity, standardize=False)
    df = records.select(["record_uid", *columns]).to_pandas()
    for col in columns:
        if col not in ("lat", "lon"):
            df[col] = df[col].astype(str).where(df[col].notna(), None)
    start = time.perf_counter()
    con = duckdb.connect()
    try:
        table = DuckDBAPI(connection=con).register(df, dataset_display_name=f"raw_{entity}")
        linker = Linker(table, SettingsCreator(
            link_type="dedupe_only", unique_id_column_name="record_uid", comparisons=comparisons(cl),
            blocking_rules_to_generate_predictions=[block_on(*b) for b in blocks],
        ), log_level="ERROR")
        linker.training.estimate_probability_two_random_records_match([block_on(*blocks[0])], recall=0.7)
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
        for b in blocks[:2]:
            linker.training.estimate_parameters_using_expectation_maximisation(block_on(*b))
        pairs = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    finally:
        con.close()
    seconds = time.perf_counter() - start
    pair_table = pa.table({"record_uid_l": pairs["record_uid_l"].astype(str), "record_uid_r": pairs["record_uid_r"].astype(str),
                           "match_probability": pairs["match_probability"].astype(float)})
    clusters = cluster_records(records.column("record_uid"), pair_table, threshold=0.9).clusters
    parts = pc.split_pattern(clusters.column("record_uid"), "|", max_splits=1)
    xref = pa.table({"entity": pa.array([entity] * clusters.num_rows), "resource": pc.list_element(parts, 0),
                     "record_key": pc.list_element(parts, 1), "golden_id": pc.cast(clusters.column("cluster_id"), pa.string())})
    scores = pairwise_scores(join_truth(xref, pq.read_table(truth_dir / "records.parquet"), entity))
    return {**scores.as_dict(), "seconds": round(seconds, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()

    from entity_resolution.evaluation import id_stability, join_truth, pairwise_scores
    from warehouse.registry import read_table
    from zhiwang.demo import generate_city
    from zhiwang.pipeline import run_all
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    with tempfile.TemporaryDirectory(prefix="zhiwang-er-") as tmp:
        settings = get_settings(Path(tmp), REPO / "catalog")
        catalog = load_valid_catalog(settings.catalog_dir)
        result: dict = {"persons": args.persons, "seed": args.seed, "deliveries": []}
        for delivery in (1, 2):
            generate_city(settings, persons=args.persons, seed=args.seed, delivery=delivery, catalog=catalog)
            summary = run_all(settings, catalog)
            result["deliveries"].append({"delivery": delivery, "release": summary.extra["release"],
                                         "stages_s": {k: round(v, 2) for k, v in summary.stages.items()}})
        truth_dir = settings.demo
        records = pq.read_table(truth_dir / "records.parquet")
        xref1, xref2 = read_table(settings, "xref", 1), read_table(settings, "xref", 2)
        result["pairwise"] = {e: pairwise_scores(join_truth(xref2, records, e)).as_dict() for e in ENTITIES}
        result["stability"] = {}
        for entity in ENTITIES:
            name, key = TRUTH_FILES[entity]
            truth = pq.read_table(truth_dir / f"{name}.parquet")
            unchanged = {r[key] for r in truth.to_pylist() if not r.get("changed_delivery") or r["changed_delivery"] < 2}
            result["stability"][entity] = id_stability(xref1, xref2, records, entity, unchanged)
        result["attributes"] = {e: attribute_accuracy(settings, e, truth_dir, 2) for e in ENTITIES}
        if not args.no_baseline:
            result["baseline"] = {e: baseline(settings, catalog, truth_dir, e) for e in ENTITIES}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(f"entity-resolution accuracy: demo city of {args.persons:,} persons, seed {args.seed}, two deliveries")
    for d in result["deliveries"]:
        print(f"  delivery {d['delivery']} → release {d['release']}: " + ", ".join(f"{k} {v}s" for k, v in d["stages_s"].items()))
    print(f"  {'entity':<13} {'records':>8} {'precision':>9} {'recall':>7} {'F1':>7}  {'plain Splink F1':>15}   ID stability (unchanged)")
    for e in ENTITIES:
        p, s = result["pairwise"][e], result["stability"][e]
        b = result.get("baseline", {}).get(e)
        base = f"{b['f1']:.4f}" if b else "-"
        print(f"  {e:<13} {p['records']:>8,} {p['precision']:>9.4f} {p['recall']:>7.4f} {p['f1']:>7.4f}  {base:>15}   "
              f"{s['kept']:,}/{s['entities']:,} = {s['share']:.4f}")
    if "baseline" in result:
        print("  plain Splink = stock comparisons on raw columns, no CJK standardization: "
              + ", ".join(f"{e} P {b['precision']:.4f} R {b['recall']:.4f} ({b['seconds']} s)" for e, b in result["baseline"].items()))
    for e in ENTITIES:
        print(f"  golden attribute accuracy {e}: " + ", ".join(f"{k} {v:.3f}" for k, v in result["attributes"][e].items()))


if __name__ == "__main__":
    main()
