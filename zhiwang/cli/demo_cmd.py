"""zhiwang demo generate --persons N --seed S [--delivery 2]"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from zhiwang.cli.common import CatalogOption, HomeOption, JsonOption, console, print_json, settings_from, user_errors

app = typer.Typer(help="The demo city: synthetic departments' extracts with realistic mistakes, and ground truth.",
                  no_args_is_help=True)


@app.command("generate")
@user_errors
def generate(
    persons: Annotated[int, typer.Option("--persons", min=50, help="Residents of the demo city.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same city, byte for byte.")] = 42,
    delivery: Annotated[int, typer.Option("--delivery", min=1,
                                          help="Which delivery to write: 2 = a month later (moves, births, …).")] = 1,
    home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False,
) -> None:
    """Write one delivery of every department's extract into the inbox, and the ground truth to <home>/demo."""
    from zhiwang.demo import generate_city

    settings = settings_from(home, catalog)
    if not json_out:
        console.print(f"Generating a city of {persons:,} persons (seed {seed}, delivery {delivery}) …", highlight=False)
    summary = generate_city(settings, persons=persons, seed=seed, delivery=delivery)
    if json_out:
        print_json(summary)
        return
    table = Table(title=f"Delivery {delivery} as of {summary['as_of']} in {settings.inbox}")
    for col in ("resource", "format", "rows", "noisy", "to quarantine", "most common mistakes"):
        table.add_column(col, justify="right" if col in ("rows", "noisy", "to quarantine") else "left")
    for rid, info in summary["resources"].items():
        top = sorted(info["noise"].items(), key=lambda kv: -kv[1])[:3]
        fmt = info["format"] + (f" {info['encoding']}" if info["encoding"] else "")
        table.add_row(rid, fmt, f"{info['rows']:,}", f"{info['noisy_rows']:,}",
                      str(info["expected_quarantine"]), ", ".join(f"{k} {v}" for k, v in top))
    console.print(table)
    console.print("Files: " + ", ".join(Path(i["file"]).name for i in summary["resources"].values()), highlight=False)
    ent = summary["entities"]
    console.print(f"City: {ent['persons']:,} living persons, {ent['legal_entities']:,} companies, "
                  f"{ent['buildings']:,} buildings. Ground truth: {summary['truth']}", highlight=False)
    if summary["events"]:
        console.print("Since the last delivery: " + ", ".join(f"{k} {v}" for k, v in summary["events"].items()),
                      highlight=False)
    if summary["skipped_resources"]:
        console.print(f"Not generated (unknown to the demo city): {', '.join(summary['skipped_resources'])}",
                      highlight=False)
    mistakes = Table(title="Mistakes injected (rows)")
    mistakes.add_column("kind")
    mistakes.add_column("rows", justify="right")
    mistakes.add_column("resources", justify="right")
    for kind, count in summary["noise_totals"].items():
        where = sum(1 for info in summary["resources"].values() if kind in info["noise"])
        mistakes.add_row(kind, f"{count:,}", str(where))
    console.print(mistakes)
    kinds = len(summary["noise_totals"])
    console.print(f"{kinds} kinds of mistakes injected; done in {summary['seconds']} s.", highlight=False)


@app.command("run")
@user_errors
def run(
    persons: Annotated[int, typer.Option("--persons", min=50, help="Residents of the demo city.")] = 5_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same city, byte for byte.")] = 7,
    deliveries: Annotated[int, typer.Option("--deliveries", min=1, max=3, help="Monthly deliveries to run through.")] = 2,
    airflow: Annotated[bool, typer.Option("--airflow/--direct", help="Run the chain through the Airflow DAGs "
                                          "(dag.test) or call the stages directly.")] = True,
    home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False,
) -> None:
    """Generate the demo city and run the whole chain once per delivery, then print a summary."""
    import time

    from warehouse.storage import storage_for
    from zhiwang.cli.ingest_cmd import delivery_table, ingesting_bar, print_release
    from zhiwang.demo import generate_city
    from zhiwang.pipeline import run_all, run_through_airflow
    from zhiwang.validation import load_valid_catalog

    settings = settings_from(home, catalog)
    cat = load_valid_catalog(settings.catalog_dir)
    results = []
    for delivery in range(1, deliveries + 1):
        start = time.perf_counter()
        if not json_out:
            console.rule(f"Delivery {delivery}: generating {persons:,} persons (seed {seed})")
        generate_city(settings, persons=persons, seed=seed, delivery=delivery, catalog=cat)
        generated = time.perf_counter() - start
        if airflow:
            summary = run_through_airflow(settings, cat, delivery)
        else:
            summary = run_all(settings, cat, progress=ingesting_bar(not json_out))
        summary.stages = {"generate": generated, **summary.stages}
        totals = summary.totals()
        results.append({"delivery": delivery, "stages": summary.stages, "totals": totals, **summary.extra})
        if json_out:
            continue
        console.print(delivery_table(summary.deliveries))
        console.print(
            f"Delivery {delivery}: read {totals['rows_read']:,} rows → {totals['rows_staged']:,} staged, "
            f"{totals['rows_quarantined']:,} quarantined, {totals['rows_unchanged']:,} unchanged since the last delivery "
            "(counts reconcile for every delivery). "
            + "; ".join(f"{k} {v:.1f} s" for k, v in summary.stages.items()), highlight=False,
        )
        print_release(summary.extra)
    if json_out:
        print_json({"persons": persons, "seed": seed, "home": str(settings.home), "deliveries": results})
        return
    console.rule("Where to look")
    if airflow:
        console.print(f"steward UI: `zhiwang airflow up --home {settings.home}` starts Airflow on http://127.0.0.1:8080 "
                      "(it prints the login); the DAG runs above are in its history.", highlight=False)
    console.print(
        f"data home: {settings.home}\n"
        f"  quarantine (rows and reasons): zhiwang quarantine list --resource <id>\n"
        f"  feedback to departments:       {settings.feedback}/<provider>/\n"
        f"  quality scorecard:             zhiwang quality scorecard\n"
        f"  offline quality report:        zhiwang quality report  (writes {settings.quality_docs}/index.html)\n"
        f"  golden library releases:       zhiwang release list\n"
        f"  one golden record:             zhiwang golden show <ID>\n"
        f"  district mirrors:              {storage_for(settings).uri('mirrors')}/<district>/ (zhiwang mirror serve, then mirror pull)\n"
        f"  steward review queue:          zhiwang review list\n"
        f"  ground truth of the demo city: {settings.demo}", highlight=False,
    )
