"""zhiwang quarantine list --resource R"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from zhiwang.cli.common import CatalogOption, HomeOption, JsonOption, console, print_json, settings_from, user_errors

app = typer.Typer(help="Rows held back from the library, with every reason (identifiers masked).", no_args_is_help=True)


@app.command("list")
@user_errors
def list_cmd(
    resource: Annotated[str, typer.Option("--resource", "-r", help="Resource id, e.g. gongan_population.")],
    include_superseded: Annotated[bool, typer.Option("--all", help="Also rows a corrected redelivery superseded.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="Rows to show in the table (JSON lists all).")] = 100,
    home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False,
) -> None:
    """Quarantined rows of a resource: delivery, row, record key, failed checks and reasons."""
    from quality.scorecard import quarantine_entries
    from zhiwang.validation import load_valid_catalog

    settings = settings_from(home, catalog)
    load_valid_catalog(settings.catalog_dir).resource(resource)  # a typo names the known resources
    entries = quarantine_entries(settings, resource)
    shown = entries if include_superseded else [e for e in entries if e["status"] == "open"]
    if json_out:
        print_json(shown)
        return
    superseded = sum(e["status"] == "superseded" for e in entries)
    table = Table(title=f"{resource}: {len(shown)} quarantined row(s)"
                  + (f", {superseded} superseded by corrected redeliveries" if superseded else ""))
    for col in ("batch", "row", "record key", "status", "checks", "reasons"):
        table.add_column(col)
    for e in shown[:limit]:
        reasons = "\n".join(f"{r['message']}" + (f" [{r['value']}]" if r["value"] else "") for r in e["reasons"])
        table.add_row(e["batch_id"], str(e["row_number"]), str(e["record_key"]), e["status"], ", ".join(e["checks"]), reasons)
    console.print(table)
    if len(shown) > limit:
        console.print(f"… {len(shown) - limit} more; use --limit or --json.", highlight=False)
