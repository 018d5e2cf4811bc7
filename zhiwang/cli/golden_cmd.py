"""zhiwang golden show ID [--release N] | history ID"""

from __future__ import annotations

from typing import Annotated

import typer

from zhiwang.cli.common import CatalogOption, HomeOption, JsonOption, console, print_json, settings_from, user_errors

app = typer.Typer(help="Look up golden records.", no_args_is_help=True)


@app.command("show")
@user_errors
def show_cmd(golden_id: str, release: Annotated[int | None, typer.Option(help="Release (default: current).")] = None,
             home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """One golden record as a release has it, each field with where its value came from."""
    from warehouse.history import show

    result = show(settings_from(home, catalog), golden_id, release)
    if json_out:
        print_json(result)
        return
    record = result["record"]
    console.print(f"[bold]{golden_id}[/] ({result['entity']}, release {result['release']})", highlight=False)
    for key, value in record.items():
        if key == "provenance":
            continue
        prov = record["provenance"].get(key)
        source = f"  [dim]← {prov['resource']} {prov['record_key']} ({prov['batch_id']})[/]" if prov else ""
        console.print(f"  {key:20} {value}{source}", highlight=False)


@app.command("history")
@user_errors
def history_cmd(golden_id: str, home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """A golden record's values over all releases, with provenance."""
    from warehouse.history import history

    entries = history(settings_from(home, catalog), golden_id)
    if json_out:
        print_json(entries)
        return
    for entry in entries:
        console.print(f"[bold]release {entry['release']}[/] {entry['created_at']} {entry['event']}", highlight=False)
        for key, change in entry["changes"].items():
            prov = change["provenance"]
            source = f"  [dim]← {prov['resource']} {prov['record_key']} ({prov['batch_id']})[/]" if prov else ""
            console.print(f"  {key:20} {change['value']}{source}", highlight=False)
