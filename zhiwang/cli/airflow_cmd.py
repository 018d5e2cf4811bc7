"""zhiwang airflow up | down | status | env"""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from zhiwang.cli.common import CatalogOption, HomeOption, JsonOption, console, print_json, settings_from, user_errors

app = typer.Typer(help="Run the Airflow services (steward UI, scheduler) for this data home.", no_args_is_help=True)

PortOption = Annotated[int, typer.Option("--port", help="Port of the API server and UI on 127.0.0.1.")]


@app.command("up")
@user_errors
def up_cmd(home: HomeOption = None, catalog: CatalogOption = None, port: PortOption = 8080,
           json_out: JsonOption = False) -> None:
    """Start scheduler, dag-processor, triggerer and api-server on 127.0.0.1; print the URL and login."""
    from zhiwang.airflow_support import services

    settings = settings_from(home, catalog)
    if not json_out:
        console.print(f"Starting Airflow for {settings.home} (database migration first; this takes a minute)…",
                      highlight=False)
    login = services.up(settings, port=port)
    if json_out:
        print_json({"url": login.url, "user": login.user, "password": login.password,
                    "password_file": str(login.password_file), "logs": str(login.logs)})
        return
    console.print(f"Airflow is up: [bold]{login.url}[/]  login [bold]{login.user}[/] / {login.password}  "
                  f"(password kept in {login.password_file}; set ZHIWANG_AIRFLOW_ADMIN_PASSWORD to choose it). "
                  f"New DAGs start paused: switch a resource on in the UI. Service logs: {login.logs}. "
                  "Stop with `zhiwang airflow down`.",
                  highlight=False)


@app.command("down")
@user_errors
def down_cmd(home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """Stop every Airflow service started by `zhiwang airflow up` for this data home."""
    from zhiwang.airflow_support import services

    stopped = services.down(settings_from(home, catalog))
    if json_out:
        print_json({"stopped": stopped})
    else:
        console.print(f"Stopped: {', '.join(stopped)}." if stopped else "Nothing was running.", highlight=False)


@app.command("status")
@user_errors
def status_cmd(home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """Which Airflow services run for this data home, and whether the UI answers."""
    from zhiwang.airflow_support import services

    info = services.status(settings_from(home, catalog))
    if json_out:
        print_json(info)
        return
    if not info["services"]:
        console.print("Airflow is not running (start it with `zhiwang airflow up`).", highlight=False)
        return
    for name, entry in info["services"].items():  # type: ignore[union-attr]
        console.print(f"{name:14} pid {entry['pid']:>7}  {'running' if entry['running'] else 'stopped'}", highlight=False)
    console.print(f"UI {info['url']}: {'answers' if info['api_healthy'] else 'does not answer'}", highlight=False)


@app.command("env")
@user_errors
def env_cmd(home: HomeOption = None, catalog: CatalogOption = None, port: PortOption = 8080) -> None:
    """Print `export` lines for running `airflow` commands against this data home: eval "$(zhiwang airflow env)"."""
    from zhiwang.airflow_support import services

    settings = settings_from(home, catalog)
    env = services.airflow_env(settings, port)
    services.ensure_admin_password(settings.home)  # so a hand-started api-server knows the admin too
    for key in sorted(env):
        if key.startswith(("AIRFLOW", "ZHIWANG_", "GX_")):
            typer.echo(f"export {key}={shlex.quote(env[key])}")
    typer.echo(f"export PATH={shlex.quote(str(services.venv_bin()))}:\"$PATH\"")
