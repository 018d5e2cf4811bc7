"""Airflow glue: the DAG factories that ``dags/`` calls, the task wrappers, secrets and the services.

Nothing here imports Airflow, the connectors or the quality gate at module level, so ``dags/`` stays cheap
to parse and the CLI stays quick.
"""
