"""Airflow DAGs: one ingest DAG per resource of the catalog (ZHIWANG_CATALOG or the city's).

Resources whose catalog entry has a problem are left out here and reported by zhiwang_catalog_check.py, so
one broken YAML file costs only its own DAG.
"""

from zhiwang.airflow_support.ingest_dags import ingest_dags

globals().update(ingest_dags())
