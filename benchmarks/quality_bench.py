"""Quality gate vs Great Expectations' bare validation of the same suite on the same frame.

    .venv/bin/python benchmarks/quality_bench.py --rows 1000000

Builds a mapped person delivery (the schema staging writes) with ~2% injected errors, then times
(a) GE alone: ``batch.validate(suite)`` on the pandas frame already in memory, SUMMARY and COMPLETE result
formats; (b) our whole gate: read the Parquet, delivery checks, the same suite (COMPLETE), per-row reasons,
quarantine rows, warnings and nulling, the accepted Parquet, feedback files. Target: (b) ≤ 3 × (a).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from catalog.models import Catalog, Department, Resource  # noqa: E402
from quality.validators import cn_id  # noqa: E402

RESOURCE = {
    "id": "bench_population", "title": "基准人口", "provider": "gongan", "category": "base", "entity": "person",
    "update_cycle": "daily", "sharing": "unconditional", "source": {"connector": "file_drop"}, "record_key": ["登记编号"],
    "fields": [
        {"column": "登记编号", "required": True},
        {"column": "姓名", "maps_to": "name", "required": True},
        {"column": "公民身份号码", "maps_to": "id_number", "checks": ["cn_id_number"]},
        {"column": "性别", "maps_to": "gender", "checks": ["gender"]},
        {"column": "出生日期", "maps_to": "birth_date", "type": "date"},
        {"column": "手机号码", "maps_to": "phone", "checks": ["cn_mobile"]},
        {"column": "所属区划", "maps_to": "district_code", "checks": ["cn_division_code"]},
    ],
}
DISTRICTS = ["440303", "440304", "440305", "440306", "440307", "440309"]


def build(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    ids, genders, births, phones, districts, keys = [], [], [], [], [], []
    start = dt.date(1940, 1, 1).toordinal()
    for i in range(rows):
        born = dt.date.fromordinal(start + rng.randrange(365 * 80))
        seq = rng.randrange(1000)
        first17 = f"{rng.choice(DISTRICTS)}{born:%Y%m%d}{seq:03d}"
        value = first17 + cn_id.check_char(first17)
        gender = "男" if seq % 2 else "女"
        roll = rng.random()
        if roll < 0.005:
            value = value[:-1] + ("0" if value[-1] != "0" else "1")  # checksum
        elif roll < 0.01:
            gender = "女" if gender == "男" else "男"                # cross-field
        elif roll < 0.013:
            keys.append(f"R{i - 1:08d}")                             # duplicate key
        ids.append(value)
        genders.append(gender)
        births.append(born)
        phones.append(f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}" if rng.random() > 0.005 else "0755-8888888")
        districts.append(rng.choice(DISTRICTS) if rng.random() > 0.003 else "440102")
        if len(keys) <= i:
            keys.append(f"R{i:08d}")
    names = [f"张{i % 9973}" for i in range(rows)]
    cols = {"name": pa.array(names), "id_number": pa.array(ids), "gender": pa.array(genders),
            "birth_date": pa.array(births, pa.date32()), "phone": pa.array(phones), "district_code": pa.array(districts)}
    for column, values in (("登记编号", keys), ("姓名", names), ("公民身份号码", ids), ("性别", genders),
                           ("出生日期", [b.isoformat() for b in births]), ("手机号码", phones), ("所属区划", districts)):
        cols[f"src_{column}"] = pa.array(values, pa.string())
    cols.update({
        "_resource": pa.array(["bench_population"] * rows), "_batch_id": pa.array(["bench"] * rows),
        "_record_key": pa.array(keys), "_row_number": pa.array(range(1, rows + 1), pa.int64()),
        "_delivered_at": pa.array([dt.datetime(2026, 11, 1)] * rows, pa.timestamp("us")),
        "_warnings": pa.nulls(rows, pa.string()),
    })
    pq.write_table(pa.table(cols), path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    from quality.gate import _frame, reference_date, run_gate
    from quality.quarantine import QuarantineWriter
    from quality.suite import _context, suite_for
    from zhiwang.settings import get_settings

    resource = Resource.model_validate(RESOURCE)
    catalog = Catalog(directory=".", resources={resource.id: resource}, departments={"gongan": Department(name="市公安局")},
                      districts={}, core_fields={})
    with tempfile.TemporaryDirectory() as tmp:
        mapped = Path(tmp) / "mapped.parquet"
        t0 = time.perf_counter()
        build(mapped, args.rows)
        print(f"built {args.rows} rows in {time.perf_counter() - t0:.1f} s")
        table = pq.read_table(mapped)
        suite, plan = suite_for(resource, reference_date(mapped), set(table.schema.names))
        frame = _frame(table, sorted({c for p in plan for c in (p.target, p.pair) if c}))
        _, batch_definition = _context()
        figures = {}
        for fmt in ("SUMMARY", "COMPLETE"):
            t0 = time.perf_counter()
            batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite, result_format={"result_format": fmt})
            figures[f"ge_bare_{fmt.lower()}_s"] = round(time.perf_counter() - t0, 2)
        del frame

        settings = get_settings(Path(tmp) / "home", ".")
        quarantine = QuarantineWriter(settings.quarantine, resource.id, "bench")
        t0 = time.perf_counter()
        result = run_gate(resource=resource, catalog=catalog, settings=settings, batch_id="bench", source_name="bench.csv",
                          mapped_path=mapped, quarantine=quarantine, previous_rows=None, accepted_path=Path(tmp) / "accepted.parquet")
        quarantine.write()
        figures["gate_s"] = round(time.perf_counter() - t0, 2)
        figures.update(rows=args.rows, expectations=len(plan), accepted=result.rows_accepted,
                       quarantined=result.rows_quarantined, warned=result.rows_warned,
                       ratio_vs_summary=round(figures["gate_s"] / figures["ge_bare_summary_s"], 2),
                       ratio_vs_complete=round(figures["gate_s"] / figures["ge_bare_complete_s"], 2))
        assert result.rows_accepted + result.rows_quarantined == args.rows
        print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
