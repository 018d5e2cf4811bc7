"""Airflow DAG: the daily quality scorecard and report (quality.scorecard, quality.report)."""

from zhiwang.airflow_support.quality_dag import scorecard_dag

quality_scorecard = scorecard_dag()
