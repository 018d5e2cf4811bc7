"""Airflow runs in-process here (DagBag, dag.test()) against a throw-away SQLite database.

The environment is set when this file is imported, before anything imports Airflow, because Airflow reads
its configuration once at import.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from tests.dags.helpers import REPO

_AIRFLOW_TMP = Path(tempfile.mkdtemp(prefix="zhiwang-airflow-tests-"))
atexit.register(shutil.rmtree, _AIRFLOW_TMP, ignore_errors=True)
os.environ.update({
    "AIRFLOW_HOME": str(REPO),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_TMP / 'airflow.db'}",
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(_AIRFLOW_TMP / "logs"),
    "AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY": str(_AIRFLOW_TMP / "logs" / "dag_processor"),
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(_AIRFLOW_TMP / "passwords.json"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
})
if "airflow.settings" in sys.modules:  # another test module imported Airflow first: repoint it
    from airflow import settings
    from airflow.configuration import conf

    conf.set("database", "sql_alchemy_conn", os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    conf.set("logging", "base_log_folder", os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])
    settings.reconfigure_orm()


@pytest.fixture()
def use_catalog(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Point ZHIWANG_CATALOG (and a fresh ZHIWANG_HOME) at a catalog the test writes."""
    from tests.dags.catalog_factory import write_catalog

    monkeypatch.setenv("ZHIWANG_HOME", str(tmp_path / "home"))

    def make(name: str, n: int, prefix: str = "res") -> tuple[Path, list[str]]:
        root = tmp_path / name
        ids = write_catalog(root, n, prefix)
        monkeypatch.setenv("ZHIWANG_CATALOG", str(root))
        return root, ids

    return make
