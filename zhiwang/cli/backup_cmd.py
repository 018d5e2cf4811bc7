"""zhiwang backup create DEST | restore SRC"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zhiwang.cli.common import CatalogOption, HomeOption, JsonOption, console, print_json, settings_from, user_errors

app = typer.Typer(help="Back up and restore the golden library, mirrors and security state.", no_args_is_help=True)


@app.command("create")
@user_errors
def create_cmd(dest: Path, home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """Copy golden/, mirrors/ and security/ into the new directory DEST with a sha256 manifest."""
    from warehouse.backup import create_backup

    result = create_backup(settings_from(home, catalog), dest)
    if json_out:
        print_json(result)
    else:
        console.print(f"Backed up {result['files']} files (releases {result['releases']}) to {dest}.", highlight=False)


@app.command("restore")
@user_errors
def restore_cmd(src: Path, force: Annotated[bool, typer.Option(help="Replace existing state in the home.")] = False,
                home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """Check SRC against its manifest and restore it into the home."""
    from warehouse.backup import restore_backup

    result = restore_backup(settings_from(home, catalog), src, force=force)
    if json_out:
        print_json(result)
    else:
        console.print(f"Restored {result['files']} files (releases {result['releases']}) into {result['home']}.", highlight=False)
