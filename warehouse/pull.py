"""A district pulls its mirror into a local DuckDB file with the official ``delta-sharing`` client.

The first pull of a table loads the shared version in full (``load_as_pandas``); later pulls apply only the
change data feed since the version last pulled (``load_table_changes_as_pandas``). After each table the
local row count must equal the count the mirror's ``release`` table records, else the pull fails. The
DuckDB file holds person, legal_entity, building, the shared ``release`` table, and ``_zhiwang_pull``
(per table: version, release, rows, how it was pulled).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from warehouse.mirror import RELEASE_SCHEMA
from zhiwang.errors import UserError

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

DATA_TABLES = ("person", "legal_entity", "building")
_DUCK_TYPES = {"string": "VARCHAR", "long": "BIGINT", "integer": "INTEGER", "short": "SMALLINT", "byte": "TINYINT",
               "double": "DOUBLE", "float": "FLOAT", "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP"}


class PullError(UserError):
    """A pull that could not be completed or whose result does not match the release."""


@dataclass
class PullResult:
    share: str
    release: int
    tables: dict[str, dict[str, object]] = field(default_factory=dict)
    """table → {mode: full | incremental | unchanged, version, rows, fetched_rows}."""


def _create_sql(name: str, schema_string: str) -> str:
    cols = []
    for f in json.loads(schema_string)["fields"]:
        kind = f["type"] if isinstance(f["type"], str) else None
        if kind not in _DUCK_TYPES:
            raise PullError(f"Shared table {name!r} column {f['name']!r} has type {f['type']!r}, which pull cannot store.")
        cols.append(f'"{f["name"]}" {_DUCK_TYPES[kind]}')
    return f'CREATE OR REPLACE TABLE "{name}" ({", ".join(cols)})'


def pull(profile: Path, dest: Path) -> PullResult:
    """Bring the district's mirror at its latest release into ``dest`` (a DuckDB file, created if absent)."""
    import delta_sharing
    import duckdb

    if not profile.is_file():
        raise PullError(f"Profile file {profile} does not exist; create one with `zhiwang mirror token create --out FILE`.")
    _preflight(profile)
    client = delta_sharing.SharingClient(str(profile))
    shares = client.list_shares()
    if len(shares) != 1:
        raise PullError(f"Profile {profile} sees {len(shares)} shares; a district token sees exactly one.")
    share = shares[0].name

    def url(table: str) -> str:
        return f"{profile}#{share}.golden.{table}"

    releases = delta_sharing.load_as_pandas(url("release"))
    if releases.empty:
        raise PullError(f"Share {share} has no release yet: the city must run `zhiwang mirror build`.")
    number = int(releases["release"].max())
    expected = {r.table_name: (int(r.version), int(r.rows)) for r in releases[releases["release"] == number].itertuples()}
    result = PullResult(share=share, release=number)
    con = duckdb.connect(str(dest))
    try:
        con.execute('CREATE TABLE IF NOT EXISTS _zhiwang_pull (table_name VARCHAR PRIMARY KEY, version BIGINT, '
                    'release BIGINT, "rows" BIGINT, mode VARCHAR, pulled_at TIMESTAMP DEFAULT current_timestamp)')
        state = dict(con.execute("SELECT table_name, version FROM _zhiwang_pull").fetchall())
        for table in DATA_TABLES:
            version, rows = expected[table]
            result.tables[table] = _pull_table(con, url(table), table, state.get(table), version)
            got = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
            if got != rows:
                raise PullError(f"{dest}: table {table} has {got} rows after the pull but release {number} has {rows}. "
                                "Delete the DuckDB file and pull again for a full copy.")
            con.execute("INSERT OR REPLACE INTO _zhiwang_pull (table_name, version, release, \"rows\", mode) VALUES (?, ?, ?, ?, ?)",
                        [table, version, number, rows, result.tables[table]["mode"]])
            result.tables[table]["rows"] = rows
        con.execute(_create_sql("release", RELEASE_SCHEMA_JSON))
        con.register("releases_df", releases)
        con.execute('INSERT INTO "release" BY NAME SELECT * FROM releases_df')
        con.unregister("releases_df")
    finally:
        con.close()
    return result


def _preflight(profile: Path) -> None:
    """Fail fast with plain words: the official client retries a dead endpoint for about 100 s."""
    import requests

    try:
        data = json.loads(profile.read_text(encoding="utf-8"))
        endpoint, token = data["endpoint"].rstrip("/"), data["bearerToken"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PullError(f"{profile} is not a Delta Sharing profile (JSON with endpoint and bearerToken): {exc}.") from None
    try:
        response = requests.get(f"{endpoint}/shares", headers={"Authorization": f"Bearer {token}"}, timeout=15)
    except requests.RequestException as exc:
        raise PullError(f"Cannot reach the sharing server at {endpoint} ({type(exc).__name__}). "
                        "Check the endpoint in the profile and that `zhiwang mirror serve` runs there.") from None
    if response.status_code == 401:
        raise PullError(f"The server at {endpoint} refused the token in {profile}: it is invalid, expired or revoked. "
                        "Ask the city for a new profile (`zhiwang mirror token create`).")
    if response.status_code != 200:
        raise PullError(f"The server at {endpoint} answered {response.status_code} to listing shares: {response.text[:200]}")


def _pull_table(con: DuckDBPyConnection, url: str, table: str, have: int | None, version: int) -> dict[str, object]:
    import delta_sharing

    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchall()[0][0]
    if have is None or not exists:
        schema = delta_sharing.get_table_metadata(url).schema_string
        df = delta_sharing.load_as_pandas(url, version=version)
        con.execute(_create_sql(table, schema))
        con.register("pulled_df", df)
        con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM pulled_df')
        con.unregister("pulled_df")
        return {"mode": "full", "version": version, "fetched_rows": len(df)}
    if have == version:
        return {"mode": "unchanged", "version": version, "fetched_rows": 0}
    changes = delta_sharing.load_table_changes_as_pandas(url, starting_version=have + 1, ending_version=version)
    if len(changes):
        columns = [c[0] for c in con.execute(f'DESCRIBE "{table}"').fetchall()]
        col_list = ", ".join(f'"{c}"' for c in columns)
        con.register("changes_df", changes)
        # the last event per golden_id wins; within a commit an update's post-image outranks its pre-image
        con.execute(f'DELETE FROM "{table}" WHERE golden_id IN (SELECT golden_id FROM changes_df)')
        con.execute(f"""
            INSERT INTO "{table}" ({col_list})
            SELECT {col_list} FROM (
                SELECT *, row_number() OVER (PARTITION BY golden_id ORDER BY _commit_version DESC,
                    CASE _change_type WHEN 'update_preimage' THEN 1 ELSE 0 END) AS _rank
                FROM changes_df)
            WHERE _rank = 1 AND _change_type IN ('insert', 'update_postimage')""")
        con.unregister("changes_df")
    return {"mode": "incremental", "version": version, "fetched_rows": len(changes)}


RELEASE_SCHEMA_JSON = json.dumps({"type": "struct", "fields": [
    {"name": f.name, "type": {"int64": "long", "string": "string"}[str(f.type)], "nullable": f.nullable, "metadata": {}}
    for f in RELEASE_SCHEMA]})
