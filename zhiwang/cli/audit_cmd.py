"""zhiwang audit verify"""

from __future__ import annotations

import typer

from zhiwang.cli.common import CatalogOption, HomeOption, JsonOption, console, print_json, settings_from, user_errors

app = typer.Typer(help="The sharing server's hash-chained audit log.", no_args_is_help=True)


@app.command("verify")
@user_errors
def verify_cmd(home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """Re-derive the hash chain of security/audit.jsonl; exit 1 if anything was changed."""
    from warehouse.sharing.audit import verify

    settings = settings_from(home, catalog)
    ok, problems, count = verify(settings.security)
    if json_out:
        print_json({"ok": ok, "entries": count, "problems": problems})
    elif ok:
        console.print(f"[green]OK[/]: {count} audit entries, hash chain intact.", highlight=False)
    else:
        console.print(f"[red]The audit log {settings.security / 'audit.jsonl'} was changed:[/]", highlight=False)
        for p in problems[:20]:
            console.print(f"  - {p}", highlight=False)
    if not ok:
        raise typer.Exit(1)
