"""The whole chain once, in order: ingest → (resolve → publish → mirrors as those stages land).

Each stage is a plain function the CLI and the Airflow tasks both call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from catalog.models import Catalog
from connectors.state import DeliveryRecord
from zhiwang.settings import Settings


@dataclass
class RunSummary:
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    """Stage name → wall seconds."""
    extra: dict[str, Any] = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        keys = ("rows_read", "rows_staged", "rows_quarantined", "rows_unchanged")
        return {k: sum(getattr(d, k) for d in self.deliveries) for k in keys}


Progress = Callable[[Iterable[str], int], Iterable[str]]
"""Wraps the resource ids as they are ingested (and how many there are), e.g. in a progress bar."""


INGEST_WORKERS_ENV = "ZHIWANG_INGEST_WORKERS"
PARALLEL_INGEST_BYTES = 64 * 2**20
"""Below this much waiting in the inboxes, starting worker processes (each imports Great Expectations) costs
more than it saves: resources are ingested one after the other in this process."""


def ingest_workers(waiting_bytes: int) -> int:
    """How many processes ingest resources side by side: ``ZHIWANG_INGEST_WORKERS`` (a number, or ``auto``:
    one per core up to 4 once the inboxes hold ``PARALLEL_INGEST_BYTES``, else 1). Resources are independent
    (their own inbox, staging, quarantine and snapshot index; the ledger is SQLite with a busy timeout), as
    they are when Airflow runs each resource's DAG on its own worker."""
    from entity_resolution.standardize._pool import available_cpus
    from zhiwang.settings import worker_count

    return worker_count(INGEST_WORKERS_ENV,
                        lambda: available_cpus(limit=4) if waiting_bytes >= PARALLEL_INGEST_BYTES else 1)


def _waiting_bytes(settings: Settings, resource_id: str) -> int:
    """Bytes of files in a resource's inbox (0 for pulled resources: their size is unknown before the pull)."""
    folder = settings.inbox / resource_id
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def ingest_all(settings: Settings, catalog: Catalog, resource_ids: list[str] | None = None,
               on_delivery: Callable[[DeliveryRecord], None] | None = None,
               progress: Progress | None = None) -> list[DeliveryRecord]:
    """Ingest every waiting delivery of the resources (all by default); the records come back in resource order
    whatever order the workers finish in (see :func:`ingest_workers`)."""
    from connectors.runner import ingest_resource

    ids = resource_ids or sorted(catalog.resources)
    for rid in ids:
        catalog.resource(rid)  # unknown ids fail before anything is ingested
    waiting = {rid: _waiting_bytes(settings, rid) for rid in ids}
    workers = min(ingest_workers(sum(waiting.values())), len(ids))
    if workers <= 1:
        records: list[DeliveryRecord] = []
        for rid in progress(ids, len(ids)) if progress else ids:
            records += ingest_resource(rid, settings=settings, catalog=catalog, on_delivery=on_delivery)
        return records
    by_resource = _ingest_in_processes(settings, ids, waiting, workers, on_delivery, progress)
    return [rec for rid in ids for rec in by_resource[rid]]


def _ingest_in_processes(settings: Settings, ids: list[str], waiting: dict[str, int], workers: int,
                         on_delivery: Callable[[DeliveryRecord], None] | None,
                         progress: Progress | None) -> dict[str, list[DeliveryRecord]]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from zhiwang.errors import ZhiwangError

    # the largest inbox first, so the last resource to finish is a small one
    order = sorted(ids, key=lambda rid: -waiting[rid])
    done: dict[str, list[DeliveryRecord]] = {}
    # spawn, not fork: the parent holds DuckDB and Arrow thread pools, which a forked child may find locked
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_started)
    try:
        pending: dict[Future[list[DeliveryRecord]], str] = {
            pool.submit(_ingest_one, rid, str(settings.home), str(settings.catalog_dir), settings.warehouse_uri): rid
            for rid in order}

        def finished() -> Iterable[str]:
            while pending:
                ready, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in ready:
                    rid = pending.pop(future)
                    try:
                        done[rid] = future.result()  # a resource's error stops the run, as in one process
                    except (SystemExit, KeyboardInterrupt, BrokenProcessPool) as exc:  # the worker itself ended
                        raise ZhiwangError(f"the worker process ingesting {rid} ended early ({type(exc).__name__}: "
                                           f"{exc}); nothing is lost (its delivery stays landed and the next ingest "
                                           f"resumes it). Set {INGEST_WORKERS_ENV}=1 to ingest in this process.") from exc
                    for rec in done[rid]:
                        if on_delivery:
                            on_delivery(rec)
                    yield rid

        for _ in progress(finished(), len(ids)) if progress else finished():
            pass
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return done


def _worker_started() -> None:
    """A spawned worker's ``__main__`` may be a bare module (the parent ran ``python -m zhiwang``). pyspark's
    Spark Connect package, which Great Expectations imports when pyspark is installed, takes such a main module
    for a doctest run and calls ``sys.exit(0)``, ending the worker mid-ingest: give it a name first."""
    import sys

    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        main.__file__ = "<zhiwang ingest worker>"


def _ingest_one(resource_id: str, home: str, catalog_dir: str, warehouse_uri: str | None) -> list[DeliveryRecord]:
    """One resource's ingest in a worker process (settings and catalog are rebuilt there, not pickled)."""
    from connectors.runner import ingest_resource
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    settings = get_settings(home, catalog_dir, warehouse_uri)
    return ingest_resource(resource_id, settings=settings, catalog=load_valid_catalog(settings.catalog_dir))


def run_all(settings: Settings, catalog: Catalog, on_delivery: Callable[[DeliveryRecord], None] | None = None,
            progress: Progress | None = None) -> RunSummary:
    from zhiwang.metering import stage

    summary = RunSummary()
    with stage("ingest") as ingest:
        summary.deliveries = ingest_all(settings, catalog, on_delivery=on_delivery, progress=progress)
        ingest.rows = summary.totals()["rows_read"]
    summary.stages["ingest"] = ingest.seconds
    from warehouse.registry import current_release

    current = current_release(settings)
    if current is not None and not any(d.status == "staged" and d.rows_staged for d in summary.deliveries):
        # nothing new was accepted: the current release still holds (`zhiwang publish` forces a new one)
        summary.extra["release"] = None
        summary.extra["unchanged_release"] = current.number
        return summary
    outcome = resolve_and_publish(settings, catalog)
    summary.stages.update(outcome.timings)
    summary.extra["release"] = outcome.release
    summary.extra["entities"] = outcome.counts
    return summary


def resolve_and_publish(settings: Settings, catalog: Catalog):  # noqa: ANN201 - ResolveOutcome
    """Resolve → survive → links → publish a release → district mirrors."""
    from entity_resolution.pipeline import resolve_and_publish as run

    return run(settings, catalog)


def run_through_airflow(settings: Settings, catalog: Catalog, delivery: int) -> RunSummary:
    """The same chain, run by the Airflow DAGs (dag.test in a child process); the summary is read back from
    the ledger and the release registry."""
    import time

    from connectors.state import StateStore
    from warehouse.registry import current_release
    from zhiwang.airflow_support.chain import run_chain

    before = {d.batch_id for d in StateStore(settings.state_db).deliveries()}
    start = time.perf_counter()
    result = run_chain(settings, f"2026-{8 + delivery:02d}-02")
    summary = RunSummary()
    summary.stages["airflow"] = time.perf_counter() - start
    summary.deliveries = [d for d in StateStore(settings.state_db).deliveries() if d.batch_id not in before]
    failed = {dag: state for dag, state in result["dags"].items() if state != "success"}
    if failed:
        from zhiwang.errors import ZhiwangError

        raise ZhiwangError(f"Airflow DAG runs did not succeed: {failed}; see {settings.home / 'airflow' / 'logs'}")
    release = current_release(settings)
    if not result.get("staged") and release is not None:
        summary.extra["release"] = None
        summary.extra["unchanged_release"] = release.number
        summary.extra["dags"] = result["dags"]
        return summary
    summary.extra["release"] = release.number if release else None
    summary.extra["entities"] = _release_counts(settings, release.number) if release else {}
    summary.extra["dags"] = result["dags"]
    return summary


def _release_counts(settings: Settings, number: int) -> dict[str, Any]:
    import pyarrow.compute as pc

    from warehouse.registry import read_table

    counts: dict[str, Any] = {}
    for entity in ("person", "legal_entity", "building"):
        table = read_table(settings, entity, number)
        counts[entity] = {"golden_active": int(pc.sum(pc.equal(table.column("status"), "active")).as_py() or 0)}
    counts["links"] = read_table(settings, "links", number).num_rows
    # the correction loop's files of this release (one CSV per provider, header line excluded)
    files = settings.feedback.glob(f"*/disagreements_release{number}.csv")
    counts["disagreements"] = sum(max(0, len(f.read_text(encoding="utf-8-sig").splitlines()) - 1) for f in files)
    return counts
