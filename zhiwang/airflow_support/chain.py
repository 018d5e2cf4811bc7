"""Run the whole chain through Airflow once, in-process with ``dag.test()``: every ingest DAG, then
resolve_and_publish, then build_mirrors — the same DAGs the scheduler runs, against this data home's own
Airflow database. ``zhiwang demo run`` uses it so the demo goes through Airflow, not around it.

It runs in a child process (:func:`run_chain`) because Airflow reads its configuration once, at import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from zhiwang.errors import ZhiwangError
from zhiwang.settings import Settings

_MARK = "ZHIWANG-CHAIN-RESULT "


def run_chain(settings: Settings, logical_date: str) -> dict[str, Any]:
    """Run the DAGs for ``logical_date`` (ISO date) in a child process; return per-DAG states."""
    from zhiwang.airflow_support.services import REPO_ROOT, airflow_env, migrate

    env = airflow_env(settings)
    logs = settings.home / "airflow" / "logs"
    migrate(env, logs)
    proc = subprocess.run([sys.executable, "-m", "zhiwang.airflow_support.chain", logical_date], env=env,
                          cwd=REPO_ROOT, capture_output=True, text=True)
    (logs / "demo-chain.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    lines = [line for line in proc.stdout.splitlines() if line.startswith(_MARK)]
    if proc.returncode != 0 or not lines:
        raise ZhiwangError(f"The Airflow run of the chain failed; see {logs / 'demo-chain.log'}:\n{proc.stderr[-2500:]}")
    return json.loads(lines[-1][len(_MARK):])


def _main(logical_date: str) -> None:
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    from zhiwang.airflow_support.pipeline_dags import MIRROR_DAG_ID, RESOLVE_DAG_ID
    from zhiwang.settings import REPO_ROOT

    dags = REPO_ROOT / "dags"
    dagbag = DagBag(dag_folder=str(dags), bundle_path=dags)
    if dagbag.import_errors:
        raise SystemExit(f"DAG import errors: {dagbag.import_errors}")
    from airflow.utils.session import create_session

    day = pendulum.parse(logical_date).in_timezone("Asia/Shanghai")
    states: dict[str, str] = {}
    staged = False
    for dag_id in sorted(d for d in dagbag.dags if d.startswith("ingest_")):
        run = dagbag.dags[dag_id].test(logical_date=day)
        states[dag_id] = str(run.state)
        with create_session() as session:  # a skipped ingest task found nothing new: no Asset event
            staged |= any(str(ti.state) == "success" for ti in run.get_task_instances(session=session))
    # as the scheduler would: the downstream DAGs run only when an ingest updated its staging Asset
    for dag_id in (RESOLVE_DAG_ID, MIRROR_DAG_ID) if staged else ():
        states[dag_id] = str(dagbag.dags[dag_id].test(logical_date=day).state)
    print(_MARK + json.dumps({"dags": states, "staged": staged}), flush=True)


if __name__ == "__main__":
    _main(sys.argv[1])
