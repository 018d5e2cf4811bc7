"""Airflow DAG: per-district mirrors, run on each new golden release (warehouse.mirror)."""

from zhiwang.airflow_support.pipeline_dags import mirror_dag

build_mirrors = mirror_dag()
