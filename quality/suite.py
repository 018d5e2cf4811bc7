"""The Great Expectations suite for a resource, built from its catalog entry, and its validation on a
pandas frame (never GE's SQL path: through duckdb-engine it returns wrong results in 1.24).

One ephemeral GE context per process; suites are cached per (resource entry, reference date): the date
bounds that say "not after the delivery" are resolved into the suite, so a suite is exact for its day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from catalog.models import Resource
from quality.checks import PlannedCheck, plan_checks
from quality.rowcheck import bound

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationSuite

_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}
_SUITES: dict[tuple[str, str], ExpectationSuite] = {}


@dataclass(frozen=True)
class SuiteRun:
    """What GE found: per planned check (index into ``plan``), the failing rows' positions in the frame."""

    plan: list[PlannedCheck]
    failures: dict[int, list[int]]
    evaluated: int
    """Number of expectations GE ran."""


def _context() -> Any:
    """The process's ephemeral GE context and a whole-frame batch definition on its pandas source."""
    with _LOCK:
        if "batch_definition" not in _STATE:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
            import great_expectations as gx
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )
            from great_expectations.execution_engine import pandas_execution_engine

            import quality.expectations  # noqa: F401 - registers our expectations with GE

            # GE fingerprints every pandas batch it loads (twice per validation: an MD5 over a full-frame
            # hash) unless the frame is over this many bytes. The fingerprint is only a batch marker, no
            # expectation reads it, and it cost a third of the gate's time (py-spy, 100k-person city).
            pandas_execution_engine.HASH_THRESHOLD = 0

            # no Data Docs site: GE's default ephemeral context leaves a temporary docs folder per process,
            # and its HTML needs CDNs anyway (our offline report is quality.report)
            config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False))
            context = gx.get_context(mode="ephemeral", project_config=config)
            context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
            asset = context.data_sources.add_pandas("zhiwang").add_dataframe_asset("delivery")
            _STATE["context"] = context
            _STATE["batch_definition"] = asset.add_batch_definition_whole_dataframe("whole delivery")
        return _STATE["context"], _STATE["batch_definition"]


def _expectation(resource: Resource, check: PlannedCheck, index: int, reference: dt.date) -> Any:
    import great_expectations as gx

    from quality.expectations import PAIR, SINGLE

    meta = {"plan_index": index, "check": check.check, "column": check.column, "severity": check.severity}
    ref = reference.isoformat()
    if check.check in PAIR:
        return PAIR[check.check](column_A=check.target, column_B=check.pair, meta=meta)
    if check.check in ("date_range", "date_plausible"):
        spec = resource.field_by_column(check.column)
        formats = spec.date_formats() if spec is not None and check.target.startswith("src_") else None
        return SINGLE[check.check](
            column=check.target, reference_date=ref, formats=formats, meta=meta,
            min_date=bound(check.params.get("min", "1900-01-01"), reference).isoformat(),
            max_date=bound(check.params.get("max", "2100-12-31"), reference).isoformat(),
        )
    if check.check == "cn_division_code":
        on = bound(check.params.get("on", "delivery"), reference).isoformat()
        return SINGLE[check.check](column=check.target, reference_date=ref, on=on, meta=meta,
                                   allow_retired=bool(check.params.get("allow_retired", False)))
    if check.check in SINGLE:
        extra = {k: v for k, v in check.params.items() if k in ("allow_15", "check_org_code")}
        return SINGLE[check.check](column=check.target, reference_date=ref, meta=meta, **extra)
    if check.check == "allowed_values":
        return gx.expectations.ExpectColumnValuesToBeInSet(column=check.target, value_set=check.params["values"], meta=meta)
    if check.check == "required":
        return gx.expectations.ExpectColumnValuesToNotBeNull(column=check.target, meta=meta)
    if check.check == "duplicate_record_key":
        return gx.expectations.ExpectColumnValuesToBeUnique(column=check.target, meta=meta)
    raise ValueError(f"no expectation for check {check.check!r}")


def suite_for(resource: Resource, reference: dt.date, columns: set[str] | None = None,
              skip: tuple[str, ...] = ()) -> tuple[ExpectationSuite, list[PlannedCheck]]:
    """The resource's suite for deliveries dated ``reference``; checks on absent columns, and checks named in
    ``skip`` (judged elsewhere, e.g. uniqueness over the whole delivery), are left out."""
    plan = [c for c in plan_checks(resource)
            if c.check not in skip and (columns is None or (c.target in columns and (c.pair is None or c.pair in columns)))]
    entry = resource.model_dump_json() + "|" + ",".join(sorted(columns or ())) + "|" + ",".join(skip)
    key = (hashlib.sha256(entry.encode()).hexdigest()[:16], reference.isoformat())
    context, _ = _context()
    with _LOCK:
        suite = _SUITES.get(key)
        if suite is None:
            import great_expectations as gx

            suite = gx.ExpectationSuite(name=f"{resource.id}.{key[0]}.{key[1]}")
            for i, check in enumerate(plan):
                suite.add_expectation(_expectation(resource, check, i, reference))
            suite = context.suites.add(suite)
            _SUITES[key] = suite
    return suite, plan


def validate_frame(suite: ExpectationSuite, plan: list[PlannedCheck], frame: pd.DataFrame) -> SuiteRun:
    """Run ``suite`` on ``frame`` (RangeIndex: GE's index labels are row positions)."""
    _, batch_definition = _context()
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False})
    failures: dict[int, list[int]] = {}
    for item in result.results:
        info = item.exception_info or {}
        if info.get("raised_exception"):
            # an expectation that crashed says nothing about the rows: stop rather than accept them unchecked
            raise RuntimeError(f"expectation {item.expectation_config.type} failed to run: {info.get('exception_message')}")
        if not item.success:
            index = int(item.expectation_config.meta["plan_index"])
            failures[index] = [int(i) for i in item.result.get("unexpected_index_list") or []]
    return SuiteRun(plan=plan, failures=failures, evaluated=len(result.results))
