"""The DAGs after ingestion, wired through Assets: ingest → (resolve and publish) → mirrors.

The golden Asset is updated by whatever publishes a golden release; the mirror DAG runs on it, mapped over the
districts of districts.yaml. The resolve-and-publish DAG joins here once the resolution stage has a pipeline
function to call (it will list every ``zhiwang://staging/<resource>`` Asset as its schedule and
``GOLDEN_ASSET_URI`` as its outlet).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import DAG

GOLDEN_ASSET_URI = "zhiwang://golden/release"
"""Updated each time a golden release is published."""
MIRROR_DAG_ID = "build_mirrors"


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
