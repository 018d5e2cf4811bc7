"""Helpers shared by the DAG tests."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"

# third-party warnings seen while Airflow runs DAGs in-process; ours still fail the build
AIRFLOW_WARNINGS = [
    # dag.test() runs Airflow's execution API in-process through fastapi.testclient
    "ignore:Using `httpx` with `starlette.testclient` is deprecated",
]


def load_dagbag():  # noqa: ANN201 - airflow DagBag
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS), bundle_path=DAGS)
