"""zhiwang mirror build | serve | token create/list/revoke | pull"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from zhiwang.cli.common import CatalogOption, HomeOption, JsonOption, console, print_json, settings_from, user_errors
from zhiwang.errors import UserError

app = typer.Typer(help="District mirrors and the Delta Sharing server.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens, one per district.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@app.command("build")
@user_errors
def build_cmd(release: Annotated[int | None, typer.Option(help="Golden release (default: current).")] = None,
              district: Annotated[list[str] | None, typer.Option(help="Only these districts (repeatable).")] = None,
              home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """Build each district's mirror from a golden release (idempotent)."""
    from warehouse.mirror import build_mirrors
    from zhiwang.validation import load_valid_catalog

    settings = settings_from(home, catalog)
    result = build_mirrors(settings, load_valid_catalog(settings.catalog_dir), release, district)
    if json_out:
        print_json(result)
        return
    for code, record in result.items():
        rows = ", ".join(f"{t} {v['rows']}" for t, v in record["tables"].items() if t != "release")
        console.print(f"district {code}: release {record['release']} ({rows})", highlight=False)


@app.command("serve")
@user_errors
def serve_cmd(host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
              port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
              home: HomeOption = None, catalog: CatalogOption = None) -> None:
    """Serve every district's mirror over the Delta Sharing protocol until interrupted."""
    from warehouse.sharing.server import serve

    console.print(f"Delta Sharing endpoint: http://{host}:{port}/delta-sharing  (Ctrl-C stops)", highlight=False)
    serve(settings_from(home, catalog), host=host, port=port)


@token_app.command("create")
@user_errors
def token_create(district: Annotated[str, typer.Option(help="District code from districts.yaml.")],
                 out: Annotated[Path, typer.Option(help="Profile file to write for the district.")],
                 server_url: Annotated[str, typer.Option(help="Base URL the district reaches the server at.")] = "http://127.0.0.1:8765",
                 expires: Annotated[int, typer.Option(help="Days until the token expires.")] = 90,
                 home: HomeOption = None, catalog: CatalogOption = None) -> None:
    """Create a district's token, print it once and write a Delta Sharing profile file."""
    from warehouse.sharing.tokens import create_token
    from zhiwang.validation import load_valid_catalog

    settings = settings_from(home, catalog)
    cat = load_valid_catalog(settings.catalog_dir)
    if district not in cat.districts:
        raise UserError(f"--district {district!r} is not in {cat.directory}/districts.yaml; known: {', '.join(cat.districts)}.")
    token, record = create_token(settings, district, expires)
    expiry = datetime.fromisoformat(record.expires_at).strftime("%Y-%m-%dT%H:%M:%S.0Z")
    profile = {"shareCredentialsVersion": 1, "endpoint": server_url.rstrip("/") + "/delta-sharing",
               "bearerToken": token, "expirationTime": expiry}
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(profile, handle, indent=1)
    console.print(f"Token {record.id} for district {district} (expires {record.expires_at}); it is shown only once:", highlight=False)
    typer.echo(token)
    console.print(f"Profile written to {out}.", highlight=False)


@token_app.command("list")
@user_errors
def token_list(home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """Tokens (never their values): id, district, expiry, revocation."""
    from dataclasses import asdict

    from warehouse.sharing.tokens import list_tokens

    records = [{k: v for k, v in asdict(r).items() if k != "hash"} for r in list_tokens(settings_from(home, catalog))]
    if json_out:
        print_json(records)
        return
    for r in records:
        console.print(f"{r['id']}  district {r['district']}  expires {r['expires_at']}"
                      + (f"  [red]revoked {r['revoked_at']}[/]" if r["revoked_at"] else ""), highlight=False)


@token_app.command("revoke")
@user_errors
def token_revoke(token_id: str, home: HomeOption = None, catalog: CatalogOption = None) -> None:
    """Revoke a token by id: the server refuses it from the next request on."""
    from warehouse.sharing.tokens import revoke_token

    record = revoke_token(settings_from(home, catalog), token_id)
    console.print(f"Token {record.id} of district {record.district} revoked.", highlight=False)


@app.command("pull")
@user_errors
def pull_cmd(profile: Annotated[Path, typer.Option(help="Delta Sharing profile file from the city.")],
             dest: Annotated[Path, typer.Option(help="Local DuckDB file (created on first pull).")],
             json_out: JsonOption = False) -> None:
    """Pull the district's mirror into DEST: full the first time, then incremental."""
    from warehouse.pull import pull

    result = pull(profile, dest)
    if json_out:
        print_json({"share": result.share, "release": result.release, "tables": result.tables})
        return
    console.print(f"{result.share}: release {result.release} in {dest}", highlight=False)
    for table, info in result.tables.items():
        console.print(f"  {table:13} {info['rows']} rows ({info['mode']}, {info['fetched_rows']} rows fetched)", highlight=False)
