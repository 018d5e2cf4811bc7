"""What Airflow tasks run: thin wrappers that call the same functions as the CLI.

They translate outcomes into Airflow's terms: a mistake a person must fix fails the task without retries
(``AirflowFailException``), a transient failure is left to raise so Airflow retries it with backoff, and a run
that found nothing new is skipped, so no Asset event wakes the downstream DAGs for nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from zhiwang.settings import get_settings as _settings

if TYPE_CHECKING:
    from catalog.models import Catalog

log = logging.getLogger(__name__)


def _sound_catalog(resource_id: str) -> Catalog:
    """The catalog's sound resources; fail without retry when this resource's own entry is broken, but
    never because some *other* entry is (a broken entry must not stop every department's ingestion)."""
    from airflow.sdk.exceptions import AirflowFailException

    from zhiwang.airflow_support.catalog_scan import scan_catalog

    scan = scan_catalog()
    if resource_id not in scan.resources:
        raise AirflowFailException(scan.describe_problems() if scan.problems else
                                   f"No resource {resource_id!r} in the catalog at {scan.directory} any more; "
                                   "the DAG disappears at the next parse.")
    return scan.catalog


def ingest_validate_stage(resource_id: str, data_interval_start: datetime | None = None,
                          data_interval_end: datetime | None = None) -> list[dict[str, Any]]:
    """Land, stage and quality-gate every delivery of ``resource_id`` in the data interval.

    ``connectors.runner.ingest_resource`` does the three steps per delivery in one call (a delivery is
    staged only once the gate has passed it), so this is one task rather than three.
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from connectors.runner import ingest_resource
    from zhiwang.errors import UserError

    catalog = _sound_catalog(resource_id)
    try:
        records = ingest_resource(resource_id, data_interval_start, data_interval_end,
                                  settings=_settings(), catalog=catalog)
    except UserError as exc:
        raise AirflowFailException(str(exc)) from exc  # retrying cannot fix a bad file or setting
    summary = [record.public() for record in records]
    for line in summary:
        log.info("delivery %s", line)
    staged = [r for r in records if r.status == "staged" and r.rows_staged]  # an all-unchanged snapshot wakes no one
    unchanged = [r for r in records if r.status == "staged" and not r.rows_staged]
    troubled = [r for r in records if r.status in ("rejected", "held")]
    for rec in troubled:
        log.warning("%s: %s %s: %s", rec.resource, rec.file, rec.status, rec.message)
    if staged:
        return summary
    if troubled:
        # the provider has to act (or a steward, for a held delivery): show red, do not retry
        raise AirflowFailException(
            f"No delivery of {resource_id} was staged: "
            + "; ".join(f"{r.file} {r.status}: {r.message}" for r in troubled))
    if unchanged:
        raise AirflowSkipException(f"{len(unchanged)} delivery(ies) of {resource_id} changed nothing since the last one "
                                   f"({sum(r.rows_unchanged for r in unchanged):,} rows unchanged).")
    raise AirflowSkipException(f"No new delivery for {resource_id} in {data_interval_start} – {data_interval_end}.")


def _report_catalog() -> Catalog:
    """The sound part of the catalog: reports cover every resource that can be ingested."""
    from zhiwang.airflow_support.catalog_scan import scan_catalog

    return scan_catalog().catalog


def quality_scorecard() -> list[dict[str, Any]]:
    """Per department: deliveries, acceptance rate, errors and warnings by check (as `zhiwang quality scorecard`)."""
    from quality.scorecard import scorecard

    cards = scorecard(_settings(), _report_catalog())
    for card in cards:
        rate = "no rows" if card["acceptance_rate"] is None else f"{card['acceptance_rate']:.1%} accepted"
        log.info("%s (%s): %d deliveries, %d rows, %s, %d quarantined rows open", card["provider"], card["name"],
                 card["deliveries"], card["rows_read"], rate, card["quarantine_open"])
    if not cards:
        log.info("No deliveries yet: nothing to score.")
    return cards


def quality_report(data_interval_end: datetime | None = None) -> str:
    """Rewrite the offline HTML quality report, stamped with the run's date (so a re-run is identical)."""
    from quality.report import write_report

    path = write_report(_settings(), _report_catalog(), now=data_interval_end)
    log.info("Quality report written to %s", path)
    return str(path)


def mirror_districts() -> list[dict[str, str]]:
    """One mapping entry per district of districts.yaml (read at run time, so a new district needs no deploy)."""
    return [{"district": code} for code in sorted(_report_catalog().districts)]


def build_district_mirror(district: str) -> dict[str, Any]:
    """Bring one district's mirror up to the current golden release (as `zhiwang mirror build --district`).

    Idempotent: a mirror already at the current release is left as it is.
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from warehouse.mirror import build_mirrors
    from warehouse.registry import current_release
    from zhiwang.errors import UserError

    settings = _settings()
    if current_release(settings) is None:
        raise AirflowSkipException("No golden release has been published yet: nothing to mirror.")
    try:
        result = build_mirrors(settings, _report_catalog(), None, [district])[district]
    except UserError as exc:
        raise AirflowFailException(str(exc)) from exc
    log.info("mirror %s: %s", district, result)
    return result


def plan_release() -> int:
    """The number of the release this run builds (resolution stamps its changes with it)."""
    from entity_resolution.pipeline import next_release

    return next_release(_settings())


def resolve_entity_task(entity: str, release: int) -> dict[str, Any]:
    """Resolve one entity type for ``release`` (person, legal entity and building run in parallel)."""
    from airflow.sdk.exceptions import AirflowFailException

    from entity_resolution.pipeline import resolve_entity_stage
    from zhiwang.errors import UserError

    try:
        info = resolve_entity_stage(_settings(), _report_catalog(), entity, int(release))
    except UserError as exc:
        raise AirflowFailException(str(exc)) from exc
    log.info("resolved %s for release %s: %s", entity, release, info)
    return info


def publish_task(release: int) -> dict[str, Any]:
    """Links, then publish the resolved entities as golden release ``release`` (updates the golden Asset)."""
    from airflow.sdk.exceptions import AirflowFailException

    from entity_resolution.pipeline import publish_stage
    from zhiwang.errors import UserError

    try:
        info = publish_stage(_settings(), _report_catalog(), int(release), note="airflow resolve_and_publish")
    except UserError as exc:
        raise AirflowFailException(str(exc)) from exc
    log.info("published release %s", info["release"])
    return info
