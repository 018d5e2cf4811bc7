"""Ingest benchmark: a generated person extract of N rows (default 2,000,000) as CSV, ingested by zhiwang
(file_drop → landing → staging → quality gate) versus a bare ``pyarrow.csv.read_csv`` of the same file.

Each measurement runs in its own process so peak RSS is its own. Prints rows/s, peak RSS and the ratio.

    .venv/bin/python benchmarks/ingest_bench.py --rows 2000000 [--encoding gb18030] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CATALOG = {
    "departments.yaml": "gongan: {name: 市公安局}\n",
    "districts.yaml": '"440304": {name: 福田区, cleared: [unconditional, conditional]}\n',
    "core_fields.yaml": "{}\n",
    "resources/bench_population.yaml": """
id: bench_population
title: 实有人口(基准测试)
provider: gongan
category: base
entity: person
update_cycle: daily
sharing: conditional
sharing_condition: 基准测试
source: {connector: file_drop, pattern: "*.csv", encoding: auto}
record_key: [登记编号]
fields:
  - {column: 登记编号, required: true}
  - {column: 姓名, maps_to: name, required: true}
  - {column: 公民身份号码, maps_to: id_number, checks: [cn_id_number]}
  - {column: 性别, maps_to: gender, checks: [gender]}
  - {column: 出生日期, maps_to: birth_date, type: date, formats: ["%Y%m%d", "%Y-%m-%d"]}
  - {column: 联系电话, maps_to: phone, checks: [cn_mobile]}
  - {column: 居住地址, maps_to: residence_address}
""",
}

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐")
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "建华", "志强"]
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_csv(path: Path, rows: int, encoding: str, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    chunk = 500_000
    with open(path, "wb") as fh:
        fh.write("登记编号,姓名,公民身份号码,性别,出生日期,联系电话,居住地址\n".encode(encoding))
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            days = rng.integers(-15000, 15000, n)
            born = np.datetime64("1970-01-01") + days.astype("timedelta64[D]")
            ymd = np.char.replace(np.datetime_as_string(born, unit="D").astype(str), "-", "")
            seq = rng.integers(0, 1000, n)
            body = np.char.add(np.char.add("440304", ymd), np.char.zfill(seq.astype(str), 3))
            codes = np.frombuffer("".join(body).encode(), dtype=np.uint8).reshape(n, 17) - 48
            total = (codes * np.array(WEIGHTS)).sum(axis=1) % 11
            check = np.array(list("10X98765432"))[total]
            ids = np.char.add(body, check)
            names = np.char.add(np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)],
                                np.array(GIVEN)[rng.integers(0, len(GIVEN), n)])
            table = pa.table({
                "登记编号": [f"R{start + i:09d}" for i in range(n)],
                "姓名": names,
                "公民身份号码": ids,
                "性别": np.where(seq % 2 == 1, "男", "女"),
                "出生日期": ymd,
                "联系电话": np.char.add("13", np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9)),
                "居住地址": np.char.add("深圳市福田区华强北街道振华路", np.char.add(rng.integers(1, 300, n).astype(str), "号")),
            })
            buf = pa.BufferOutputStream()
            pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
            data = buf.getvalue().to_pybytes()
            fh.write(data if encoding in ("utf-8", "utf8") else data.decode("utf-8").encode(encoding))


def child(mode: str, path: Path, home: Path, catalog: Path) -> None:
    start = time.perf_counter()
    out: dict = {"mode": mode}
    if mode == "pyarrow":
        table = pacsv.read_csv(path)
        out["rows"] = table.num_rows
    else:
        from connectors.runner import ingest_resource
        from zhiwang.settings import get_settings

        [rec] = ingest_resource("bench_population", settings=get_settings(home, catalog))
        out.update(rows=rec.rows_read, staged=rec.rows_staged, quarantined=rec.rows_quarantined, status=rec.status)
    out["seconds"] = time.perf_counter() - start
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def run_child(mode: str, path: Path, home: Path, catalog: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--file", str(path), "--home", str(home), "--catalog", str(catalog)]
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "False"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--encoding", default="utf-8", choices=["utf-8", "gb18030"])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child")
    ap.add_argument("--file")
    ap.add_argument("--home")
    ap.add_argument("--catalog")
    args = ap.parse_args()
    if args.child:
        child(args.child, Path(args.file), Path(args.home), Path(args.catalog))
        return

    with tempfile.TemporaryDirectory(prefix="zhiwang-bench-") as tmp:
        root = Path(tmp)
        catalog = root / "catalog"
        for name, text in CATALOG.items():
            (catalog / name).parent.mkdir(parents=True, exist_ok=True)
            (catalog / name).write_text(text, encoding="utf-8")
        home = root / "home"
        inbox = home / "inbox" / "bench_population"
        inbox.mkdir(parents=True)
        source = root / "population.csv"
        t0 = time.perf_counter()
        make_csv(source, args.rows, args.encoding)
        gen_s = time.perf_counter() - t0
        size_mb = source.stat().st_size / 1e6
        bare = run_child("pyarrow", source, home, catalog) if args.encoding == "utf-8" else None
        os.link(source, inbox / "population.csv")
        ours = run_child("zhiwang", inbox / "population.csv", home, catalog)

    result = {
        "rows": args.rows, "file_mb": round(size_mb, 1), "encoding": args.encoding, "generate_s": round(gen_s, 1),
        "zhiwang_s": round(ours["seconds"], 2), "zhiwang_rows_per_s": round(args.rows / ours["seconds"]),
        "zhiwang_peak_rss_mb": round(ours["peak_rss_mb"]), "staged": ours["staged"], "quarantined": ours["quarantined"],
    }
    if bare:
        result.update(
            pyarrow_s=round(bare["seconds"], 2), pyarrow_rows_per_s=round(args.rows / bare["seconds"]),
            pyarrow_peak_rss_mb=round(bare["peak_rss_mb"]), ratio=round(ours["seconds"] / bare["seconds"], 1),
        )
    if args.json:
        print(json.dumps(result))
        return
    print(f"ingest benchmark: {args.rows:,} rows, {size_mb:.0f} MB {args.encoding} CSV (generated in {gen_s:.1f} s)")
    print(f"  zhiwang ingest (land+stage+quality): {result['zhiwang_s']:>8.1f} s  {result['zhiwang_rows_per_s']:>10,} rows/s"
          f"  peak RSS {result['zhiwang_peak_rss_mb']:,} MB  (staged {ours['staged']:,}, quarantined {ours['quarantined']:,})")
    if bare:
        print(f"  bare pyarrow.csv.read_csv:           {result['pyarrow_s']:>8.1f} s  {result['pyarrow_rows_per_s']:>10,} rows/s"
              f"  peak RSS {result['pyarrow_peak_rss_mb']:,} MB")
        print(f"  ratio zhiwang / pyarrow: {result['ratio']}x")


if __name__ == "__main__":
    main()
