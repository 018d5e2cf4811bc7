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
from pathlib import Path

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


def baseline(settings, catalog, truth_dir: Path, entity: str) -> dict:
    """Plain Splink on the raw columns of one entity (entity_resolution/baseline.py), clustered at 0.9."""
    from entity_resolution.baseline import clusters_as_xref, plain_splink_dedupe
    from entity_resolution.evaluation import join_truth, pairwise_scores
    from entity_resolution.sources import load_source_records

    records = load_source_records(settings, catalog, entity, standardize=False)
    run = plain_splink_dedupe(records, entity)
    scores = pairwise_scores(join_truth(clusters_as_xref(entity, run.clusters), pq.read_table(truth_dir / "records.parquet"), entity))
    return {**scores.as_dict(), "seconds": round(run.seconds, 1)}


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
