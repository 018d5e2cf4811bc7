"""Resolution at city scale: the demo city of N persons (one delivery) through the whole chain, with time
per stage and peak RSS, beside a bare Splink dedupe (stock comparisons, DuckDB) of the same person records.

    .venv/bin/python benchmarks/resolve_bench.py --persons 1000000 [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from er_accuracy import baseline

    from zhiwang.demo import generate_city
    from zhiwang.pipeline import run_all
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    with tempfile.TemporaryDirectory(prefix="zhiwang-resolve-") as tmp:
        settings = get_settings(Path(tmp), REPO / "catalog")
        catalog = load_valid_catalog(settings.catalog_dir)
        start = time.perf_counter()
        generate_city(settings, persons=args.persons, seed=args.seed, catalog=catalog)
        generated = time.perf_counter() - start
        summary = run_all(settings, catalog)
        chain_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        resolve_s = sum(v for k, v in summary.stages.items() if k.startswith("person:") and not k.endswith("charts"))
        bare = baseline(settings, catalog, settings.demo, "person")
    stages = {k: round(v, 1) for k, v in summary.stages.items()}
    result = {
        "persons": args.persons, "generate_s": round(generated, 1), "stages": stages,
        "chain_s": round(sum(summary.stages.values()), 1), "person_resolution_s": round(resolve_s, 1),
        "person_records": summary.extra["entities"]["person"]["records"],
        "bare_splink_s": bare["seconds"], "ratio_person_resolution_to_bare": round(resolve_s / bare["seconds"], 2),
        "peak_rss_mb": round(chain_rss), "bare_splink_f1": bare["f1"],
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"resolution benchmark: {args.persons:,} persons ({result['person_records']:,} person records), generated in {generated:.0f} s")
    for k, v in stages.items():
        print(f"  {k:<28} {v:>8.1f} s")
    print(f"  whole chain {result['chain_s']} s; person resolution (load+match+cluster+survive) {result['person_resolution_s']} s")
    print(f"  bare Splink dedupe of the same person records: {bare['seconds']} s (F1 {bare['f1']})")
    print(f"  ratio person resolution / bare Splink: {result['ratio_person_resolution_to_bare']}x; peak RSS {result['peak_rss_mb']:,} MB")


if __name__ == "__main__":
    main()
