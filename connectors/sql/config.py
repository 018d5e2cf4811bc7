"""Options of the ``sql`` connector, and how its ``conn_id`` becomes a SQLAlchemy URL.

The catalog never holds a password: ``conn_id`` names an environment variable or an Airflow connection that
holds the credentials on the machine that runs the pull.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from pydantic import Field, field_validator, model_validator

from connectors.base import SourceConfig
from zhiwang.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

# Airflow connection types → SQLAlchemy dialect+driver we ship drivers for.
AIRFLOW_SCHEMES = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


class SqlSourceConfig(SourceConfig):
    connector: Literal["sql"] = "sql"
    conn_id: str = Field(min_length=1)
    """Environment variable holding a SQLAlchemy URL, or an Airflow connection id (AIRFLOW_CONN_<ID> or
    Airflow's connection store). Never a password in the catalog."""
    table: str | None = None
    """Table to read, optionally schema-qualified: ``public.persons``."""
    query: str | None = None
    """A SELECT to read instead of a table; wrapped as a subquery for incremental and windowed reads."""
    cursor_field: str | None = None
    """Column for incremental reads, e.g. updated_at: each pull reads rows with a greater value than the
    largest one staged before."""
    initial_cursor: str | None = None
    """Watermark of the very first pull (rows with cursor_field greater than this); omitted = everything."""
    window_field: str | None = None
    """Column compared with the run's data interval: ``start <= window_field < end``; omitted = no filter."""
    window_timezone: str | None = None
    """Time zone of window_field's values when the column has none (e.g. Asia/Shanghai): the interval, which
    Airflow gives in UTC, is converted to it first. Omitted = the interval is passed as given."""
    batch_rows: int = Field(default=50_000, gt=0)
    """Rows fetched per round trip (server-side cursor), and rows per landed record batch."""

    @field_validator("window_timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"window_timezone {value!r} is not a time zone name such as Asia/Shanghai") from None
        return value

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlSourceConfig:
        if (self.table is None) == (self.query is None):
            raise ValueError("set exactly one of table or query (table: a table name; query: a SELECT statement)")
        if self.initial_cursor is not None and self.cursor_field is None:
            raise ValueError("initial_cursor is set but cursor_field is missing: name the column it applies to")
        if self.window_timezone is not None and self.window_field is None:
            raise ValueError("window_timezone is set but window_field is missing: name the column it applies to")
        return self


def resolve_url(conn_id: str) -> URL:
    """The SQLAlchemy URL for ``conn_id``: its environment variable, then AIRFLOW_CONN_<ID>, then Airflow."""
    import sqlalchemy as sa

    raw = os.environ.get(conn_id)
    origin = f"environment variable {conn_id}"
    if not raw:
        env_name = f"AIRFLOW_CONN_{conn_id.upper()}"
        raw = os.environ.get(env_name)
        origin = f"environment variable {env_name}"
        if raw and raw.lstrip().startswith("{"):
            raw = _json_conn_uri(raw, env_name)
    if not raw:
        raw = _airflow_conn_uri(conn_id)
        origin = f"Airflow connection {conn_id}"
    if not raw:
        raise ConfigError(
            f"source.conn_id = {conn_id!r} resolves to no database: set the environment variable {conn_id} to a "
            f"SQLAlchemy URL (e.g. postgresql+psycopg://user@host:5432/db) or create Airflow connection {conn_id}."
        )
    try:
        url = sa.engine.make_url(raw.strip())
    except sa.exc.ArgumentError:
        # the message of ArgumentError repeats the URL, password included: say where it came from instead
        raise ConfigError(
            f"The {origin} (source.conn_id = {conn_id!r}) is not a database URL; expected the form "
            "dialect+driver://user:password@host:port/database."
        ) from None
    drivername = AIRFLOW_SCHEMES.get(url.drivername, url.drivername)
    # Airflow keeps its own options in __extra__; drivers would choke on them
    query = {k: v for k, v in url.query.items() if k != "__extra__"}
    return url.set(drivername=drivername, query=query)


def describe_url(url: URL) -> str:
    """Where a URL points, without user or password: for messages and the delivery ledger."""
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    database = f"/{url.database}" if url.database else ""
    return f"{url.get_backend_name()}://{host}{port}{database}"


def _json_conn_uri(raw: str, env_name: str) -> str:
    """Airflow's JSON form of AIRFLOW_CONN_* → a URI."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{env_name} starts with '{{' but is not valid JSON ({exc.msg}); use a URI or Airflow's JSON form.") from None
    return _conn_uri(data)


def _conn_uri(data: dict[str, Any]) -> str:
    scheme = str(data.get("conn_type") or "").replace("_", "-")
    user = quote(str(data.get("login") or ""), safe="")
    password = quote(str(data.get("password") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{data['port']}" if data.get("port") else ""
    schema = data.get("schema") or ""
    return f"{scheme}://{auth}{data.get('host') or ''}{port}/{schema}"


def _airflow_conn_uri(conn_id: str) -> str | None:
    """Airflow's connection store, only when running inside Airflow (a task or an Airflow-configured shell).

    Importing Airflow costs seconds and writes a default config into an unset AIRFLOW_HOME, so a plain CLI run
    never touches it.
    """
    if "airflow" not in sys.modules and not os.environ.get("AIRFLOW_HOME"):
        return None
    try:
        from airflow.sdk import Connection
    except ImportError:
        return None
    try:
        conn = Connection.get(conn_id)
    except Exception:  # noqa: BLE001 - not found, or no store reachable: both mean "not configured here"
        return None
    return _conn_uri({
        "conn_type": conn.conn_type, "login": conn.login, "password": conn.password,
        "host": conn.host, "port": conn.port, "schema": conn.schema,
    })
