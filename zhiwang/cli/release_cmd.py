"""zhiwang release list | diff N M | rollback N | verify [N]"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from zhiwang.cli.common import CatalogOption, HomeOption, JsonOption, console, print_json, settings_from, user_errors

app = typer.Typer(help="Golden library releases: list, compare, roll back, verify.", no_args_is_help=True)


@app.command("list")
@user_errors
def list_cmd(home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """Every release, newest last, with its table versions and row counts."""
    from warehouse.registry import list_releases

    releases = [r.summary() for r in list_releases(settings_from(home, catalog))]
    if json_out:
        print_json(releases)
        return
    if not releases:
        console.print("No release yet: run `zhiwang publish`.")
        return
    table = Table(title=f"{len(releases)} release(s)")
    for col in ("release", "created", "person", "legal_entity", "building", "xref", "note"):
        table.add_column(col)
    for r in releases:
        t = r["tables"]
        table.add_row(str(r["release"]), r["created_at"], *(f"{t[n]['rows']} (v{t[n]['version']})" for n in
                      ("person", "legal_entity", "building", "xref")), r["note"] or "")
    console.print(table)


@app.command("diff")
@user_errors
def diff_cmd(first: int, second: int, home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False,
             limit: Annotated[int, typer.Option(help="Rows shown per entity.")] = 20) -> None:
    """What changed from release FIRST to SECOND: new, updated (fields), merged, split, retired."""
    from warehouse.diff import release_diff

    result = release_diff(settings_from(home, catalog), first, second, limit=limit)
    if json_out:
        print_json(result)
        return
    for entity, info in result["entities"].items():
        counts = ", ".join(f"{k} {v}" for k, v in info["counts"].items())
        console.print(f"[bold]{entity}[/]: {counts}", highlight=False)
        for row in info["rows"]:
            extra = f" {','.join(row['fields'])}" if row["fields"] else ""
            extra += f" → {row['related_id']}" if row["related_id"] else ""
            console.print(f"  {row['change']:8} {row['golden_id']}{extra}", highlight=False)


@app.command("rollback")
@user_errors
def rollback_cmd(number: int, home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False,
                 mirrors: Annotated[bool, typer.Option("--mirrors/--no-mirrors")] = True) -> None:
    """Make release NUMBER's content current again, as a new release (history is kept)."""
    from warehouse.release import rollback
    from zhiwang.validation import load_valid_catalog

    settings = settings_from(home, catalog)
    release = rollback(settings, load_valid_catalog(settings.catalog_dir), number, build_mirrors=mirrors)
    if json_out:
        print_json(release.summary())
    else:
        console.print(f"[green]Release {release.number}[/] now holds the content of release {number}.", highlight=False)


@app.command("verify")
@user_errors
def verify_cmd(number: Annotated[int | None, typer.Argument()] = None, home: HomeOption = None,
               catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """Re-hash a release's data files (default: current) against the registry."""
    from warehouse.registry import get_release, verify_release

    settings = settings_from(home, catalog)
    rel = get_release(settings, number)
    problems = verify_release(settings, rel.number)
    if json_out:
        print_json({"release": rel.number, "ok": not problems, "problems": problems})
    elif problems:
        console.print(f"[red]Release {rel.number} is damaged:[/]", highlight=False)
        for p in problems:
            console.print(f"  - {p}", highlight=False)
    else:
        console.print(f"[green]OK[/]: release {rel.number} matches its recorded sha256 sums.", highlight=False)
    if problems:
        raise typer.Exit(1)
