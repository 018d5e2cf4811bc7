"""Airflow import error for a broken catalog: names every problem's YAML file and key (no DAGs here).

Kept apart from zhiwang_ingest.py because Airflow records import errors per file: raising there would hide
every resource's DAG, raising here hides none.
"""

from zhiwang.airflow_support.catalog_scan import raise_for_problems

raise_for_problems()
