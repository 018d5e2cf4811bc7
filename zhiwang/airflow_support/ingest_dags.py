"""One ingest DAG per catalog resource, generated at parse time.

Called from ``dags/zhiwang_ingest.py``. Only ``airflow.sdk`` (already loaded by whoever parses DAGs), pydantic
and yaml are imported here; the connectors and the quality gate are imported by the task when it runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from catalog.models import Resource
    from zhiwang.airflow_support.catalog_scan import CatalogScan

TIMEZONE = "Asia/Shanghai"
# Cron per update cycle; runs cover the cycle just ended (CronDataIntervalTimetable), which is the window
# the connectors read. "realtime" resources are polled every five minutes.
CRON_BY_CYCLE: dict[str, str] = {
    "realtime": "*/5 * * * *",
    "hourly": "0 * * * *",
    "daily": "0 0 * * *",
    "weekly": "0 0 * * 1",
    "monthly": "0 0 1 * *",
    "quarterly": "0 0 1 1,4,7,10 *",
    "yearly": "0 0 1 1 *",
}
INGEST_RETRIES = {
    # a database or API that is down may be back later; a bad file fails at once (AirflowFailException)
    "retries": 3,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
}


def staging_asset_uri(resource_id: str) -> str:
    """The Asset a resource's ingest DAG updates when a delivery was staged."""
    return f"zhiwang://staging/{resource_id}"


def ingest_dag_id(resource_id: str) -> str:
    return f"ingest_{resource_id}"


def ingest_dags(scan: CatalogScan | None = None) -> dict[str, DAG]:
    """dag_id → DAG for every sound resource of the catalog (``ZHIWANG_CATALOG`` or the city's)."""
    from zhiwang.airflow_support.catalog_scan import scan_catalog

    scan = scan or scan_catalog()
    departments = scan.catalog.departments if scan.catalog else {}
    dags: dict[str, DAG] = {}
    for rid, resource in sorted(scan.resources.items()):
        dept = departments.get(resource.provider)
        dags[ingest_dag_id(rid)] = build_ingest_dag(
            resource, scan.resource_files.get(rid, rid), dept.name if dept else resource.provider)
    return dags


def _doc(resource: Resource, where: str, provider_name: str) -> str:
    return (
        f"**{resource.title}** (`{resource.id}`)\n\n"
        f"- provider: {provider_name} (`{resource.provider}`)\n"
        f"- entity: {resource.entity}; category: {resource.category}; sharing: {resource.sharing}\n"
        f"- source: `{resource.source.connector}`; update cycle: {resource.update_cycle}\n"
        f"- catalog entry: `{where}`\n\n"
        "One task lands each new delivery, stages it as Parquet and runs the quality gate; rejected rows go "
        "to quarantine. A run with nothing new is skipped. Same as `zhiwang ingest " + resource.id + "`."
    )


def build_ingest_dag(resource: Resource, where: str, provider_name: str) -> DAG:
    import pendulum
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG, Asset, CronDataIntervalTimetable

    from zhiwang.airflow_support.tasks import ingest_validate_stage

    default_args: dict[str, Any] = {"owner": resource.provider, **INGEST_RETRIES}
    with DAG(
        dag_id=ingest_dag_id(resource.id),
        description=resource.title,
        doc_md=_doc(resource, where, provider_name),
        schedule=CronDataIntervalTimetable(CRON_BY_CYCLE[resource.update_cycle], timezone=TIMEZONE),
        start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
        catchup=False,
        max_active_runs=1,  # deliveries of one resource are ingested in order, never twice at once
        default_args=default_args,
        tags=[resource.provider, resource.entity, "ingest"],
    ) as dag:
        # PythonOperator rather than @task: the decorator's signature inspection doubles the parse cost
        PythonOperator(
            task_id="ingest_validate_stage",
            python_callable=ingest_validate_stage,
            op_kwargs={"resource_id": resource.id},
            outlets=[Asset(uri=staging_asset_uri(resource.id), name=f"staging_{resource.id}", group="staging")],
            execution_timeout=timedelta(hours=2),
        )
    return dag
