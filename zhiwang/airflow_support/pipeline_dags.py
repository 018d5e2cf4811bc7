"""The DAGs after ingestion, wired through Assets: ingest → (resolve and publish) → mirrors.

The resolve-and-publish DAG runs when any resource's staging Asset is updated (an ingest staged new rows):
it plans the release number, resolves person, legal entity and building in parallel tasks, then links and
publishes the release, updating the golden Asset. The mirror DAG runs on that Asset, mapped over the
districts of districts.yaml.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import DAG

GOLDEN_ASSET_URI = "zhiwang://golden/release"
"""Updated each time a golden release is published."""
MIRROR_DAG_ID = "build_mirrors"
RESOLVE_DAG_ID = "resolve_and_publish"


def golden_asset():  # noqa: ANN201 - airflow.sdk.Asset
    from airflow.sdk import Asset

    return Asset(uri=GOLDEN_ASSET_URI, name="golden_release", group="golden")


def mirror_dag() -> DAG:
    import pendulum
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG

    from zhiwang.airflow_support.ingest_dags import TIMEZONE
    from zhiwang.airflow_support.tasks import build_district_mirror, mirror_districts

    with DAG(
        dag_id=MIRROR_DAG_ID,
        description="区级镜像 / per-district mirrors of the golden library",
        doc_md="On every new golden release, brings each district's mirror (its own rows, fields masked by "
               "sharing class) up to that release: one mapped task per district of `districts.yaml`. "
               "Same as `zhiwang mirror build`; a district already at the release is left as it is.",
        schedule=[golden_asset()],
        start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
        catchup=False,
        max_active_runs=1,  # releases are mirrored in order
        default_args={"owner": "warehouse", "retries": 2, "retry_delay": timedelta(minutes=1),
                      "retry_exponential_backoff": 2.0},
        tags=["mirror", "golden"],
    ) as dag:
        districts = PythonOperator(task_id="districts", python_callable=mirror_districts)
        PythonOperator.partial(
            task_id="build_mirror", python_callable=build_district_mirror,
            map_index_template="{{ task.op_kwargs['district'] }}",  # the UI names each mapped task by its code
        ).expand(op_kwargs=districts.output)
    return dag


def resolve_publish_dag(resource_ids: list[str]) -> DAG:
    """Scheduled on the staging Assets of ``resource_ids`` (any of them updated starts a run)."""
    import pendulum
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG, Asset, AssetAny

    from catalog.canonical import ENTITY_TYPES
    from zhiwang.airflow_support.ingest_dags import TIMEZONE, staging_asset_uri
    from zhiwang.airflow_support.tasks import plan_release, publish_task, resolve_entity_task

    assets = [Asset(uri=staging_asset_uri(rid), name=f"staging_{rid}", group="staging") for rid in sorted(resource_ids)]
    with DAG(
        dag_id=RESOLVE_DAG_ID,
        description="一数一源 / resolve entities and publish the golden library",
        doc_md="When any department's delivery has been staged: resolve person, legal entity and building "
               "(Splink, stable golden IDs, survivorship) in parallel, then build the links and publish the "
               "next golden release atomically. Same as `zhiwang publish`. The mirrors follow on the golden Asset.",
        schedule=AssetAny(*assets) if assets else None,
        start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
        catchup=False,
        max_active_runs=1,  # releases are built one after another
        default_args={"owner": "entity_resolution", "retries": 2, "retry_delay": timedelta(minutes=1),
                      "retry_exponential_backoff": 2.0},
        tags=["resolve", "golden"],
    ) as dag:
        release = PythonOperator(task_id="plan_release", python_callable=plan_release)
        publish = PythonOperator(task_id="publish", python_callable=publish_task,
                                 op_kwargs={"release": release.output}, outlets=[golden_asset()])
        for entity in ENTITY_TYPES:
            resolve = PythonOperator(task_id=f"resolve_{entity}", python_callable=resolve_entity_task,
                                     op_kwargs={"entity": entity, "release": release.output})
            resolve >> publish
    return dag
