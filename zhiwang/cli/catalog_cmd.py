"""zhiwang catalog validate | list | show ID"""

from __future__ import annotations

import typer
from rich.table import Table

from zhiwang.cli.common import CatalogOption, HomeOption, JsonOption, console, print_json, settings_from, user_errors

app = typer.Typer(help="The resource catalog (政务信息资源目录).", no_args_is_help=True)


@app.command("validate")
@user_errors
def validate(home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """Check every catalog file; report every problem at once, each with file and key."""
    from zhiwang.validation import validate_catalog

    settings = settings_from(home, catalog)
    load, problems = validate_catalog(settings.catalog_dir)
    if json_out:
        print_json({"catalog": str(load.directory), "resources": len(load.resources),
                    "problems": [{"where": p.where, "message": p.message} for p in problems]})
    elif problems:
        console.print(f"[red]The catalog at {load.directory} has {len(problems)} problem(s):[/]", highlight=False)
        for p in problems:
            console.print(f"  - {p}", highlight=False, soft_wrap=True)
        console.print("Fix each one and run `zhiwang catalog validate` again.")
    else:
        console.print(
            f"[green]OK[/]: {len(load.resources)} resources, {len(load.departments)} departments, "
            f"{len(load.districts)} districts in {load.directory}", highlight=False,
        )
    if problems:
        raise typer.Exit(1)


@app.command("list")
@user_errors
def list_resources(home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """A table of the catalog's resources."""
    from zhiwang.validation import load_valid_catalog

    cat = load_valid_catalog(settings_from(home, catalog).catalog_dir)
    rows = [
        {"id": r.id, "title": r.title, "provider": r.provider,
         "provider_name": cat.departments[r.provider].name if r.provider in cat.departments else r.provider,
         "entity": r.entity, "connector": r.source.connector, "update_cycle": r.update_cycle,
         "sharing": r.sharing, "fields": len(r.fields)}
        for r in sorted(cat.resources.values(), key=lambda r: r.id)
    ]
    if json_out:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} resources in {cat.directory}")
    for col in ("id", "title", "provider", "entity", "connector", "cycle", "sharing", "fields"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["id"], r["title"], f"{r['provider']} {r['provider_name']}", r["entity"], r["connector"],
                      r["update_cycle"], r["sharing"], str(r["fields"]))
    console.print(table)


@app.command("show")
@user_errors
def show(resource_id: str, home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """One resource in full: provider, sharing, source and field mapping."""
    from zhiwang.validation import load_valid_catalog

    cat = load_valid_catalog(settings_from(home, catalog).catalog_dir)
    r = cat.resource(resource_id)
    if json_out:
        print_json(r.model_dump(mode="json"))
        return
    dept = cat.departments.get(r.provider)
    console.print(f"[bold]{r.id}[/] {r.title}", highlight=False)
    console.print(f"provider: {r.provider} {dept.name if dept else ''}   entity: {r.entity}   category: {r.category}   "
                  f"update: {r.update_cycle}", highlight=False)
    cond = r.sharing_condition or r.sharing_reason or ""
    console.print(f"sharing: {r.sharing} {cond}   open: {r.open}", highlight=False)
    console.print(f"source: {r.source.options()}", highlight=False)
    console.print(f"record key: {', '.join(r.record_key)}", highlight=False)
    table = Table()
    for col in ("column", "maps_to", "type", "required", "checks", "sharing"):
        table.add_column(col)
    for f in r.fields:
        table.add_row(f.column, f.maps_to or "", f.type, "yes" if f.required else "",
                      ", ".join(c.name for c in f.checks), r.field_sharing(f))
    console.print(table)


