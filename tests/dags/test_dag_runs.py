"""Real runs with dag.test(), grouped in one module: the first run in a process costs ~9 s, later ones little."""

from __future__ import annotations

import os
from pathlib import Path

import pendulum
import pytest
from conftest import AIRFLOW_WARNINGS, load_dagbag

pytestmark = [pytest.mark.slow, *(pytest.mark.filterwarnings(w) for w in AIRFLOW_WARNINGS)]


@pytest.fixture(scope="module")
def airflow_db() -> None:
    """Create the throw-away metadata database once for this module."""
    from airflow.utils.db import initdb

    initdb()


def drop(home: Path, resource_id: str, name: str, lines: list[str]) -> None:
    inbox = home / "inbox" / resource_id
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_text("\n".join(["编号,姓名,备注", *lines]) + "\n", encoding="utf-8")


def task_states(run) -> dict[str, str]:  # noqa: ANN001 - DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: ti.state for ti in run.get_task_instances(session=session)}


def asset_events(uri: str) -> int:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(select(func.count()).select_from(AssetEvent).join(
            AssetModel, AssetModel.id == AssetEvent.asset_id).where(AssetModel.uri == uri))


def test_ingest_dag_stages_a_dropped_file_then_skips_when_nothing_is_new(use_catalog, airflow_db) -> None:
    from connectors.state import StateStore

    _, ids = use_catalog("city_run", 1)
    rid = ids[0]
    home = Path(os.environ["ZHIWANG_HOME"])
    drop(home, rid, "delivery_1.csv", ["A1,张伟,", "A2,王芳,备注", ",无编号,"])
    dag = load_dagbag().dags[f"ingest_{rid}"]
    uri = f"zhiwang://staging/{rid}"

    run = dag.test(logical_date=pendulum.datetime(2026, 11, 19, tz="Asia/Shanghai"))
    assert run.state == "success"
    assert task_states(run) == {"ingest_validate_stage": "success"}
    (record,) = StateStore(home / "state.sqlite").deliveries(rid)
    assert (record.status, record.rows_read, record.rows_staged, record.rows_quarantined) == ("staged", 3, 2, 1)
    assert Path(record.staged_path).is_file()
    assert asset_events(uri) == 1  # resolve-and-publish is woken only by new staged data

    # the next cycle finds nothing new: the run is skipped and no Asset event is sent
    run = dag.test(logical_date=pendulum.datetime(2026, 11, 20, tz="Asia/Shanghai"))
    assert task_states(run) == {"ingest_validate_stage": "skipped"}
    assert asset_events(uri) == 1


def test_quality_scorecard_dag_writes_the_report(use_catalog, airflow_db) -> None:
    _, ids = use_catalog("city_run", 1)
    home = Path(os.environ["ZHIWANG_HOME"])
    drop(home, ids[0], "delivery_1.csv", ["A1,张伟,"])
    dagbag = load_dagbag()
    dagbag.dags[f"ingest_{ids[0]}"].test(logical_date=pendulum.datetime(2026, 11, 19, tz="Asia/Shanghai"))

    run = dagbag.dags["quality_scorecard"].test(logical_date=pendulum.datetime(2026, 11, 20, 6, tz="Asia/Shanghai"))
    assert task_states(run) == {"scorecard": "success", "quality_report": "success"}
    report = home / "quality" / "docs" / "index.html"
    assert "2026-11-19T22:00:00" in report.read_text(encoding="utf-8")  # stamped with the run, not the clock
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalars(select(XComModel).where(
            XComModel.dag_id == "quality_scorecard", XComModel.run_id == run.run_id,
            XComModel.task_id == "scorecard", XComModel.key == "return_value")).one()
        cards = XComModel.deserialize_value(row)
    assert [(c["provider"], c["rows_read"], c["rows_accepted"]) for c in cards] == [("minzheng", 1, 1)]
