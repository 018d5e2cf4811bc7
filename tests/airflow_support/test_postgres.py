"""The metadata database on the machine's PostgreSQL, as an operator sets it up."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from zhiwang.airflow_support import services
from zhiwang.settings import REPO_ROOT, get_settings

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture()
def database() -> str:
    import psycopg

    name = f"zw_airflow_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_migrate_on_postgresql(tmp_path: Path, database: str) -> None:
    import psycopg

    settings = get_settings(tmp_path / "home", REPO_ROOT / "catalog")
    env = services.airflow_env(settings, base={"PATH": "/usr/bin", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database})
    services.migrate(env, tmp_path / "logs")
    with psycopg.connect(database.replace("+psycopg", "")) as con:
        tables = {row[0] for row in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"dag", "dag_run", "task_instance", "asset_event", "alembic_version"} <= tables
    assert not (tmp_path / "home" / "airflow" / "airflow.db").exists()
