"""Airflow DAG: resolve entities and publish the golden library whenever a delivery is staged."""

from zhiwang.airflow_support.catalog_scan import scan_catalog
from zhiwang.airflow_support.pipeline_dags import resolve_publish_dag

resolve_and_publish = resolve_publish_dag(list(scan_catalog().resources))
