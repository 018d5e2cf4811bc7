"""Real runs with dag.test(), grouped in one module: the first run in a process costs ~9 s, later ones little."""

from __future__ import annotations

import os
from pathlib import Path

import pendulum
import pytest

from tests.dags.helpers import AIRFLOW_WARNINGS, load_dagbag

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

    root, ids = use_catalog("city_run", 2)
    rid = ids[0]
    # another department's broken entry must not stop this one's ingestion
    (root / "resources" / f"{ids[1]}.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    home = Path(os.environ["ZHIWANG_HOME"])
    drop(home, rid, "delivery_1.csv", ["A1,张伟,", "A2,王芳,备注", ",无编号,"])
    dagbag = load_dagbag()
    assert list(dagbag.import_errors) == ["zhiwang_catalog_check.py"]
    dag = dagbag.dags[f"ingest_{rid}"]
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

    # a delivery the department must fix fails the run at once (no retries) and wakes nobody downstream
    inbox = home / "inbox" / rid
    (inbox / "delivery_2.csv").write_text("完全不同的列\n1\n", encoding="utf-8")
    run = dag.test(logical_date=pendulum.datetime(2026, 11, 21, tz="Asia/Shanghai"))
    assert run.state == "failed"
    assert task_states(run) == {"ingest_validate_stage": "failed"}
    assert asset_events(uri) == 1
    rejected = [d for d in StateStore(home / "state.sqlite").deliveries(rid) if d.file == "delivery_2.csv"]
    assert [d.status for d in rejected] == ["rejected"]


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


def test_mirror_dag_builds_every_district_of_the_current_release(airflow_db, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from warehouse.mirror import mirror_release
    from warehouse.release import publish_release
    from warehouse.synthetic import synthetic_catalog, synthetic_tables, write_catalog
    from zhiwang.settings import get_settings

    catalog = synthetic_catalog()
    root = write_catalog(catalog, tmp_path / "synthetic")
    monkeypatch.setenv("ZHIWANG_CATALOG", str(root))
    monkeypatch.setenv("ZHIWANG_HOME", str(tmp_path / "home"))
    settings = get_settings()
    dag = load_dagbag().dags["build_mirrors"]
    codes = sorted(catalog.districts)

    run = dag.test(logical_date=pendulum.datetime(2026, 11, 19, tz="Asia/Shanghai"))
    assert mapped_states(run) == {code: "skipped" for code in codes}  # no release yet

    publish_release(settings, catalog, synthetic_tables(40, seed=3), build_mirrors=False)
    run = dag.test(logical_date=pendulum.datetime(2026, 11, 20, tz="Asia/Shanghai"))
    assert run.state == "success"
    assert mapped_states(run) == {code: "success" for code in codes}
    assert all(mirror_release(settings, code, 1) is not None for code in codes)


def mapped_states(run) -> dict[str, str]:  # noqa: ANN001 - DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.rendered_map_index: ti.state for ti in run.get_task_instances(session=session)
                if ti.task_id == "build_mirror"}


def test_whole_chain_on_the_demo_city_ends_with_a_release_and_mirrors(airflow_db, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ingest DAG, then resolve_and_publish, then build_mirrors, each through dag.test()."""
    from warehouse.mirror import mirror_release
    from warehouse.registry import current_release
    from zhiwang.demo import generate_city
    from zhiwang.settings import get_settings

    city = Path(__file__).resolve().parents[2] / "catalog"
    monkeypatch.setenv("ZHIWANG_CATALOG", str(city))
    monkeypatch.setenv("ZHIWANG_HOME", str(tmp_path / "home"))
    settings = get_settings()
    generate_city(settings, persons=400, seed=5)
    dagbag = load_dagbag()
    assert dagbag.import_errors == {}
    day = pendulum.datetime(2026, 11, 20, tz="Asia/Shanghai")
    ingest = sorted(d for d in dagbag.dags if d.startswith("ingest_"))
    assert len(ingest) >= 8
    for dag_id in ingest:
        assert dagbag.dags[dag_id].test(logical_date=day).state == "success", dag_id
    run = dagbag.dags["resolve_and_publish"].test(logical_date=day)
    assert run.state == "success", task_states(run)
    release = current_release(settings)
    assert release is not None and release.number == 1 and release.tables["person"].rows > 300
    assert asset_events("zhiwang://golden/release") >= 1
    run = dagbag.dags["build_mirrors"].test(logical_date=day)
    assert run.state == "success"
    from zhiwang.validation import load_valid_catalog

    for code in load_valid_catalog(city).districts:
        assert mirror_release(settings, code, 1) is not None, code
