"""zhiwang bench --persons N [--seed S] [--deliveries 1|2] [--json]"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from zhiwang.cli.common import (
    CatalogOption,
    HomeOption,
    JsonOption,
    console,
    err_console,
    print_json,
    settings_from,
    user_errors,
)


def register(app: typer.Typer) -> None:
    @app.command("bench")
    @user_errors
    def bench(
        persons: Annotated[int, typer.Option("--persons", min=50, help="Residents of the demo city.")] = 100_000,
        seed: Annotated[int, typer.Option("--seed", help="Same seed and persons: the cached city is reused.")] = 7,
        deliveries: Annotated[int, typer.Option("--deliveries", min=1, max=2,
                                                help="2 also runs the second delivery (≈1% changed) incrementally.")] = 2,
        baseline: Annotated[bool, typer.Option("--baseline/--no-baseline",
                                               help="Time a bare Splink dedupe of the same person records.")] = True,
        root: Annotated[Path | None, typer.Option("--root", help="Where cities are cached and the run works "
                                                  "(default <home>/bench).", show_default=False)] = None,
        home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False,
    ) -> None:
        """Run the demo city of N persons through the whole chain and print time, rows/s and peak RSS per stage,
        pairwise accuracy per entity, and the ratio to a bare Splink dedupe of the same person records."""
        from zhiwang.bench import run_bench
        from zhiwang.metering import StageFigures

        settings = settings_from(home, catalog)
        folder = (root or settings.home / "bench").expanduser().resolve()

        def progress(figures: StageFigures) -> None:
            rows = f"{figures.rows:,} rows" if figures.rows else ""
            err_console.print(f"  {figures.name:<30} {figures.seconds:8.1f} s {figures.peak_rss / 2**20:8,.0f} MB  {rows}",
                              highlight=False)

        err_console.print(f"zhiwang bench: {persons:,} persons, seed {seed}, in {folder}", highlight=False)
        result = run_bench(folder, settings.catalog_dir, persons, seed=seed, deliveries=deliveries,
                           baseline=baseline, on_stage=progress).as_dict()
        if json_out:
            print_json(result)
            return
        _print(result)


def _print(result: dict) -> None:
    table = Table(title=f"zhiwang bench: {result['persons']:,} persons ({result['person_records']:,} person records), "
                        f"seed {result['seed']}")
    for col in ("stage", "seconds", "rows", "rows/s", "peak RSS MB"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for s in result["stages"]:
        table.add_row(s["name"], f"{s['seconds']:.1f}", f"{s['rows']:,}" if s["rows"] else "",
                      f"{s['rows_per_s']:,}" if s["rows_per_s"] else "", f"{s['peak_rss_mb']:,}")
    console.print(table)
    acc = Table(title="Pairwise accuracy against the ground truth (last release)")
    for col in ("entity", "records", "precision", "recall", "F1"):
        acc.add_column(col, justify="left" if col == "entity" else "right")
    for entity, p in result["pairwise"].items():
        acc.add_row(entity, f"{p['records']:,}", f"{p['precision']:.4f}", f"{p['recall']:.4f}", f"{p['f1']:.4f}")
    console.print(acc)
    lines = [f"whole chain (first delivery, inbox → mirrors): {result['total_s']:.1f} s"]
    if result["second_delivery_s"] is not None:
        resolved = ", ".join(f"{e} {c['resolved_records']:,} of {c['records']:,} records ({c['resolve_mode']})"
                             for e, c in result.get("second_delivery_resolve", {}).items()
                             if c.get("resolved_records") is not None and c.get("records") is not None)
        lines.append(f"second delivery (incremental): {result['second_delivery_s']:.1f} s = "
                     f"{result['second_delivery_share']:.1%} of the first" + (f"; resolved again: {resolved}" if resolved else ""))
    if result["bare_splink_s"] is not None:
        lines.append(f"bare Splink dedupe of the same person records (stock settings, DuckDB; train + predict + "
                     f"cluster): {result['bare_splink_s']:.1f} s, F1 {result['bare_splink_f1']:.4f}; "
                     f"ratio chain / bare Splink: {result['ratio']:.2f}×")
    lines.append(f"peak RSS of the chain: {result['peak_rss_mb']:,} MB; run home: {result['run_home']}"
                 + ("" if result["city_generated"] else " (city reused from the cache)"))
    for line in lines:
        console.print(line, highlight=False)
