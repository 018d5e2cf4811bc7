"""The daily quality scorecard DAG: scores every department, then rewrites the offline HTML report."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import DAG

SCORECARD_DAG_ID = "quality_scorecard"


def scorecard_dag() -> DAG:
    import pendulum
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG, CronTriggerTimetable

    from zhiwang.airflow_support.ingest_dags import TIMEZONE
    from zhiwang.airflow_support.tasks import quality_report, quality_scorecard

    with DAG(
        dag_id=SCORECARD_DAG_ID,
        description="每日数据质量评分 / daily quality scorecard per department",
        doc_md="Scores every department's deliveries (`zhiwang quality scorecard`) and rewrites the offline "
               "HTML report under `<ZHIWANG_HOME>/quality/docs/` (`zhiwang quality report`). Runs after the "
               "nightly ingests; reading only, so re-running a day is harmless.",
        # 06:00 Beijing time: after the midnight runs of daily resources
        schedule=CronTriggerTimetable("0 6 * * *", timezone=TIMEZONE),
        start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
        catchup=False,
        max_active_runs=1,
        default_args={"owner": "quality", "retries": 1, "retry_delay": timedelta(minutes=5)},
        tags=["quality", "scorecard"],
    ) as dag:
        cards = PythonOperator(task_id="scorecard", python_callable=quality_scorecard)
        report = PythonOperator(task_id="quality_report", python_callable=quality_report)
        cards >> report
    return dag
