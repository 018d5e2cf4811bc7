"""zhiwang quality scorecard | report | release BATCH_ID | checks RESOURCE"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from zhiwang.cli.common import CatalogOption, HomeOption, JsonOption, console, print_json, settings_from, user_errors

app = typer.Typer(help="Data quality: scorecards per department, the steward's report, held deliveries.",
                  no_args_is_help=True)


def _catalog(settings):  # noqa: ANN001, ANN202 - Settings → Catalog
    from zhiwang.validation import load_valid_catalog

    return load_valid_catalog(settings.catalog_dir)


@app.command("scorecard")
@user_errors
def scorecard_cmd(home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """Per department: deliveries, rows, acceptance rate, errors and warnings by check, recent trend."""
    from quality.scorecard import scorecard

    settings = settings_from(home, catalog)
    cards = scorecard(settings, _catalog(settings))
    if json_out:
        print_json(cards)
        return
    if not cards:
        console.print(f"No deliveries in {settings.state_db} yet: run `zhiwang ingest` first.", highlight=False)
        return
    table = Table(title="Quality scorecard (质量评分)")
    table.add_column("department", no_wrap=True)
    for col in ("deliveries", "rows", "accepted", "rate", "quarantined (open)", "warned", "top errors",
                "top warnings", "trend"):
        table.add_column(col)
    for c in cards:
        rate = "—" if c["acceptance_rate"] is None else f"{c['acceptance_rate']:.1%}"
        top = lambda d: ", ".join(f"{k} {v}" for k, v in list(d.items())[:3])  # noqa: E731
        trend = " → ".join("—" if t["acceptance_rate"] is None else f"{t['acceptance_rate']:.0%}" for t in c["trend"])
        table.add_row(f"{c['provider']}\n{c['name']}", str(c["deliveries"]), str(c["rows_read"]), str(c["rows_accepted"]),
                      rate, f"{c['rows_quarantined']} ({c['quarantine_open']})", str(c["rows_warned"]),
                      top(c["errors_by_check"]), top(c["warnings_by_check"]), trend)
    console.print(table)


@app.command("report")
@user_errors
def report_cmd(home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """Write the offline HTML report (no external CSS/JS) to <home>/quality/docs/index.html."""
    from quality.report import write_report

    settings = settings_from(home, catalog)
    path = write_report(settings, _catalog(settings))
    if json_out:
        print_json({"report": str(path)})
    else:
        console.print(f"Report written to {path}; open it in any browser (works offline).", highlight=False)


@app.command("release")
@user_errors
def release_cmd(
    batch_id: Annotated[str, typer.Argument(help="The held delivery's batch id, as the hold message gives it.")],
    steward: Annotated[str | None, typer.Option("--steward", help="Who releases it (recorded in the ledger).")] = None,
    home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False,
) -> None:
    """Accept a delivery held for a row-count drop: run the quality gate again without the drop check."""
    from quality.release import release

    settings = settings_from(home, catalog)
    rec, _ = release(settings, _catalog(settings), batch_id, steward)
    if json_out:
        print_json(rec.public())
    else:
        console.print(f"Released {rec.batch_id} ({rec.file}): {rec.rows_staged} accepted, {rec.rows_quarantined} "
                      f"quarantined, {rec.rows_warned} with warnings, of {rec.rows_read} rows.", highlight=False)


@app.command("checks")
@user_errors
def checks_cmd(resource_id: str, home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """The checks the gate runs on a resource's deliveries, with their severity."""
    from quality.checks import plan_checks

    settings = settings_from(home, catalog)
    plan = plan_checks(_catalog(settings).resource(resource_id))
    rows = [{"check": c.check, "column": c.column, "severity": c.severity, "params": c.params,
             "nulls_on_warning": c.nulls, "pair": c.pair} for c in plan]
    if json_out:
        print_json(rows)
        return
    table = Table(title=f"Checks on {resource_id}")
    for col in ("check", "column", "severity", "params", "on warning"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["check"], r["column"], r["severity"], str(r["params"] or ""),
                      f"null {r['nulls_on_warning']}" if r["nulls_on_warning"] else "flag only")
    console.print(table)
