"""zhiwang ingest [RESOURCE ...] and zhiwang run"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from connectors.state import DeliveryRecord
from zhiwang.cli.common import (
    CatalogOption,
    HomeOption,
    JsonOption,
    console,
    print_json,
    progress_bar,
    settings_from,
    user_errors,
)

STATUS_STYLE = {"staged": "green", "skipped": "yellow", "rejected": "red", "held": "magenta", "landed": "cyan"}


def delivery_table(records: list[DeliveryRecord]) -> Table:
    table = Table(title=f"{len(records)} deliveries")
    for col in ("resource", "file", "status", "read", "staged", "quarantined", "unchanged", "message"):
        table.add_column(col, overflow="fold")
    for r in records:
        style = STATUS_STYLE.get(r.status, "")
        table.add_row(r.resource, r.file, f"[{style}]{r.status}[/]", str(r.rows_read), str(r.rows_staged),
                      str(r.rows_quarantined), str(r.rows_unchanged), (r.message or "")[:300])
    return table


def ingesting_bar(enabled: bool):  # noqa: ANN201 - a zhiwang.pipeline.Progress
    """A rich progress bar over the resources being ingested (shown on a terminal only)."""
    return lambda ids, total: progress_bar(ids, "ingesting", total=total, enabled=enabled)


def print_release(extra: dict) -> None:
    """Say which golden release a run published, or that the current one stays."""
    if extra.get("release"):
        console.print(release_line(extra), highlight=False)
    elif extra.get("unchanged_release"):
        console.print(f"No new rows were accepted: golden library release {extra['unchanged_release']} "
                      "stays current (`zhiwang publish` resolves and publishes anyway).", highlight=False)


def release_line(extra: dict) -> str:
    """One sentence on the release a run published."""
    ents = extra.get("entities", {})
    counts = ", ".join(f"{ents[e]['golden_active']:,} {e}" for e in ("person", "legal_entity", "building") if e in ents)
    return (f"golden library release {extra['release']}: {counts} (active golden records), "
            f"{ents.get('links', 0):,} links, {ents.get('disagreements', 0):,} disagreements sent back to providers; "
            "district mirrors rebuilt")


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    @user_errors
    def ingest(
        resources: Annotated[list[str] | None, typer.Argument(help="Resource ids (default: all).")] = None,
        home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False,
    ) -> None:
        """Connectors → landing → staging, with the quality gate. One line per delivery with --json."""
        from zhiwang.pipeline import ingest_all
        from zhiwang.validation import load_valid_catalog

        settings = settings_from(home, catalog)
        cat = load_valid_catalog(settings.catalog_dir)
        records = ingest_all(settings, cat, resources or None,
                             on_delivery=(lambda r: print_json(r.public())) if json_out else None,
                             progress=ingesting_bar(not json_out))
        if not json_out:
            if records:
                console.print(delivery_table(records))
            else:
                console.print(f"Nothing to ingest: no new deliveries in {settings.inbox}.", highlight=False)

    @app.command("run")
    @user_errors
    def run(home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
        """The whole chain once: ingest → quality → resolve → publish → mirrors (the stages that exist)."""
        from zhiwang.pipeline import run_all
        from zhiwang.validation import load_valid_catalog

        settings = settings_from(home, catalog)
        cat = load_valid_catalog(settings.catalog_dir)
        summary = run_all(settings, cat, progress=ingesting_bar(not json_out))
        if json_out:
            print_json({"stages": summary.stages, "totals": summary.totals(),
                        "deliveries": [d.public() for d in summary.deliveries], **summary.extra})
            return
        console.print(delivery_table(summary.deliveries))
        totals = summary.totals()
        console.print(
            f"read {totals['rows_read']} rows: {totals['rows_staged']} staged, {totals['rows_quarantined']} quarantined, "
            f"{sum(d.rows_unchanged for d in summary.deliveries)} unchanged since the last delivery; "
            + ", ".join(f"{k} {v:.1f}s" for k, v in summary.stages.items()), highlight=False,
        )
        print_release(summary.extra)
