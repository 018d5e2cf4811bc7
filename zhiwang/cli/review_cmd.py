"""zhiwang review list [--entity E] [--all] [--json] | decide PAIR match|no-match [--note TEXT]"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from zhiwang.cli.common import CatalogOption, HomeOption, JsonOption, console, print_json, settings_from, user_errors
from zhiwang.errors import UserError

app = typer.Typer(help="Steward review of uncertain matches (人工复核).", no_args_is_help=True)

ENTITIES = ("person", "legal_entity", "building")


def _fields(side: dict) -> str:
    return "  ".join(f"{k}={v}" for k, v in side.items() if v not in (None, ""))


@app.command("list")
@user_errors
def list_cmd(
    entity: Annotated[str | None, typer.Option("--entity", help="person, legal_entity or building.")] = None,
    include_decided: Annotated[bool, typer.Option("--all", help="Also show pairs already decided.")] = False,
    home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False,
) -> None:
    """The pairs waiting for a steward, most uncertain first; ID numbers and phones are masked."""
    from entity_resolution.review import list_pairs

    if entity is not None and entity not in ENTITIES:
        raise UserError(f"--entity {entity!r} is not one of: {', '.join(ENTITIES)}.")
    items = [i.masked() for i in list_pairs(settings_from(home, catalog), entity, include_decided=include_decided)]
    if json_out:
        print_json(items)
        return
    if not items:
        console.print("No pairs waiting for review." if not include_decided else "The review queue is empty.")
        return
    table = Table(title=f"{len(items)} pair(s) for review")
    for col in ("pair", "entity", "p", "left record", "right record", "decision"):
        table.add_column(col, overflow="fold")
    for i in items:
        p = "" if i["match_probability"] is None else f"{i['match_probability']:.3f}"
        table.add_row(i["pair_id"], i["entity"], p, _fields(i["left"]), _fields(i["right"]), i["decision"] or "")
    console.print(table)
    console.print("Decide with: zhiwang review decide PAIR match|no-match [--note TEXT]")


@app.command("decide")
@user_errors
def decide_cmd(
    pair: Annotated[str, typer.Argument(help="Pair id from `zhiwang review list`.")],
    decision: Annotated[str, typer.Argument(help="match or no-match.")],
    note: Annotated[str | None, typer.Option("--note", help="Why (kept with the decision).")] = None,
    home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False,
) -> None:
    """Record a decision; every later run applies it (a no-match keeps the two records apart)."""
    from entity_resolution.review import decide

    item = decide(settings_from(home, catalog), pair, decision, note).masked()
    if json_out:
        print_json(item)
        return
    console.print(f"{item['pair_id']}: {item['decision']} recorded; it applies from the next run.", highlight=False)
