"""The sql connector against the machine's real PostgreSQL and MariaDB."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from connectors.base import ConnectorContext, Window
from connectors.registry import parse_source, validate_source
from connectors.sql import SqlConnector, SqlSourceConfig, resolve_url
from connectors.state import StateStore
from connectors.testing import ConnectorContract, contract_resource
from zhiwang.errors import ConfigError, RetriableError, UserError

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
DDL = {
    "postgresql": "CREATE TABLE {t} (id integer PRIMARY KEY, 姓名 varchar(50), 出生日期 date, updated_at timestamp, "
    "金额 numeric(10, 2), 备注 text)",
    "mysql": "CREATE TABLE {t} (id integer PRIMARY KEY, 姓名 varchar(50), 出生日期 date, updated_at datetime, "
    "金额 decimal(10, 2), 备注 text) DEFAULT CHARSET=utf8mb4",
}
ROWS = [
    (1, "王小明", "1990-01-02", "2024-01-01 08:00:00", "12.50", "北京市朝阳区建国路88号"),
    (2, "李 华", "1985-12-31", "2024-01-02 09:30:00", "0.00", None),
    (3, "欧阳娜娜", "2001-07-15", "2024-01-03 10:15:30", "1234.56", "emoji 🙂 与「引号」"),
]


def as_text(row: tuple[Any, ...]) -> dict[str, str | None]:
    """What the connector lands for a row of ROWS: text, ISO dates and timestamps, exact decimals."""
    rid, name, born, updated, amount, note = row
    return {"id": str(rid), "姓名": name, "出生日期": born, "updated_at": updated.replace(" ", "T"), "金额": amount, "备注": note}


@pytest.fixture(scope="module", params=["postgresql", "mysql"])
def db(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    engine = sa.create_engine(PG_URL if request.param == "postgresql" else MARIADB_URL, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def insert(engine: sa.Engine, table: str, rows: list[tuple[Any, ...]]) -> None:
    with engine.begin() as con:
        con.execute(
            sa.text(f"INSERT INTO {table} VALUES (:i, :n, :b, :u, :a, :r)"),
            [dict(zip("inbuar", row, strict=True)) for row in rows],
        )


@pytest.fixture()
def table(db: sa.Engine) -> Iterator[str]:
    """A uniquely named table holding ROWS, dropped afterwards."""
    name = f"zw_sql_{uuid.uuid4().hex[:10]}"
    with db.begin() as con:
        con.execute(sa.text(DDL[db.dialect.name].format(t=name)))
    insert(db, name, ROWS)
    yield name
    with db.begin() as con:
        con.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))


@pytest.fixture()
def conn_id(db: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> str:
    """PostgreSQL through an env var holding a SQLAlchemy URL; MariaDB through Airflow's AIRFLOW_CONN_ URI form."""
    if db.dialect.name == "postgresql":
        monkeypatch.setenv("ZW_TEST_PG", PG_URL)
        return "ZW_TEST_PG"
    monkeypatch.setenv("AIRFLOW_CONN_ZW_TEST_MARIADB", "mysql://root@127.0.0.1:3306/test")
    return "zw_test_mariadb"


class SqlHarness:
    """Builds connectors over one resource and state store, like the runner does between runs."""

    def __init__(self, tmp_path: Path, options: dict[str, Any]):
        from zhiwang.settings import get_settings

        self.resource = contract_resource(options, ["id"], "sql_people")
        self.settings = get_settings(tmp_path / "home", tmp_path / "catalog")
        self.state = StateStore(self.settings.state_db)
        self.tmp_path = tmp_path

    def connector(self) -> SqlConnector:
        return SqlConnector(parse_source(self.resource), ConnectorContext(self.resource, self.settings, self.state))

    def pull(self, window: Window | None = None) -> list[dict[str, str | None]]:
        """One pull landed and acknowledged, as the runner does it; returns the landed rows."""
        (delivery,) = list(self.connector().deliveries(window or Window()))
        landed = delivery.land(self.tmp_path / "landing", uuid.uuid4().hex[:8])
        delivery.acknowledge()
        return pq.read_table(landed.path).to_pylist()


@pytest.fixture()
def harness(tmp_path: Path, conn_id: str, table: str) -> Callable[..., SqlHarness]:
    return lambda **options: SqlHarness(tmp_path, {"connector": "sql", "conn_id": conn_id, **options})


@pytest.mark.services
class TestSqlContract(ConnectorContract):
    connector_name = "sql"

    @pytest.fixture()
    def source_options(self, conn_id: str, table: str) -> dict[str, Any]:
        return {"connector": "sql", "conn_id": conn_id, "table": table, "cursor_field": "updated_at", "batch_rows": 2}

    @pytest.fixture()
    def expected_rows(self) -> list[dict[str, str | None]]:
        return [as_text(r) for r in ROWS]


@pytest.mark.services
def test_incremental_pull_reads_only_new_rows_and_persists_the_watermark(
    harness: Callable[..., SqlHarness], db: sa.Engine, table: str
) -> None:
    h = harness(table=table, cursor_field="updated_at")
    assert sorted(r["id"] for r in h.pull()) == ["1", "2", "3"]
    assert h.state.connector_state("sql_people") == {"watermark": "2024-01-03T10:15:30"}

    new = [(4, "张三丰", "1960-03-04", "2024-02-01 00:00:00", "7.00", "新增"), (5, "赵敏", "1970-05-06", "2024-02-02 12:00:00", "8.10", None)]
    insert(db, table, new)
    assert h.pull() == [as_text(r) for r in new]
    assert h.state.connector_state("sql_people") == {"watermark": "2024-02-02T12:00:00"}

    empty = h.pull()  # nothing new: lands no rows and keeps the watermark
    assert empty == []
    assert h.state.connector_state("sql_people") == {"watermark": "2024-02-02T12:00:00"}


@pytest.mark.services
def test_watermark_only_advances_when_acknowledged(harness: Callable[..., SqlHarness], table: str) -> None:
    h = harness(table=table, cursor_field="updated_at")
    (delivery,) = list(h.connector().deliveries(Window()))
    delivery.land(h.tmp_path / "landing", "rejected")
    delivery.reject(None, "staging failed")
    assert h.state.connector_state("sql_people") == {}
    assert len(h.pull()) == 3  # the rejected pull is read again


@pytest.mark.services
def test_query_source_is_wrapped_for_incremental_reads(harness: Callable[..., SqlHarness], table: str) -> None:
    # colons and percent signs are the query's own, and a trailing semicolon is tolerated
    query = f"SELECT id, 姓名, updated_at FROM {table} WHERE 金额 > 1 AND 姓名 LIKE '%娜%' AND '10:00' <> '';"
    h = harness(query=query, cursor_field="updated_at", initial_cursor="2024-01-01 12:00:00")
    assert h.pull() == [{"id": "3", "姓名": "欧阳娜娜", "updated_at": "2024-01-03T10:15:30"}]
    assert h.state.connector_state("sql_people") == {"watermark": "2024-01-03T10:15:30"}
    plain = harness(query=query.replace("金额 > 1", "金额 >= 0"))  # no cursor: the query runs as written
    assert [r["姓名"] for r in plain.pull()] == ["欧阳娜娜"]


@pytest.mark.services
def test_window_field_limits_the_pull_to_the_data_interval(harness: Callable[..., SqlHarness], table: str) -> None:
    from datetime import datetime

    h = harness(table=table, window_field="updated_at")
    rows = h.pull(Window(datetime(2024, 1, 2), datetime(2024, 1, 3)))
    assert [r["id"] for r in rows] == ["2"]
    assert h.state.connector_state("sql_people") == {}  # no cursor_field: nothing to remember


@pytest.mark.services
def test_window_in_utc_is_converted_to_the_columns_time_zone(harness: Callable[..., SqlHarness], table: str) -> None:
    from datetime import UTC, datetime

    window = Window(datetime(2024, 1, 2, 1, 0, tzinfo=UTC), datetime(2024, 1, 3, 2, 30, tzinfo=UTC))
    h = harness(table=table, window_field="updated_at", window_timezone="Asia/Shanghai")
    assert sorted(r["id"] for r in h.pull(window)) == ["2", "3"]  # 09:00 to 10:30 Beijing time
    with pytest.raises(ValueError, match="not a time zone name"):
        SqlSourceConfig(conn_id="x", table="t", window_field="updated_at", window_timezone="Beijing")


@pytest.mark.services
def test_rows_stream_through_a_server_side_cursor(harness: Callable[..., SqlHarness], db: sa.Engine, table: str) -> None:
    cursors: list[str] = []

    def record(conn: Any, cursor: Any, *args: Any) -> None:
        cursors.append(f"{type(cursor).__module__}.{type(cursor).__name__}")

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        batches = list(harness(table=table, batch_rows=2).connector().read(Window()))
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)
    assert [b.num_rows for b in batches] == [2, 1]
    expected = "psycopg.ServerCursor" if db.dialect.name == "postgresql" else "pymysql.cursors.SSCursor"
    assert expected in cursors, cursors


@pytest.mark.services
def test_missing_table_is_a_user_error(harness: Callable[..., SqlHarness]) -> None:
    with pytest.raises(UserError, match="zw_no_such_table"):
        list(harness(table="zw_no_such_table").connector().read(Window()))


@pytest.mark.services
def test_unknown_cursor_field_is_a_user_error(harness: Callable[..., SqlHarness], table: str, db: sa.Engine) -> None:
    with pytest.raises(UserError):  # the database itself refuses ORDER BY an unknown column
        list(harness(table=table, cursor_field="修改时间").connector().read(Window()))


def test_unreachable_database_is_retriable_and_names_the_host_not_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZW_TEST_DOWN", "postgresql+psycopg://zw:s3cr3t-pw@127.0.0.1:1/test?connect_timeout=2")
    h = SqlHarness(tmp_path, {"connector": "sql", "conn_id": "ZW_TEST_DOWN", "table": "t"})
    with pytest.raises(RetriableError, match=r"postgresql://127\.0\.0\.1:1/test") as info:
        list(h.connector().read(Window()))
    assert "s3cr3t-pw" not in str(info.value)


def test_airflow_uri_and_json_forms_become_sqlalchemy_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_GONGAN_DB", "postgres://reader:p%40ss@db.gongan.local:5433/population?__extra__=%7B%7D")
    url = resolve_url("gongan_db")
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+psycopg", "reader", "p@ss", "db.gongan.local", 5433, "population")
    assert dict(url.query) == {}
    monkeypatch.setenv("AIRFLOW_CONN_SHUIWU_DB", '{"conn_type": "mysql", "host": "10.0.0.5", "login": "ro", "password": "x/y", "port": 3306, "schema": "tax"}')
    url = resolve_url("shuiwu_db")
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "mysql+pymysql", "ro", "x/y", "10.0.0.5", 3306, "tax")


def test_env_var_wins_over_airflow_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZW_BOTH", "postgresql+psycopg://a@env-host/db")
    monkeypatch.setenv("AIRFLOW_CONN_ZW_BOTH", "postgres://a@airflow-host/db")
    assert resolve_url("ZW_BOTH").host == "env-host"


def test_unresolvable_conn_id_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_HOME", raising=False)
    with pytest.raises(ConfigError, match="set the environment variable ZW_NOWHERE to a SQLAlchemy URL.*create Airflow connection ZW_NOWHERE"):
        resolve_url("ZW_NOWHERE")


def test_config_needs_exactly_one_of_table_and_query() -> None:
    with pytest.raises(ValueError, match="exactly one of table or query"):
        SqlSourceConfig(conn_id="x", table="t", query="SELECT 1")
    with pytest.raises(ValueError, match="exactly one of table or query"):
        SqlSourceConfig(conn_id="x")


def test_a_password_in_the_catalog_is_refused() -> None:
    resource = contract_resource({"connector": "sql", "conn_id": "x", "table": "t", "password": "secret"}, ["id"])
    problems = validate_source(resource, "catalog/resources/gongan.yaml")
    assert [p.where for p in problems] == ["catalog/resources/gongan.yaml: source.password"]
    resource = contract_resource({"connector": "sql", "conn_id": "x", "table": "t", "url": "postgresql://u:p@h/db"}, ["id"])
    assert [p.where for p in validate_source(resource, "g.yaml")] == ["g.yaml: source.url"]


@pytest.mark.slow
def test_airflow_connection_store_is_the_last_resort(tmp_path: Path) -> None:
    """In a process configured for Airflow, a conn_id found in neither env var comes from Airflow's secrets
    backends (here a local connections file). A subprocess, because importing Airflow reads its config once."""
    import json
    import os
    import subprocess
    import sys

    conns = tmp_path / "connections.json"
    conns.write_text(json.dumps({"zw_af_conn": {"conn_type": "postgres", "host": "db.internal", "login": "reader",
                                                 "password": "pw/1", "port": 5433, "schema": "population"}}))
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"),
           "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
           "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(conns)})}
    code = "from connectors.sql import resolve_url; print(resolve_url('zw_af_conn').render_as_string(hide_password=False))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "postgresql+psycopg://reader:pw%2F1@db.internal:5433/population"
