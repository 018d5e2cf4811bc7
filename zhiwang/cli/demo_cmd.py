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
    kinds = len(summary["noise_totals"])
    console.print(f"{kinds} kinds of mistakes injected; done in {summary['seconds']} s.", highlight=False)
