"""Benchmark: publish a golden release and build every district mirror for a synthetic city, against
writing the same rows as plain Parquet.

    .venv/bin/python benchmarks/warehouse_bench.py --persons 1000000 [--home DIR] [--keep]

Prints one JSON object: seconds for generation (not counted), publish (Delta tables + registry with
sha256), mirrors (all districts, masked), the plain-Parquet baseline writing the same golden rows and the
same mirror rows with pyarrow (snappy, one file per table), their ratio, a 1%-change incremental release
(publish and mirrors, wall and CPU), a second one (the steady state: it diffs on the first one's row-hash
digest), and peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--home", type=Path, default=None, help="Data home to use (default: a temporary directory).")
    parser.add_argument("--keep", action="store_true", help="Keep the data home afterwards.")
    args = parser.parse_args()

    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    from warehouse.layout import mirror_key
    from warehouse.mirror import build_mirrors
    from warehouse.release import publish_release
    from warehouse.storage import storage_for
    from warehouse.synthetic import change_persons, synthetic_catalog, synthetic_tables
    from zhiwang.settings import get_settings

    root = args.home or Path(tempfile.mkdtemp(prefix="zhiwang-bench-"))
    settings = get_settings(root / "home", root / "home")
    catalog = synthetic_catalog()
    out: dict[str, object] = {"persons": args.persons}

    def stage(name: str) -> None:  # progress on stderr; the figures go to stdout
        print(f"{time.strftime('%H:%M:%S')} {name}", file=sys.stderr, flush=True)

    start = time.perf_counter()
    stage("generate")
    tables = synthetic_tables(args.persons, seed=11)
    out["generate_s"] = round(time.perf_counter() - start, 2)
    out["rows"] = {name: t.num_rows for name, t in tables.items()}

    start, cpu = time.perf_counter(), time.process_time()
    stage("publish")
    release = publish_release(settings, catalog, tables, build_mirrors=False)
    out["publish_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    stage("mirrors")
    mirrors = build_mirrors(settings, catalog, release.number)
    out["mirrors_s"] = round(time.perf_counter() - start, 2)
    out["publish_plus_mirrors_cpu_s"] = round(time.process_time() - cpu, 2)
    out["mirror_rows"] = {code: {t: v["rows"] for t, v in m["tables"].items() if t != "release"} for code, m in mirrors.items()}

    # Baseline: the same golden rows and the same (already masked) mirror rows, written as plain Parquet.
    storage = storage_for(settings)  # the warehouse may live elsewhere than the data home (ZHIWANG_WAREHOUSE_URI)
    mirror_tables = {(code, t): DeltaTable(storage.uri(mirror_key(code, t)), storage_options=storage.storage_options).to_pyarrow_table()
                     for code in mirrors for t in ("person", "legal_entity", "building")}
    stage("plain parquet")
    plain = root / "plain"
    plain.mkdir(exist_ok=True)
    start, cpu = time.perf_counter(), time.process_time()
    for name, table in tables.items():
        pq.write_table(table, plain / f"{name}.parquet")
    for (code, name), table in mirror_tables.items():
        pq.write_table(table, plain / f"{code}_{name}.parquet")
    out["plain_parquet_s"] = round(time.perf_counter() - start, 2)
    out["plain_parquet_cpu_s"] = round(time.process_time() - cpu, 2)
    total = out["publish_s"] + out["mirrors_s"]
    out["publish_plus_mirrors_s"] = round(total, 2)
    out["ratio_to_plain_parquet"] = round(total / max(out["plain_parquet_s"], 1e-9), 2)
    out["cpu_ratio_to_plain_parquet"] = round(out["publish_plus_mirrors_cpu_s"] / max(out["plain_parquet_cpu_s"], 1e-9), 2)

    stage("incremental 1%")
    changed, ids = change_persons(tables, 0.01)
    start, cpu = time.perf_counter(), time.process_time()
    publish_release(settings, catalog, changed, build_mirrors=True)
    out["incremental_1pct_publish_plus_mirrors_s"] = round(time.perf_counter() - start, 2)
    out["incremental_1pct_cpu_s"] = round(time.process_time() - cpu, 2)
    out["incremental_changed_persons"] = len(ids)
    # Steady state: the next day's release diffs against the row-hash digest the previous publish left.
    stage("incremental 1% again")
    again, _ = change_persons(changed, 0.01, seed=3)
    start, cpu = time.perf_counter(), time.process_time()
    third = publish_release(settings, catalog, again, build_mirrors=True)
    out["incremental_again_1pct_publish_plus_mirrors_s"] = round(time.perf_counter() - start, 2)
    out["incremental_again_1pct_cpu_s"] = round(time.process_time() - cpu, 2)
    out["release"] = third.number
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if not args.keep and args.home is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
